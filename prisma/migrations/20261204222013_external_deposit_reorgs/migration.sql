-- AlterTable
ALTER TABLE "ExternalDeposit" ADD COLUMN     "reversedLedgerTxId" TEXT;

-- CreateIndex
CREATE INDEX "ExternalDeposit_family_network_slotOrLt_idx" ON "ExternalDeposit"("family", "network", "slotOrLt");
