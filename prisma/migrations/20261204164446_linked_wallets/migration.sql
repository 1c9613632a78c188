-- CreateTable
CREATE TABLE "LinkedWallet" (
    "family" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "network" TEXT NOT NULL,
    "linkedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LinkedWallet_pkey" PRIMARY KEY ("family","address")
);

-- CreateIndex
CREATE UNIQUE INDEX "LinkedWallet_accountId_family_key" ON "LinkedWallet"("accountId", "family");

-- AddForeignKey
ALTER TABLE "LinkedWallet" ADD CONSTRAINT "LinkedWallet_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill (data only, added by hand after the generated DDL): every EVM wallet already linked by
-- Sign-In with Ethereum gets its LinkedWallet row. The chain it was proven on was not recorded, so
-- its network is the bare namespace `eip155`.
INSERT INTO "LinkedWallet" ("family", "address", "accountId", "network")
SELECT 'evm', a."walletAddress", a."id", 'eip155' FROM "Account" a WHERE a."walletAddress" IS NOT NULL;
