-- The queue: tasks that want an execution, in the claim's order (scheduler/queue.ts). The probe
-- (EXISTS) and the claim's page filter by exactly this predicate, so their plans can read only this
-- index, whatever share of the table has finished; a task leaves it when its last wanted execution
-- is handed out (dispatched = wanted) or it ends, so it stays the size of the queue.
CREATE INDEX "Task_wants_execution_idx" ON "Task" ("priority" DESC, "createdAt", "id")
  WHERE "dispatched" < "wanted" AND "status" IN ('queued', 'assigned', 'running', 'verifying');

-- Replaced by the index above: the claim was their only reader, and neither served it (a comparison
-- of two columns is no index condition; the status one held every task of every status). Two fewer
-- index entries for each row version of every task.
DROP INDEX "Task_dispatched_wanted_idx";
DROP INDEX "Task_status_priority_createdAt_idx";
