/**
 * The result statement (handle-result.ts): for each result, one round trip locks its task row,
 * completes its execution if still live, takes its output's pin lock (storage/blob-pins.ts), reads
 * the task's executions the judge weighs with their providers locked (`c`), marks the task verifying
 * where it is still short of them (`w`, `m`), and reads the replica facts its judge will ask for
 * (`pt`, `f`). The general path runs it for one result; as a group-commit lead (db/group-commit.ts,
 * `resultLeads` below) it runs once for a batch's results expected to complete their tasks — under
 * `redundant` load the last replica of each task took a round trip of its own here, most of a
 * batch's.
 */
import type { SqlClient } from "../db/database";
import type { LeadKind } from "../db/group-commit";
import { Prisma } from "../db/generated/client";
import { blobLockKey, insertBlobRows } from "../blobs/pin-lock";
import { OPEN_TASK_STATUSES } from "../tasks/statuses";
import { linksOf } from "./candidates";
import type { ReplicaFactRow } from "./verdicts";

/** A result as the statement writes it. */
export interface ResultWrite {
  assignmentId: string;
  taskId: string;
  outputSha256: string;
  outputDigest: string;
  outputMeta: Record<string, { dtype: string; dims: number[] }>;
  timings: unknown;
  /** The output's bytes where the store keeps blobs of its size in the database (BlobStore.inlineWrite): the statement writes them. */
  inlineOutput?: Uint8Array;
}

/** The task's row as the statement locked it. */
export type TaskRow = {
  id: string;
  kind: string;
  requesterId: string;
  recheckOf: string | null;
  answerSha256: string | null;
  status: string;
  wanted: number;
  dispatched: number;
  attempts: number;
  verification: unknown;
  escrowHeld: bigint;
  inputSha256: string;
  createdAt: Date;
};

/** An execution the judge weighs, as `unjudgedRows` selects it: the price as text (exact), the time as epoch milliseconds (a number through `json_agg`). */
export interface CompletedJson {
  id: string;
  providerId: string;
  backend: string;
  price: string;
  outputSha256: string;
  outputMeta: unknown;
  outputDigest: string;
  accountId: string;
  completedAtMs: number | bigint;
}

/**
 * What the statement found for one result: its task (none: no such task), whether it completed the
 * execution (`done`: else the lease was lost), whether it marked the task verifying (`short`), the
 * executions to judge (`completed`) and the replica facts (`facts`, where it read them).
 */
export interface ResultRead {
  /** When the statement completed the execution. */
  completedAt: Date;
  task?: TaskRow & { done: number; short: number; completed: CompletedJson[] | string | null; facts: ReplicaFactRow[] | string | null };
}

/**
 * A task's completed executions not judged yet (and whatever else `also` admits), with their
 * providers' rows locked, for the tasks `tasks` selects. Verdicts lock Provider rows (then their
 * trust and account rows). Two tasks judged at once on PostgreSQL would lock overlapping providers in
 * their own completion orders and deadlock: the providers are locked in one order (by id), after the
 * task rows.
 */
export const unjudgedRows = (tasks: Prisma.Sql, also: Prisma.Sql) => Prisma.sql`
    SELECT x.id, x."taskId", x."providerId", x.backend, x.price::text AS price, x."outputSha256", x."outputMeta", x."outputDigest",
           floor(extract(epoch FROM x."completedAt") * 1000)::bigint AS "completedAtMs", p."accountId",
           p."netPrefix", p."validWeight", p."invalidWeight"
    FROM "Assignment" x JOIN "Provider" p ON p.id = x."providerId"
    WHERE x."taskId" IN (${tasks}) AND ${also}
    ORDER BY p.id
    FOR NO KEY UPDATE OF p`;

const lastOnly = { last: true };

/**
 * Results expected to be their task's last, as group-commit leads: one statement for a batch's.
 * Each is written only where the task has, with it, every execution it wants (as the statement's
 * snapshot saw them), and only the first of its task in the batch; any other is answered undefined,
 * having written nothing, and its unit goes the general way after the others. The judge then runs
 * for the result that did complete the task, whichever arrived last — a sibling written in the same
 * batch, after this statement, by its own lead (short-result.ts) would otherwise leave the judging
 * to a result that did not expect it.
 */
export const resultLeads: LeadKind<ResultWrite, ResultRead | undefined> = {
  one: async (tx, r) => (await readResults(tx, [r], lastOnly))[0],
  many: (tx, rs) => readResults(tx, rs, lastOnly),
};

/**
 * The result statement for several results (the first of each task; undefined for the others).
 *
 * - `t` locks the tasks (by id), after each output's pin lock; `a` completes each execution still
 *   live; `c` reads each task's unjudged executions — the one `a` completes included, its row as the
 *   snapshot had it — providers locked by id.
 * - `w`: what the statement saw of each task — every result of it that is in (`whole`), the task open
 *   and its execution completed (`open`), fewer executions than it wants (`short`), and so whether
 *   its replica facts are read (`readsFacts`). `m`: the task marked verifying (its row written,
 *   whatever its status was) when whole, open and short.
 * - The statement read the executions in its snapshot, taken before it waited for the tasks' locks:
 *   another transaction's result for a task, committed while it waited, is not in it. Every
 *   transaction that completes an execution of an open task writes the task's row (marked verifying
 *   here or in handle-result.ts `readUnjudged`, or judged), so the row `t` locked (its newest version)
 *   is the one the snapshot saw (same `ctid`) only when no such result committed meanwhile. Otherwise
 *   `m` writes nothing and the judge reads again (`readUnjudged`).
 * - `pt`, `f`: the replica facts the judge of a task with replicas asks for (verdicts.ts
 *   readReplicaFacts: each pair's trust, locked, each provider's evidence and identity, the
 *   requester's links), for every execution in `c` of a task whose statement saw all (`readsFacts`).
 */
export async function readResults(tx: SqlClient, results: readonly ResultWrite[], opts: { last?: boolean } = {}): Promise<Array<ResultRead | undefined>> {
  const seen = new Set<string>();
  const firsts = results.filter((r) => !seen.has(r.taskId) && seen.add(r.taskId));
  const inline = new Map(firsts.flatMap((r) => (r.inlineOutput ? [[r.outputSha256, r.inlineOutput] as const] : [])));
  const col = <T>(f: (r: ResultWrite) => T) => firsts.map(f);
  const now = new Date();
  const rows = await tx.$queryRaw<Array<NonNullable<ResultRead["task"]> & { n: number | bigint }>>`
    WITH u AS (
      SELECT * FROM unnest(${col((r) => r.taskId)}::text[], ${col((r) => r.assignmentId)}::text[], ${col((r) => r.outputSha256)}::text[],
                           ${col((r) => r.outputDigest)}::text[], ${col((r) => JSON.stringify(r.outputMeta))}::jsonb[], ${col((r) => JSON.stringify(r.timings))}::jsonb[],
                           ${col((r) => blobLockKey(r.outputSha256).toString())}::bigint[])
        WITH ORDINALITY AS u(task, assignment, "outSha", "outDigest", "outMeta", timings, pin, n)
    ),
    ${inline.size > 0 ? Prisma.sql`blob AS (${insertBlobRows(inline)}),` : Prisma.empty}
    t AS (
      SELECT t.ctid::text AS "rowVersion", t.*
      FROM "Task" t, (SELECT count(pg_advisory_xact_lock_shared(pin)) FROM u) AS pins WHERE t.id IN (SELECT task FROM u)
      ORDER BY t.id FOR UPDATE OF t
    ),
    a AS (
      UPDATE "Assignment" x
      SET status = 'completed', "outputSha256" = u."outSha", "outputDigest" = u."outDigest", "outputMeta" = u."outMeta", timings = u.timings, "completedAt" = ${now}
      FROM u
      WHERE x.id = u.assignment AND x."taskId" = u.task AND x.status IN ('assigned', 'running') AND u.task IN (SELECT id FROM t)
        ${opts.last ? Prisma.sql`AND (SELECT count(*) FROM "Assignment" y WHERE y."taskId" = u.task AND y.status = 'completed' AND y.verdict IS NULL) + 1 >= (SELECT t.wanted FROM t WHERE t.id = u.task)` : Prisma.empty}
      RETURNING x.id, x."taskId"
    ),
    c AS (${unjudgedRows(Prisma.sql`SELECT "taskId" FROM a`, Prisma.sql`(x.id IN (SELECT id FROM a) OR (x.status = 'completed' AND x.verdict IS NULL))`)}),
    w AS (
      SELECT *, whole AND open AND NOT short AND wanted >= 2 AND kind = 'user' AS "readsFacts"
      FROM (
        SELECT t.id, t."rowVersion" = (SELECT s.ctid::text FROM "Task" s WHERE s.id = t.id) AS whole,
               t.status IN (${Prisma.join([...OPEN_TASK_STATUSES])}) AND EXISTS (SELECT 1 FROM a WHERE a."taskId" = t.id) AS open,
               (SELECT count(*) FROM c WHERE c."taskId" = t.id) < t.wanted AS short, t.wanted, t.kind
        FROM t
      ) s
    ),
    m AS (
      UPDATE "Task" SET status = 'verifying', "updatedAt" = ${now}
      FROM w
      WHERE "Task".id = w.id AND w.whole AND w.open AND w.short
      RETURNING "Task".id
    ),
    pt AS MATERIALIZED (
      SELECT x."providerId", x.backend, x.streak, x.solo, x.checked, x.invalid
      FROM "ProviderTrust" x
      WHERE EXISTS (SELECT 1 FROM c JOIN w ON w.id = c."taskId" WHERE w."readsFacts" AND c."providerId" = x."providerId" AND c.backend = x.backend)
      ORDER BY x."providerId", x.backend FOR UPDATE OF x
    ),
    f AS (
      SELECT DISTINCT ON (c."taskId", c."providerId", c.backend) c."taskId", c."providerId" AS id, c.backend, c."accountId", ${linksOf(Prisma.sql`c."accountId"`)} AS links,
             c."netPrefix", c."validWeight", c."invalidWeight", ${linksOf(Prisma.sql`t."requesterId"`)} AS "requesterLinks",
             pt.streak, pt.solo, pt.checked, pt.invalid
      FROM c JOIN t ON t.id = c."taskId" JOIN w ON w.id = c."taskId" LEFT JOIN pt ON pt."providerId" = c."providerId" AND pt.backend = c.backend
      WHERE w."readsFacts"
    )
    SELECT u.n, t.*, (SELECT count(*) FROM a WHERE a."taskId" = t.id)::int AS done, (SELECT count(*) FROM m WHERE m.id = t.id)::int AS short,
           (SELECT json_agg(c) FROM c WHERE c."taskId" = t.id) AS completed, (SELECT json_agg(f) FROM f WHERE f."taskId" = t.id) AS facts
    FROM u JOIN t ON t.id = u.task`;
  const byN = new Map(rows.map(({ n, ...task }) => [Number(n), task]));
  const read = new Map(firsts.map((r, i) => [r, byN.get(i + 1)]));
  return results.map((r) => {
    if (!read.has(r)) return undefined;
    const task = read.get(r);
    // As a last result's lead, one not written is the general way's.
    if (opts.last && !(task && Number(task.done) > 0)) return undefined;
    return task ? { completedAt: now, task } : { completedAt: now };
  });
}
