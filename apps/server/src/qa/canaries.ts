/**
 * Canary tasks: tasks whose answer the marketplace knows (its own onnxruntime reference run on
 * random inputs), mixed into the stream next to user tasks at the policy's canary rate. A provider
 * sees an ordinary assignment at its ordinary price; its output is compared with the answer under
 * the model's calibrated tolerance, and a wrong one is caught like any other (docs/QA.md).
 */
import { randomInt } from "node:crypto";
import { serializeTensorMap, type TensorInfo } from "@stun/shared";
import type { AppContext } from "../context";
import { newId } from "../ids";
import type { ModelRow } from "../services/models";
import type { StoredVerification } from "../services/task-view";
import type { Calibration } from "./calibrate";
import { drawCanary } from "./policy";
import { QA_ACCOUNT_ID, fundQaTask } from "./qa-account";
import { unpredictableUniform } from "./unpredictable";
import { pinBlob } from "../storage/blob-pins";

const CANARY_DEADLINE_MS = 60 * 60 * 1000;
/**
 * Below user tasks (priority ≥ 0 by default): a canary takes a slot only when no user work waits,
 * so checking never delays the requesters it protects. A provider sees no priority.
 */
const CANARY_PRIORITY = -1;


/** Draws whether a canary follows this user task; if so, makes and queues it. Never throws. */
export async function maybeInjectCanary(app: AppContext, model: ModelRow, maxPrice: bigint): Promise<string | undefined> {
  if (!drawCanary(app.config.qa, unpredictableUniform())) return undefined;
  try {
    return await injectCanary(app, model, maxPrice);
  } catch (err) {
    app.log.warn({ err, modelId: model.id }, "canary not injected");
    return undefined;
  }
}

/** Makes a known-answer task for the model and queues it; undefined when the model cannot have one. */
export async function injectCanary(app: AppContext, model: ModelRow, maxPrice: bigint): Promise<string | undefined> {
  const calibration = model.calibration as Calibration | null | undefined;
  if (calibration?.status !== "calibrated") return undefined;
  const bytes = await app.blobs.get(model.sha256);
  const signature = { inputs: model.inputs as TensorInfo[], outputs: model.outputs as TensorInfo[] };
  const { inputs, outputs } = await app.onnx.knownAnswer(bytes, signature, randomInt(2 ** 31));
  const inputBytes = serializeTensorMap(inputs);
  const answerBytes = serializeTensorMap(outputs);
  const inputSha256 = await app.blobs.put(inputBytes);
  const answerSha256 = await app.blobs.put(answerBytes);
  const inputMeta = Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, { dtype: t.dtype, dims: t.dims }]));
  const verification: StoredVerification = { mode: "none", replicas: 1, argmax: false };
  const id = newId("tsk");
  const now = Date.now();
  await app.db.prisma.$transaction(async (tx) => {
    await fundQaTask(tx, id, maxPrice);
    await pinBlob(tx, app.blobs, inputSha256, inputBytes);
    await pinBlob(tx, app.blobs, answerSha256, answerBytes);
    await tx.$executeRaw`
      INSERT INTO "Task" (id, "requesterId", kind, "answerSha256", "modelId", status, priority, "inputSha256", "inputMeta", "inputBytes",
                          verification, requirements, "maxPrice", "escrowHeld", wanted, deadline, "createdAt", "updatedAt")
      VALUES (${id}, ${QA_ACCOUNT_ID}, 'canary', ${answerSha256}, ${model.id}, 'queued', ${CANARY_PRIORITY}, ${inputSha256},
              ${JSON.stringify(inputMeta)}::jsonb, ${inputBytes.byteLength}, ${JSON.stringify(verification)}::jsonb, '{}'::jsonb, ${maxPrice},
              ${maxPrice}, 1, ${new Date(now + CANARY_DEADLINE_MS)}, ${new Date(now)}, ${new Date(now)})`;
  });
  app.metrics.canaries.inc();
  app.bus.workAvailable();
  return id;
}
