import * as ort from "onnxruntime-node";
import { externalDataRefusal, StunError } from "@stun/shared";
import { readModelSignature, type ModelSignature } from "./model-signature";

/**
 * Throws MODEL_EXTERNAL_DATA (or MODEL_INVALID) unless the model is self-contained. Called before
 * every session the server creates from a model's bytes: onnxruntime would otherwise read a tensor's
 * external `location` from the server's working directory (docs/SECURITY.md, issue #12).
 */
export function assertSelfContainedModel(bytes: Uint8Array): void {
  const refusal = externalDataRefusal(bytes);
  if (refusal) throw new StunError(refusal.code, refusal.message);
}

/**
 * A model is accepted when its graph parses, it is self-contained, and onnxruntime can build a
 * session from it (which checks operators, types and shapes). The session is released straight away.
 */
export async function validateModel(bytes: Uint8Array): Promise<ModelSignature> {
  const signature = readModelSignature(bytes);
  assertSelfContainedModel(bytes);
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: "disabled" });
  } catch (e) {
    const message = (e as Error).message.split("\n")[0]?.slice(0, 500) ?? "unknown error";
    throw new StunError("MODEL_INVALID", `onnxruntime cannot load the model: ${message}`);
  } finally {
    await session?.release().catch(() => undefined);
  }
  return signature;
}
