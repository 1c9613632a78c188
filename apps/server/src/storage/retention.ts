/**
 * Retention of finished tasks' data (TASK_BLOB_RETENTION_HOURS). A task that finished (completed,
 * failed, expired) longer ago than the retention is *purged*: `dataPurgedAt` is set, its input
 * stops counting against the requester's quota, and its input, output and answer blobs (and its
 * executions' outputs) no longer keep those files alive — the collector deletes each one no other
 * live row references (blob-gc.ts). The row, its digests and its receipt stay; its outputs answer
 * 410 TASK_DATA_EXPIRED. A requester may purge its own finished task at once (DELETE …/data).
 *
 * Finished canaries are purged at the first sweep, whatever the retention (purgeExpiredTaskData).
 *
 * QA: a task with an open re-check is not purged until the re-check ends (the re-check compares
 * against the original execution's output and may correct the task). Solo results older than the
 * retention can no longer be re-checked: re-checks only pick tasks whose data is still there
 * (qa/rechecks.ts).
 */
import { StunError } from "@stun/shared";
import type { AppContext } from "../context";
import type { SqlClient } from "../db/database";
import { OPEN_TASK_STATUSES } from "../tasks/statuses";
import { deleteUnreferenced } from "./blob-gc";

const FINISHED_STATUSES = ["completed", "failed", "expired"] as const;
const PAGE = 500;

type PurgedRow = { id: string; requesterId: string; inputBytes: number };

/**
 * Purges the given tasks (already row-locked by the caller's transaction) unless purged already or
 * re-checked right now; gives each requester back its tasks' input bytes. Returns the purged rows.
 */
async function purgeLockedTasks(tx: SqlClient, ids: string[], now: Date): Promise<PurgedRow[]> {
  // A statement of its own after the lock: its snapshot sees every re-check committed before it.
  const purged = await tx.$queryRaw<PurgedRow[]>`
    UPDATE "Task" t SET "dataPurgedAt" = ${now}
    WHERE t.id = ANY(${ids}::text[]) AND t."dataPurgedAt" IS NULL
      AND NOT EXISTS (SELECT 1 FROM "Task" r WHERE r."recheckOf" = t.id AND r.status = ANY(${[...OPEN_TASK_STATUSES]}::text[]))
    RETURNING t.id, t."requesterId", t."inputBytes"`;
  const freed = new Map<string, bigint>();
  for (const r of purged) freed.set(r.requesterId, (freed.get(r.requesterId) ?? 0n) + BigInt(r.inputBytes));
  // In id order, so two instances purging at once never wait on each other in a cycle.
  for (const [accountId, bytes] of [...freed].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (bytes > 0n) await tx.$executeRaw`UPDATE "Account" SET "storageBytes" = GREATEST("storageBytes" - ${bytes}, 0) WHERE id = ${accountId}`;
  }
  return purged;
}

/** Every blob a task's rows point at (input, output, canary answer, executions' outputs). */
async function blobsOfTasks(app: AppContext, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await app.db.prisma.$queryRaw<Array<{ sha: string }>>`
    SELECT DISTINCT sha FROM (
      SELECT unnest(ARRAY[t."inputSha256", t."outputSha256", t."answerSha256"]) AS sha FROM "Task" t WHERE t.id = ANY(${ids}::text[])
      UNION ALL
      SELECT a."outputSha256" FROM "Assignment" a WHERE a."taskId" = ANY(${ids}::text[])
    ) s WHERE sha IS NOT NULL`;
  return rows.map((r) => r.sha);
}

/**
 * Purges every task that finished before now − retention, and every finished canary whatever its
 * age, a page at a time (rows another instance is purging are skipped), then deletes the blobs
 * nothing else references. Returns how many tasks.
 *
 * Canaries go at the first sweep after they finish: their verdict is recorded, and their input is a
 * copy of a requester's task's (qa/canaries.ts) that keeps those bytes on disk while the canary's
 * data is held — so after a requester deletes a task's data (or retention does), a canary replaying
 * it keeps it at most until the canary ends, not a retention period longer.
 */
export async function purgeExpiredTaskData(app: AppContext, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - app.config.TASK_BLOB_RETENTION_HOURS * 3_600_000);
  const finished = [...FINISHED_STATUSES];
  const expired = await purgePages(
    app,
    now,
    (tx) => tx.$queryRaw`
      SELECT id FROM "Task"
      WHERE "dataPurgedAt" IS NULL AND "completedAt" < ${cutoff} AND status = ANY(${finished}::text[])
      ORDER BY "completedAt" LIMIT ${PAGE}
      FOR UPDATE SKIP LOCKED`,
  );
  const canaries = await purgePages(
    app,
    now,
    (tx) => tx.$queryRaw`
      SELECT id FROM "Task"
      WHERE kind = 'canary' AND "dataPurgedAt" IS NULL AND "completedAt" IS NOT NULL AND status = ANY(${finished}::text[])
      ORDER BY "completedAt" LIMIT ${PAGE}
      FOR UPDATE SKIP LOCKED`,
  );
  return expired + canaries;
}

/** Purges the tasks `due` locks (at most PAGE per transaction) until it finds no more, then their unreferenced blobs. */
async function purgePages(app: AppContext, now: Date, due: (tx: SqlClient) => Promise<Array<{ id: string }>>): Promise<number> {
  let total = 0;
  for (;;) {
    const { locked, purged } = await app.db.prisma.$transaction(async (tx) => {
      const rows = await due(tx);
      return {
        locked: rows.length,
        purged: rows.length
          ? await purgeLockedTasks(
              tx,
              rows.map((d) => d.id),
              now,
            )
          : [],
      };
    });
    total += purged.length;
    await deleteUnreferenced(
      app,
      await blobsOfTasks(
        app,
        purged.map((p) => p.id),
      ),
    );
    // A full page may hide more; a page of tasks all held back by open re-checks ends the pass.
    if (locked < PAGE || purged.length === 0) return total;
  }
}

/**
 * The requester deletes a finished task's inputs and outputs now (DELETE /tasks/:id/data): same as
 * retention, at once. 409 CONFLICT while the task is still open or a QA re-check of it runs.
 */
export async function purgeTaskData(app: AppContext, requesterId: string, taskId: string): Promise<void> {
  const purged = await app.db.prisma.$transaction(async (tx) => {
    const [task] = await tx.$queryRaw<Array<{ requesterId: string; status: string; dataPurgedAt: Date | null }>>`
      SELECT "requesterId", status, "dataPurgedAt" FROM "Task" WHERE id = ${taskId} FOR UPDATE`;
    if (!task || task.requesterId !== requesterId) throw new StunError("TASK_NOT_FOUND", `no task ${taskId}`);
    if (task.dataPurgedAt) return false;
    if (!(FINISHED_STATUSES as readonly string[]).includes(task.status)) {
      throw new StunError("CONFLICT", `task ${taskId} is still ${task.status}: its data can be deleted once it has finished`);
    }
    if ((await purgeLockedTasks(tx, [taskId], new Date())).length === 0) {
      throw new StunError("CONFLICT", `a QA re-check of task ${taskId} is running: delete its data once the re-check has ended`);
    }
    return true;
  });
  if (purged) await deleteUnreferenced(app, await blobsOfTasks(app, [taskId]));
}
