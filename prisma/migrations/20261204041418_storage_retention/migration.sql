-- AlterTable
ALTER TABLE "Account" ADD COLUMN     "storageBytes" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Task" ADD COLUMN     "dataPurgedAt" TIMESTAMP(3),
ADD COLUMN     "inputBytes" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "SweepLease" (
    "name" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "leaseUntil" TIMESTAMP(3) NOT NULL,
    "lastRunAt" TIMESTAMP(3),

    CONSTRAINT "SweepLease_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "Assignment_outputSha256_idx" ON "Assignment"("outputSha256");

-- CreateIndex
CREATE INDEX "Task_dataPurgedAt_completedAt_idx" ON "Task"("dataPurgedAt", "completedAt");

-- CreateIndex
CREATE INDEX "Task_inputSha256_idx" ON "Task"("inputSha256");

-- CreateIndex
CREATE INDEX "Task_outputSha256_idx" ON "Task"("outputSha256");

-- CreateIndex
CREATE INDEX "Task_answerSha256_idx" ON "Task"("answerSha256");

-- Backfill (data only, added by hand after the generated DDL): accounts are charged for the models
-- they already own. Tasks stored before this migration have inputBytes 0 (their inputs were never
-- measured), so they are neither charged nor refunded when retention purges them.
UPDATE "Account" a SET "storageBytes" = COALESCE((SELECT SUM(m."sizeBytes") FROM "Model" m WHERE m."ownerId" = a.id), 0);
