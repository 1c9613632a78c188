/**
 * Where a canary's input comes from, and who must not see it. A canary replays the input of a real,
 * recent, finished user task of the same model (its *source*): an input a provider cannot tell from
 * traffic, because it is traffic. The providers that already saw that input — and every provider of
 * their accounts — are kept away from the canary (`verification.avoid`), so no provider is sent the
 * same input twice by QA and none can recognise a replay by its own memory.
 */
import { randomInt } from "node:crypto";
import type { AppContext } from "../context";
import type { SqlClient } from "../db/database";
import { OPEN_TASK_STATUSES } from "../tasks/statuses";

/** How many of the model's latest finished user tasks the source is drawn from (uniformly). */
export const RECENT_SOURCES = 50;
/**
 * An input whose avoid list (every provider of every account that was sent it) would be longer than
 * this is not replayed: the list travels in the task's verification, and the canary would wait for
 * one of the few providers left.
 */
export const MAX_AVOID = 256;

/**
 * The advisory lock class of canary creation (two-int keys never collide with the blob pins'
 * single-bigint keys, storage/blob-pins.ts), and an input's key within it.
 */
const CANARY_LOCK_CLASS = 0x53544e43; // "STNC"
const inputLockKey = (sha256: string): number => Number.parseInt(sha256.slice(0, 8), 16) | 0;

export interface CanarySource {
  id: string;
  inputSha256: string;
  inputMeta: unknown;
  priority: number;
  requirements: unknown;
  maxPrice: bigint;
}

/**
 * A source for a canary of `modelId`, drawn at random among the model's latest RECENT_SOURCES user
 * tasks that completed, whose data is still held (`dataPurgedAt IS NULL`: a requester who deleted
 * it, or retention, took it out of QA's hands) and that were not zk tasks (their input is private
 * to the server and the one prover), less those whose input is in an open task (nobody may be sent
 * it while the avoid list cannot yet know who runs those). `excludeTaskId` is the task whose submit drew
 * the canary. Undefined when there is none.
 */
export async function drawCanarySource(app: AppContext, modelId: string, excludeTaskId: string): Promise<CanarySource | undefined> {
  const rows = await app.db.prisma.$queryRaw<CanarySource[]>`
    SELECT t.id, t."inputSha256", t."inputMeta", t.priority, t.requirements, t."maxPrice"
    FROM (
      SELECT * FROM "Task" t
      WHERE t."modelId" = ${modelId} AND t."completedAt" IS NOT NULL AND t.kind = 'user' AND t.status = 'completed'
        AND t."dataPurgedAt" IS NULL AND t.id <> ${excludeTaskId}
        AND COALESCE(t.verification->>'mode', '') <> 'zk'
        -- A sealed task's input is ciphertext for one provider's key: nobody else could run it.
        AND NOT (t.verification ? 'tee')
      ORDER BY t."completedAt" DESC
      LIMIT ${RECENT_SOURCES}
    ) t
    -- After the LIMIT: an input in many open tasks (a requester sending the same input over and
    -- over) costs RECENT_SOURCES index probes, not one per completed task of the model.
    WHERE NOT EXISTS (SELECT 1 FROM "Task" o WHERE o."inputSha256" = t."inputSha256" AND o.status = ANY(${[...OPEN_TASK_STATUSES]}::text[]))`;
  if (rows.length === 0) return undefined;
  const row = rows[randomInt(rows.length)]!;
  return { ...row, maxPrice: BigInt(row.maxPrice) };
}

/** Why a drawn source cannot be used after all, checked again under its lock. */
export type SourceRefusal = "source-gone" | "source-busy" | "too-widely-seen";

/**
 * Inside the canary's insert transaction: serialises canaries of one input (an advisory lock on the
 * input's sha256), holds the source row against a purge (FOR KEY SHARE, as re-checks do: a purge
 * waits for the insert, or the insert sees the purge), and checks again that the source's data is
 * held and its input in no open task. Returns the providers that must not run the canary, or why
 * there is to be no canary.
 */
export async function lockCanarySource(tx: SqlClient, source: CanarySource): Promise<{ avoid: string[] } | { refused: SourceRefusal }> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CANARY_LOCK_CLASS}::int, ${inputLockKey(source.inputSha256)}::int)`;
  const held = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM "Task" WHERE id = ${source.id} AND "dataPurgedAt" IS NULL FOR KEY SHARE`;
  if (held.length === 0) return { refused: "source-gone" };
  const open = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM "Task" WHERE "inputSha256" = ${source.inputSha256} AND status = ANY(${[...OPEN_TASK_STATUSES]}::text[]) LIMIT 1`;
  if (open.length > 0) return { refused: "source-busy" };
  const avoid = await providersThatSawInput(tx, source.inputSha256, MAX_AVOID + 1);
  if (avoid.length > MAX_AVOID) return { refused: "too-widely-seen" };
  return { avoid };
}

/**
 * Every provider of every account one of whose providers was ever sent this input (any task, any
 * execution status: an assignment that was lost may still have been read), at most `limit`.
 */
export async function providersThatSawInput(tx: SqlClient, inputSha256: string, limit: number): Promise<string[]> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT p.id FROM "Provider" p
    WHERE p."accountId" IN (
      SELECT s."accountId" FROM "Assignment" a JOIN "Task" t ON t.id = a."taskId" JOIN "Provider" s ON s.id = a."providerId"
      WHERE t."inputSha256" = ${inputSha256})
    ORDER BY p.id
    LIMIT ${limit}`;
  return rows.map((r) => r.id);
}
