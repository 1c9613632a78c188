-- CreateIndex
CREATE INDEX "Task_modelId_completedAt_idx" ON "Task"("modelId", "completedAt" DESC);

-- CreateIndex
CREATE INDEX "Task_kind_dataPurgedAt_completedAt_idx" ON "Task"("kind", "dataPurgedAt", "completedAt");
