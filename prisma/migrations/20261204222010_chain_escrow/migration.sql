-- CreateTable
CREATE TABLE "ChainEscrow" (
    "taskId" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "escrowId" TEXT NOT NULL,
    "requesterId" TEXT NOT NULL,
    "requester" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "amount" BIGINT NOT NULL,
    "held" BIGINT NOT NULL,
    "deadline" TIMESTAMP(3) NOT NULL,
    "status" TEXT NOT NULL,
    "entry" JSONB,
    "txHash" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "mirrorTxId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ChainEscrow_pkey" PRIMARY KEY ("taskId")
);

-- CreateIndex
CREATE INDEX "ChainEscrow_status_idx" ON "ChainEscrow"("status");

-- CreateIndex
CREATE INDEX "ChainEscrow_requesterId_idx" ON "ChainEscrow"("requesterId");

-- CreateIndex
CREATE UNIQUE INDEX "ChainEscrow_chainId_escrowId_key" ON "ChainEscrow"("chainId", "escrowId");
