/**
 * The dispatcher's two reads of the queue: the probe (does any task want an execution?) and a
 * claim's page. Both filter by WANTS_EXECUTION, written exactly as the predicate of the partial
 * index `Task_wants_execution_idx` (priority DESC, "createdAt", id), so their plans can read that
 * index — the tasks waiting for executions and nothing else — in the claim's order, however many
 * tasks have finished. It replaced two full indexes of Task that never served these reads.
 */
import { Prisma } from "../db/generated/client";
import type { SqlClient } from "../db/database";
import type { SubmittedTask } from "../context";
import { OPEN_STATUS_IN } from "../tasks/statuses";

/** A task that wants an execution: what a claim takes, and what a probe of the queue looks for. */
export const WANTS_EXECUTION = Prisma.sql`t.dispatched < t.wanted AND t.status ${OPEN_STATUS_IN}`;

/** Whether any task wants an execution: no locks, so rows other transactions hold count too. */
export async function anyWantsExecution(sql: SqlClient): Promise<boolean> {
  const [row] = await sql.$queryRaw<Array<{ any: boolean }>>`
    SELECT EXISTS (SELECT 1 FROM "Task" t WHERE ${WANTS_EXECUTION}) AS any`;
  return row?.any === true;
}

/** A claimed task: what a submit knows of it (SubmittedTask), and where it stands. */
export interface ClaimRow extends SubmittedTask {
  status: string;
  dispatched: number;
  attempts: number;
}

/**
 * Up to `limit` tasks that want executions and are not in `seen`, highest priority then oldest
 * first, locked (SKIP LOCKED: another instance's claim keeps its rows). `set_config(…, true)`: the
 * rest of this transaction's statements (the candidates' facts, the assignments) use their prepared
 * statements' generic plans. They look rows up by id, where a generic plan is as good; PostgreSQL's
 * default kept planning the facts query anew on every claim (0.6 ms of planning to 0.2 of
 * execution, `pg_stat_statements`), on the path of every task. Local to the transaction.
 */
export function claimQueuePage(tx: SqlClient, seen: string[], limit: number): Promise<ClaimRow[]> {
  return tx.$queryRaw<ClaimRow[]>`
    SELECT t.id, t.kind, t."requesterId", t.status, t.requirements, t.verification, t."maxPrice", t."escrowHeld", t.wanted, t.dispatched, t.attempts,
           t."inputSha256", t."modelId", m.sha256 AS "modelSha256", m."sizeBytes" AS "modelSize", m.calibration,
           set_config('plan_cache_mode', 'force_generic_plan', true) AS "planCacheMode"
    FROM "Task" t JOIN "Model" m ON m.id = t."modelId"
    WHERE ${WANTS_EXECUTION}
      AND NOT (t.id = ANY(${seen}::text[]))
    ORDER BY t.priority DESC, t."createdAt" ASC, t.id ASC
    LIMIT ${limit}
    FOR UPDATE OF t SKIP LOCKED`;
}
