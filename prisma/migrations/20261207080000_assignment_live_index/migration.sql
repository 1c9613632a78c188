-- A provider's live executions (assigned or running): the stake they hold at risk (every dispatcher
-- claim reads it for its candidates, services/stake.ts too), the heartbeat's lease renewal and a
-- crashed instance's recovery. The queries write the statuses into their text (tasks/statuses.ts
-- LIVE_STATUS_IN) so a generic plan proves this predicate. Before it, the lookup went through
-- ("providerId", status) with only "providerId" as its condition — generic plans filter a parameter
-- array — and read every execution the provider ever ran: at 100,000 finished executions over 8
-- providers, 11 ms per candidate per claim and half the throughput (bench/throughput.ts --history).
CREATE INDEX "Assignment_live_providerId_idx" ON "Assignment" ("providerId") WHERE status IN ('assigned', 'running');
