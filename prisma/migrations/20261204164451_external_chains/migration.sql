-- CreateTable
CREATE TABLE "ExternalDeposit" (
    "id" TEXT NOT NULL,
    "family" TEXT NOT NULL,
    "network" TEXT NOT NULL,
    "txId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "accountTag" TEXT,
    "accountId" TEXT,
    "fromAddress" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "amount" TEXT NOT NULL,
    "slotOrLt" BIGINT NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "ledgerTxId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExternalDeposit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExternalCursor" (
    "id" TEXT NOT NULL,
    "cursor" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ExternalCursor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExternalPayout" (
    "id" TEXT NOT NULL,
    "family" TEXT NOT NULL,
    "network" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "toAddress" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "amount" BIGINT NOT NULL,
    "status" TEXT NOT NULL,
    "txId" TEXT,
    "lifetime" TEXT,
    "wire" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "ledgerTxId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "sentAt" TIMESTAMP(3),
    "confirmedAt" TIMESTAMP(3),

    CONSTRAINT "ExternalPayout_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ExternalDeposit_accountId_idx" ON "ExternalDeposit"("accountId");

-- CreateIndex
CREATE INDEX "ExternalDeposit_status_idx" ON "ExternalDeposit"("status");

-- CreateIndex
CREATE UNIQUE INDEX "ExternalDeposit_family_network_txId_index_key" ON "ExternalDeposit"("family", "network", "txId", "index");

-- CreateIndex
CREATE INDEX "ExternalPayout_family_network_status_createdAt_idx" ON "ExternalPayout"("family", "network", "status", "createdAt");

-- CreateIndex
CREATE INDEX "ExternalPayout_txId_idx" ON "ExternalPayout"("txId");

-- CreateIndex
CREATE INDEX "ExternalPayout_accountId_createdAt_idx" ON "ExternalPayout"("accountId", "createdAt");
