/**
 * Re-checks: when a pair is caught with a wrong result, its most recent solo results (accepted
 * alone, unchecked) are each run again elsewhere. A re-check is a task of kind `recheck` owned by
 * the QA account: its first execution is compared with the original result (which counts as the
 * first replica), a disagreement gets a tie-breaker, and an original that loses is overturned —
 * the requester's task is corrected and the requester refunded from the slash (handle-result.ts).
 */
import type { SqlClient } from "../db/database";
import { newId } from "../ids";
import { MAX_TIE_BREAKERS } from "../tasks/verification";
import { parseVerification, type StoredVerification } from "../tasks/verification";
import type { QaPolicy } from "./policy";
import { QA_ACCOUNT_ID, fundQaTask } from "./qa-account";

type SoloRow = {
  assignmentId: string;
  taskId: string;
  modelId: string;
  inputSha256: string;
  inputMeta: unknown;
  verification: unknown;
  requirements: unknown;
  maxPrice: bigint;
  deadline: Date;
  backend: string;
  sameBackend: boolean | null;
};

/** Executions a re-check may need: one fresh replica and its tie-breaker. */
const RECHECK_EXECUTIONS = 1 + MAX_TIE_BREAKERS;
const RECHECK_DEADLINE_MS = 60 * 60 * 1000;

/** Queues re-checks of the pair's latest `recheckLimit` solo results not yet re-checked; returns how many. */
export async function queueRechecks(tx: SqlClient, policy: QaPolicy, providerId: string, backend: string): Promise<number> {
  if (policy.recheckLimit <= 0) return 0;
  const solos = await tx.$queryRaw<SoloRow[]>`
    SELECT a.id AS "assignmentId", t.id AS "taskId", t."modelId", t."inputSha256", t."inputMeta", t.verification,
           t.requirements, t."maxPrice", t.deadline, a.backend,
           (m.calibration->>'sameBackendQuorum')::boolean AS "sameBackend"
    FROM "Assignment" a JOIN "Task" t ON t.id = a."taskId" JOIN "Model" m ON m.id = t."modelId"
    WHERE a."providerId" = ${providerId} AND a.backend = ${backend} AND a.solo AND a."recheckedAt" IS NULL
      AND a.verdict = 'accepted' AND t.status = 'completed' AND t."dataPurgedAt" IS NULL
    ORDER BY a."completedAt" DESC
    LIMIT ${policy.recheckLimit}
    FOR UPDATE OF a FOR KEY SHARE OF t`;
  if (solos.length === 0) return 0;
  const now = new Date();
  await tx.$executeRaw`UPDATE "Assignment" SET "recheckedAt" = ${now} WHERE id = ANY(${solos.map((s) => s.assignmentId)}::text[])`;
  for (const s of solos) {
    const id = newId("tsk");
    const original = parseVerification(s.verification);
    const verification: StoredVerification = {
      mode: "redundant",
      replicas: 2,
      argmax: original.argmax,
      recheck: { taskId: s.taskId, assignmentId: s.assignmentId, providerId },
      // On the original's backend when the model's replicas must share one (calibration).
      ...(s.sameBackend ? { backend: s.backend } : {}),
    };
    const held = BigInt(s.maxPrice) * BigInt(RECHECK_EXECUTIONS);
    await fundQaTask(tx, id, held);
    await tx.$executeRaw`
      INSERT INTO "Task" (id, "requesterId", kind, "recheckOf", "modelId", status, priority, "inputSha256", "inputMeta",
                          verification, requirements, "maxPrice", "escrowHeld", wanted, deadline, "createdAt", "updatedAt")
      VALUES (${id}, ${QA_ACCOUNT_ID}, 'recheck', ${s.taskId}, ${s.modelId}, 'queued', 0, ${s.inputSha256},
              ${JSON.stringify(s.inputMeta)}::jsonb, ${JSON.stringify(verification)}::jsonb, ${JSON.stringify(s.requirements)}::jsonb,
              ${BigInt(s.maxPrice)}, ${held}, 1, ${new Date(now.getTime() + RECHECK_DEADLINE_MS)}, ${now}, ${now})`;
    await tx.$executeRaw`
      UPDATE "Task" SET receipt = jsonb_set(receipt, '{qa,recheck}', '"queued"'::jsonb, true)
      WHERE id = ${s.taskId} AND receipt IS NOT NULL`;
  }
  return solos.length;
}
