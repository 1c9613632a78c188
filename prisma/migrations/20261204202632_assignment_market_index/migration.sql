-- CreateIndex
CREATE INDEX "Assignment_verdict_completedAt_idx" ON "Assignment"("verdict", "completedAt" DESC);
