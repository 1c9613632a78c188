/**
 * Canary tasks: tasks whose answer the marketplace knows, mixed into the stream next to user tasks
 * at the policy's canary rate, and built so that a provider cannot tell them from user work:
 *
 * - the input is a real one: a recent finished user task's of the same model (./canary-source.ts),
 *   never random numbers a provider could recognise and answer honestly while cheating elsewhere;
 * - the answer is the server's own reference run on it (onnxruntime-node CPU in an ONNX worker, the
 *   run the referee does), so only models the server referees (`canReferee`) get canaries;
 * - no provider that saw the input — and no provider of its account — is sent the canary
 *   (`verification.avoid`), so nobody meets the same input twice;
 * - priority, price ceiling and requirements are the source's, so it is matched and queued like the
 *   task it copies (no "runs only when idle" timing), with an ordinary task id;
 * - the provider receives an ordinary Assign (dispatcher.ts `send`: the same fields for every
 *   task) at its ordinary price, and its result is acked like any other.
 *
 * Its one result is compared with the answer under the model's calibrated tolerance: a wrong one is
 * an invalid verdict, CANARY_FAILED (handle-result.ts). No real input available, no canary: the
 * draw is counted as skipped (`stun_canaries_skipped_total{reason}`) — there are no random-input
 * canaries any more (docs/QA.md § Canaries).
 */
import { serializeTensorMap } from "@stun/shared";
import type { AppContext } from "../context";
import type { SqlClient } from "../db/database";
import { newId } from "../ids";
import type { ModelRow } from "../models/row";
import type { StoredVerification } from "../tasks/verification";
import { pinBlob } from "../storage/blob-pins";
import { drawCanarySource, lockCanarySource, type CanarySource, type SourceRefusal } from "./canary-source";
import { drawCanary } from "./policy";
import { QA_ACCOUNT_ID, fundQaTask } from "./qa-account";
import { canReferee } from "./referee";
import { unpredictableUniform } from "./unpredictable";

const CANARY_DEADLINE_MS = 60 * 60 * 1000;

/** Why a drawn canary was not made. */
export type CanarySkip = "not-refereeable" | "no-source" | SourceRefusal | "error";

export type CanaryOutcome = { id: string; sourceId: string } | { skipped: CanarySkip };

/**
 * After a user task's submit (`triggerTaskId`): draws whether a canary follows; if so, makes and
 * queues it. Never throws (a failure is logged and counted as skipped).
 */
export async function maybeInjectCanary(app: AppContext, model: ModelRow, triggerTaskId: string): Promise<CanaryOutcome | undefined> {
  if (!drawCanary(app.config.qa, unpredictableUniform())) return undefined;
  const outcome = await injectCanary(app, model, triggerTaskId).catch((err: unknown): CanaryOutcome => {
    app.log.warn({ err, modelId: model.id }, "canary not injected");
    return { skipped: "error" };
  });
  if ("skipped" in outcome) app.metrics.canariesSkipped.inc({ reason: outcome.skipped });
  return outcome;
}

/** Makes a canary of the model from one of its recent real tasks (not `triggerTaskId`) and queues it. */
export async function injectCanary(app: AppContext, model: ModelRow, triggerTaskId: string): Promise<CanaryOutcome> {
  if (!canReferee(model, app.config.REFEREE_MAX_BYTES)) return { skipped: "not-refereeable" };
  const source = await drawCanarySource(app, model.id, triggerTaskId);
  if (!source) return { skipped: "no-source" };
  // The reference run happens before the transaction: it takes a worker process for a while, and
  // PGlite runs one transaction at a time.
  const [modelBytes, inputBytes] = await Promise.all([app.blobs.get(model.sha256), app.blobs.get(source.inputSha256)]);
  const answerBytes = serializeTensorMap(await app.onnx.run(modelBytes, inputBytes));
  const answerSha256 = await app.blobs.put(answerBytes);
  const id = newId("tsk");
  const made = await app.db.prisma.$transaction(async (tx) => {
    const locked = await lockCanarySource(tx, source);
    if ("refused" in locked) return locked;
    await fundQaTask(tx, id, source.maxPrice);
    // The source's input blob: this row keeps it alive while the canary's data is held, even once
    // the source's own data is purged (storage/blob-gc.ts counts every unpurged task's input).
    await pinBlob(tx, app.blobs, source.inputSha256, inputBytes);
    await pinBlob(tx, app.blobs, answerSha256, answerBytes);
    await insertCanary(tx, id, model.id, source, answerSha256, { mode: "none", replicas: 1, argmax: false, avoid: locked.avoid });
    return { id };
  });
  if ("refused" in made) return { skipped: made.refused };
  app.metrics.canaries.inc();
  app.bus.workAvailable();
  return { id, sourceId: source.id };
}

/**
 * The canary row: the QA account's, with the source's input, priority, requirements and price
 * ceiling. `inputBytes` is 0: the input is charged to the source's requester, not to QA.
 */
async function insertCanary(tx: SqlClient, id: string, modelId: string, source: CanarySource, answerSha256: string, verification: StoredVerification): Promise<void> {
  const now = Date.now();
  await tx.$executeRaw`
    INSERT INTO "Task" (id, "requesterId", kind, "answerSha256", "modelId", status, priority, "inputSha256", "inputMeta", "inputBytes",
                        verification, requirements, "maxPrice", "escrowHeld", wanted, deadline, "createdAt", "updatedAt")
    VALUES (${id}, ${QA_ACCOUNT_ID}, 'canary', ${answerSha256}, ${modelId}, 'queued', ${source.priority}, ${source.inputSha256},
            ${JSON.stringify(source.inputMeta)}::jsonb, 0, ${JSON.stringify(verification)}::jsonb, ${JSON.stringify(source.requirements)}::jsonb,
            ${source.maxPrice}, ${source.maxPrice}, 1, ${new Date(now + CANARY_DEADLINE_MS)}, ${new Date(now)}, ${new Date(now)})`;
}
