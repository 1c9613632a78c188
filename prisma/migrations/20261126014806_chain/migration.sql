-- AlterTable
ALTER TABLE "Account" ADD COLUMN     "walletAddress" TEXT;

-- CreateTable
CREATE TABLE "ChainCursor" (
    "id" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "blockNumber" BIGINT NOT NULL,
    "blockHash" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ChainCursor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChainDeposit" (
    "id" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "txHash" TEXT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "blockNumber" BIGINT NOT NULL,
    "blockHash" TEXT NOT NULL,
    "accountRef" TEXT NOT NULL,
    "accountId" TEXT,
    "fromAddress" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "amount" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "ledgerTxId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChainDeposit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChainSettlement" (
    "taskId" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "requesterId" TEXT NOT NULL,
    "entry" JSONB NOT NULL,
    "amount" BIGINT NOT NULL,
    "status" TEXT NOT NULL,
    "batchId" TEXT,
    "txHash" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "mirrorTxId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "submittedAt" TIMESTAMP(3),
    "confirmedAt" TIMESTAMP(3),

    CONSTRAINT "ChainSettlement_pkey" PRIMARY KEY ("taskId")
);

-- CreateTable
CREATE TABLE "ChainWithdrawal" (
    "id" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "accountId" TEXT NOT NULL,
    "toAddress" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "amount" BIGINT NOT NULL,
    "status" TEXT NOT NULL,
    "txHash" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "ledgerTxId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "confirmedAt" TIMESTAMP(3),

    CONSTRAINT "ChainWithdrawal_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ChainDeposit_accountId_idx" ON "ChainDeposit"("accountId");

-- CreateIndex
CREATE INDEX "ChainDeposit_status_idx" ON "ChainDeposit"("status");

-- CreateIndex
CREATE UNIQUE INDEX "ChainDeposit_chainId_txHash_logIndex_key" ON "ChainDeposit"("chainId", "txHash", "logIndex");

-- CreateIndex
CREATE INDEX "ChainSettlement_status_createdAt_idx" ON "ChainSettlement"("status", "createdAt");

-- CreateIndex
CREATE INDEX "ChainSettlement_requesterId_idx" ON "ChainSettlement"("requesterId");

-- CreateIndex
CREATE INDEX "ChainSettlement_batchId_idx" ON "ChainSettlement"("batchId");

-- CreateIndex
CREATE INDEX "ChainWithdrawal_accountId_createdAt_idx" ON "ChainWithdrawal"("accountId", "createdAt");

-- CreateIndex
CREATE INDEX "ChainWithdrawal_status_createdAt_idx" ON "ChainWithdrawal"("status", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Account_walletAddress_key" ON "Account"("walletAddress");
