-- AlterTable
ALTER TABLE "Assignment" ADD COLUMN     "recheckedAt" TIMESTAMP(3),
ADD COLUMN     "solo" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "calibration" JSONB;

-- AlterTable
ALTER TABLE "Provider" ADD COLUMN     "invalidWeight" DOUBLE PRECISION NOT NULL DEFAULT 0,
ADD COLUMN     "slashed" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "validWeight" DOUBLE PRECISION NOT NULL DEFAULT 0,
ALTER COLUMN "reputation" SET DEFAULT 0;

-- AlterTable
ALTER TABLE "Task" ADD COLUMN     "answerSha256" TEXT,
ADD COLUMN     "correction" JSONB,
ADD COLUMN     "kind" TEXT NOT NULL DEFAULT 'user',
ADD COLUMN     "recheckOf" TEXT;

-- CreateTable
CREATE TABLE "ProviderTrust" (
    "providerId" TEXT NOT NULL,
    "backend" TEXT NOT NULL,
    "streak" INTEGER NOT NULL DEFAULT 0,
    "solo" INTEGER NOT NULL DEFAULT 0,
    "checked" INTEGER NOT NULL DEFAULT 0,
    "invalid" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ProviderTrust_pkey" PRIMARY KEY ("providerId","backend")
);

-- CreateIndex
CREATE INDEX "Assignment_providerId_backend_solo_completedAt_idx" ON "Assignment"("providerId", "backend", "solo", "completedAt");

-- CreateIndex
CREATE INDEX "Task_recheckOf_idx" ON "Task"("recheckOf");

-- AddForeignKey
ALTER TABLE "ProviderTrust" ADD CONSTRAINT "ProviderTrust_providerId_fkey" FOREIGN KEY ("providerId") REFERENCES "Provider"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
