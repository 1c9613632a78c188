import { StunError, type ModelView } from "@stun/shared";
import type { AppContext } from "../context";
import { sha256Hex } from "../blobs/blob-store";
import { newId } from "../ids";
import { toModelView } from "../models/row";
import { assertSelfContainedModel } from "../onnx/self-contained";
import { pinBlob } from "../storage/blob-pins";
import { assertStorageRoom, chargeStorage } from "../storage/quota";

/**
 * Stores an ONNX model by content. The same bytes always give the same model (the first
 * uploader is its owner, the creator who earns the 5% share).
 */
export async function uploadModel(app: AppContext, ownerId: string, bytes: Uint8Array, name?: string): Promise<ModelView> {
  if (bytes.byteLength === 0) throw new StunError("MODEL_INVALID", "the request body is empty: send the ONNX file as application/octet-stream");
  const sha256 = sha256Hex(bytes);
  const existing = await app.db.prisma.model.findUnique({ where: { sha256 } });
  if (existing) {
    // The row may outlive its blob (a database restored or shared without this blob store):
    // storing the bytes again is idempotent (content-addressed) and makes the model runnable.
    if (!(await app.blobs.has(sha256))) await app.blobs.put(bytes, sha256);
    return toModelView(existing);
  }
  // A new model is charged to its uploader: refused before the (costly) check when it cannot fit.
  await assertStorageRoom(app, ownerId, bytes.byteLength, "this model");
  // In an ONNX worker process: the graph and session check, then QA's reference run (per-model
  // tolerance for comparing replicas across backends). A model over the run budget is refused
  // (MODEL_TOO_LARGE_INPUT before anything runs, MODEL_TOO_COSTLY when a run goes over time,
  // memory or output size); one that merely cannot run on random inputs is stored uncalibrated.
  // Refused here already (cheap, one pass over the bytes): no worker ever sees a model that reads files.
  assertSelfContainedModel(bytes);
  const { signature, calibration } = await app.onnx.checkUpload(bytes);
  await app.blobs.put(bytes, sha256);
  const data = {
    id: newId("mdl"),
    sha256,
    name: name ?? `model-${sha256.slice(0, 8)}`,
    ownerId,
    sizeBytes: bytes.byteLength,
    inputs: signature.inputs,
    outputs: signature.outputs,
    calibration: { ...calibration },
  };
  try {
    return toModelView(
      await app.db.prisma.$transaction(async (tx) => {
        await chargeStorage(tx, app, ownerId, bytes.byteLength, "this model");
        await pinBlob(tx, app.blobs, sha256, bytes);
        return tx.model.create({ data });
      }),
    );
  } catch (e) {
    if (e instanceof StunError) throw e;
    // Two uploads of the same bytes at once: the unique sha256 lets one win; return that one.
    const winner = await app.db.prisma.model.findUnique({ where: { sha256 } });
    if (winner) return toModelView(winner);
    throw e;
  }
}
