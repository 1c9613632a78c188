-- DropIndex
DROP INDEX "ApiKey_accountId_idx";

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "createdBy" TEXT,
ADD COLUMN     "expiresAt" TIMESTAMP(3),
ADD COLUMN     "kind" TEXT NOT NULL DEFAULT 'account',
ADD COLUMN     "name" TEXT NOT NULL DEFAULT 'default',
ADD COLUMN     "scopes" TEXT[] DEFAULT ARRAY['admin']::TEXT[];

-- CreateIndex
CREATE INDEX "ApiKey_accountId_kind_createdAt_idx" ON "ApiKey"("accountId", "kind", "createdAt");
