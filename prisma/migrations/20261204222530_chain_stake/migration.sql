-- CreateTable
CREATE TABLE "ChainStaker" (
    "chainId" INTEGER NOT NULL,
    "wallet" TEXT NOT NULL,
    "accountId" TEXT,
    "active" BIGINT NOT NULL DEFAULT 0,
    "unbonding" BIGINT NOT NULL DEFAULT 0,
    "overdrawn" BIGINT NOT NULL DEFAULT 0,
    "slashed" BIGINT NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ChainStaker_pkey" PRIMARY KEY ("chainId","wallet")
);

-- CreateTable
CREATE TABLE "ChainStakeEvent" (
    "id" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "txHash" TEXT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "blockNumber" BIGINT NOT NULL,
    "wallet" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "amount" TEXT NOT NULL,
    "accountId" TEXT,
    "status" TEXT NOT NULL,
    "counted" BIGINT NOT NULL DEFAULT 0,
    "reason" TEXT,
    "ledgerTxId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChainStakeEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChainSlash" (
    "id" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "nonce" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "wallet" TEXT NOT NULL,
    "taskId" TEXT,
    "amount" BIGINT NOT NULL,
    "beneficiary" TEXT NOT NULL,
    "beneficiaryAccountId" TEXT,
    "beneficiaryAmount" BIGINT NOT NULL,
    "slashed" BIGINT,
    "blockNumber" BIGINT,
    "status" TEXT NOT NULL,
    "txHash" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "mirrorTxId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "submittedAt" TIMESTAMP(3),
    "confirmedAt" TIMESTAMP(3),

    CONSTRAINT "ChainSlash_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ChainStaker_accountId_idx" ON "ChainStaker"("accountId");

-- CreateIndex
CREATE INDEX "ChainStakeEvent_wallet_idx" ON "ChainStakeEvent"("wallet");

-- CreateIndex
CREATE UNIQUE INDEX "ChainStakeEvent_chainId_txHash_logIndex_key" ON "ChainStakeEvent"("chainId", "txHash", "logIndex");

-- CreateIndex
CREATE UNIQUE INDEX "ChainSlash_nonce_key" ON "ChainSlash"("nonce");

-- CreateIndex
CREATE INDEX "ChainSlash_status_createdAt_idx" ON "ChainSlash"("status", "createdAt");

-- CreateIndex
CREATE INDEX "ChainSlash_accountId_idx" ON "ChainSlash"("accountId");
