import { Prisma } from "../db/generated/client";

/** Assignment statuses in which a provider still holds the work. */
export const LIVE_STATUSES = ["assigned", "running"] as const;
/**
 * `IN ('assigned', 'running')`, written into the statement: a prepared statement's generic plan can
 * then use the partial index of live executions (`Assignment_live_providerId_idx`, whose predicate
 * this is), where a parameter array (`= ANY($1)`) proves nothing and the scan reads every execution
 * a provider ever ran.
 */
export const LIVE_STATUS_IN = inList(LIVE_STATUSES);
/** Task statuses from which the task can still move. */
export const OPEN_TASK_STATUSES = ["queued", "assigned", "running", "verifying"] as const;
/** `IN ('queued', …)`, written into the statement as LIVE_STATUS_IN is (the queue index's predicate: scheduler/queue.ts). */
export const OPEN_STATUS_IN = inList(OPEN_TASK_STATUSES);

/** `IN ('a', 'b')`: constant statuses as literals in the statement text, where a partial index's predicate must be provable. */
function inList(statuses: readonly string[]): Prisma.Sql {
  return Prisma.raw(`IN (${statuses.map((s) => `'${s}'`).join(", ")})`);
}

export const isLive = (status: string): boolean => (LIVE_STATUSES as readonly string[]).includes(status);
export const isOpen = (status: string): boolean => (OPEN_TASK_STATUSES as readonly string[]).includes(status);
