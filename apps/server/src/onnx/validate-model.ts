import * as ort from "onnxruntime-node";
import { StunError } from "@stun/shared";
import { readModelSignature, type ModelSignature } from "./model-signature";

/**
 * A model is accepted when its graph parses and onnxruntime can build a session from it (which
 * checks operators, types and shapes). The session is released straight away.
 */
export async function validateModel(bytes: Uint8Array): Promise<ModelSignature> {
  const signature = readModelSignature(bytes);
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
