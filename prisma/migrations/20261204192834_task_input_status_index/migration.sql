-- DropIndex
DROP INDEX "Task_inputSha256_idx";

-- CreateIndex
CREATE INDEX "Task_inputSha256_status_idx" ON "Task"("inputSha256", "status");
