/**
 * Blob garbage collection. Blobs are shared by content: one sha256 may be a model, several tasks'
 * inputs, a canary's answer and executions' outputs at once, so a file is deleted only when no
 * live row references it (`referencedAmong`), checked under the blob's exclusive advisory lock
 * (blob-pins.ts) so a writer's new reference is never lost. The periodic walk also removes what
 * crashes leave: temporary files older than an hour, and blobs no row references that are older
 * than BLOB_GC_GRACE_SECONDS (younger ones may belong to an upload whose row is not written yet).
 */
import type { AppContext } from "../context";
import type { SqlClient } from "../db/database";
import { blobLockKey } from "../blobs/pin-lock";

/** A temporary file this old is a write that will never finish (a crash, a killed process). */
export const STALE_TEMP_MS = 60 * 60 * 1000;
const PAGE = 500;

/** The shas among `shas` that a live row references: a model, or a task whose data is not purged. */
async function referencedAmong(tx: SqlClient, shas: string[]): Promise<Set<string>> {
  const rows = await tx.$queryRaw<Array<{ sha: string }>>`
    SELECT s.sha FROM unnest(${shas}::text[]) AS s(sha)
    WHERE EXISTS (SELECT 1 FROM "Model" m WHERE m.sha256 = s.sha)
       OR EXISTS (SELECT 1 FROM "Task" t WHERE t."inputSha256" = s.sha AND t."dataPurgedAt" IS NULL)
       OR EXISTS (SELECT 1 FROM "Task" t WHERE t."outputSha256" = s.sha AND t."dataPurgedAt" IS NULL)
       OR EXISTS (SELECT 1 FROM "Task" t WHERE t."answerSha256" = s.sha AND t."dataPurgedAt" IS NULL)
       OR EXISTS (SELECT 1 FROM "Assignment" a JOIN "Task" t ON t.id = a."taskId"
                  WHERE a."outputSha256" = s.sha AND t."dataPurgedAt" IS NULL)`;
  return new Set(rows.map((r) => r.sha));
}

/**
 * Deletes each of `shas` that no live row references; returns the deleted ones. A blob whose lock a
 * writer holds right now is skipped (it is about to be referenced; a later pass sees it).
 */
export async function deleteUnreferenced(app: AppContext, shas: string[]): Promise<string[]> {
  if (shas.length === 0) return [];
  return app.db.prisma.$transaction(
    async (tx) => {
      const keys = shas.map((s) => blobLockKey(s).toString());
      const locked = await tx.$queryRaw<Array<{ sha: string }>>`
        SELECT s.sha FROM unnest(${shas}::text[], ${keys}::text[]) AS s(sha, k) WHERE pg_try_advisory_xact_lock(s.k::bigint)`;
      if (locked.length === 0) return [];
      const referenced = await referencedAmong(
        tx,
        locked.map((r) => r.sha),
      );
      const deleted: string[] = [];
      for (const { sha } of locked) if (!referenced.has(sha) && (await app.blobs.remove(sha, tx))) deleted.push(sha);
      return deleted;
    },
    { timeout: 60_000 },
  );
}

export interface CollectionResult {
  /** Unreferenced blobs deleted. */
  blobs: number;
  /** Stale temporary files deleted. */
  temp: number;
}

/** The periodic walk over the whole blob store (see the file comment). */
export async function collectGarbage(app: AppContext, now = new Date()): Promise<CollectionResult> {
  const temp = await app.blobs.removeStaleTemp(new Date(now.getTime() - STALE_TEMP_MS));
  const before = new Date(now.getTime() - app.config.BLOB_GC_GRACE_SECONDS * 1000);
  let blobs = 0;
  for await (const page of app.blobs.listOlderThan(before, PAGE)) blobs += (await deleteUnreferenced(app, page)).length;
  return { blobs, temp };
}
