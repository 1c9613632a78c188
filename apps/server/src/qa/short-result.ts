/**
 * A result its task is short after: a replica whose siblings are still out, or still to be placed
 * (result-plan.ts `short`, from the replicas this instance placed together). Its judge would not
 * run; the general result statement (handle-result.ts) completes the execution and marks the task
 * verifying. As a group-commit lead (db/group-commit.ts), a batch's such results are written by one
 * statement, where each took one of its own.
 *
 * The plan is a hint: the statement checks, under the task's lock, what the general statement's
 * `shortOf` checks — the task open, the execution live, fewer executions completed and unjudged
 * than the task wants even with this one, and no other result of the task committed while it
 * waited for the lock (the row it locked is the version its snapshot saw). Where any fails, the
 * result is not written, and its unit goes the general way, which decides as it always did. Of a
 * batch's results of one task only the first is written here: the statement's one snapshot would
 * not see the others' completions.
 */
import type { SqlClient } from "../db/database";
import type { LeadKind } from "../db/group-commit";
import { Prisma } from "../db/generated/client";
import { jsonRows } from "../db/json-rows";
import { blobLockKey, insertBlobRows } from "../blobs/pin-lock";
import { LIVE_STATUS_IN, OPEN_TASK_STATUSES } from "../tasks/statuses";

export interface ShortResult {
  assignmentId: string;
  taskId: string;
  outputSha256: string;
  outputDigest: string;
  outputMeta: Record<string, { dtype: string; dims: number[] }>;
  timings: unknown;
  /** The output's bytes where the store keeps blobs of its size in the database (settle-alone.ts AloneResult.inlineOutput). */
  inlineOutput?: Uint8Array;
}

/** What the statement wrote: the execution completed, and its task verifying (`wasVerifying`: it was already). */
export interface ShortWritten {
  wasVerifying: boolean;
}

/** Results their tasks are short after, as group-commit leads: one statement for a batch's. */
const writeShortResult = async (tx: SqlClient, r: ShortResult) => (await writeShortResults(tx, [r]))[0];
export const shortLeads: LeadKind<ShortResult, ShortWritten | undefined> = {
  one: writeShortResult,
  many: writeShortResults,
  // One statement, no money, and where a check fails it writes nothing but the blob: all or nothing by itself.
  autocommit: writeShortResult,
};

/** Writes each result whose task is short after it (see above); undefined for one it did not write. */
export async function writeShortResults(tx: SqlClient, results: readonly ShortResult[]): Promise<Array<ShortWritten | undefined>> {
  const seen = new Set<string>();
  const firsts = results.filter((r) => !seen.has(r.taskId) && seen.add(r.taskId));
  const inline = new Map(firsts.flatMap((r) => (r.inlineOutput ? [[r.outputSha256, r.inlineOutput] as const] : [])));
  const col = <T>(f: (r: ShortResult) => T) => firsts.map(f);
  const now = new Date();
  const [row] = await tx.$queryRaw<Array<{ written: string | Array<{ n: number; status: string }> | null }>>`
    WITH u AS (
      SELECT * FROM unnest(${col((r) => r.taskId)}::text[], ${col((r) => r.assignmentId)}::text[], ${col((r) => r.outputSha256)}::text[],
                           ${col((r) => r.outputDigest)}::text[], ${col((r) => JSON.stringify(r.outputMeta))}::jsonb[], ${col((r) => JSON.stringify(r.timings))}::jsonb[],
                           ${col((r) => blobLockKey(r.outputSha256).toString())}::bigint[])
        WITH ORDINALITY AS u(task, assignment, "outSha", "outDigest", "outMeta", timings, pin, n)
    ),
    short_blob AS (${insertBlobRows(inline)}),
    short_task AS (
      SELECT t.id, t.status, t.wanted, t.ctid::text AS "rowVersion"
      FROM "Task" t, (SELECT count(pg_advisory_xact_lock_shared(pin)) FROM u) AS pins WHERE t.id IN (SELECT task FROM u)
      ORDER BY t.id FOR UPDATE OF t
    ),
    short_ok AS (
      SELECT u.n, t.status FROM u JOIN short_task t ON t.id = u.task
      WHERE t.status IN (${Prisma.join([...OPEN_TASK_STATUSES])})
        AND t."rowVersion" = (SELECT s.ctid::text FROM "Task" s WHERE s.id = t.id)
        AND EXISTS (SELECT 1 FROM "Assignment" a WHERE a.id = u.assignment AND a."taskId" = u.task AND a.status ${LIVE_STATUS_IN})
        AND (SELECT count(*) FROM "Assignment" x WHERE x."taskId" = u.task AND x.status = 'completed' AND x.verdict IS NULL) + 1 < t.wanted
    ),
    short_done AS (
      UPDATE "Assignment" a
      SET status = 'completed', "outputSha256" = u."outSha", "outputDigest" = u."outDigest", "outputMeta" = u."outMeta", timings = u.timings, "completedAt" = ${now}
      FROM u WHERE a.id = u.assignment AND a.status ${LIVE_STATUS_IN} AND u.n IN (SELECT n FROM short_ok)
      RETURNING u.n, u.task
    ),
    short_marked AS (
      UPDATE "Task" t SET status = 'verifying', "updatedAt" = ${now} FROM short_done d WHERE t.id = d.task
    )
    SELECT (SELECT json_agg(json_build_object('n', o.n, 'status', o.status)) FROM short_ok o WHERE o.n IN (SELECT n FROM short_done)) AS written`;
  const written = new Map(jsonRows(row?.written).map((w) => [firsts[Number(w.n) - 1], { wasVerifying: w.status === "verifying" }]));
  return results.map((r) => written.get(r));
}
