import { externalDataRefusal, StunError } from "@stun/shared";

/**
 * Throws MODEL_EXTERNAL_DATA (or MODEL_INVALID) unless the model is self-contained. Called before
 * every session the server creates from a model's bytes: onnxruntime would otherwise read a tensor's
 * external `location` from the server's working directory (docs/SECURITY.md, issue #12).
 */
export function assertSelfContainedModel(bytes: Uint8Array): void {
  const refusal = externalDataRefusal(bytes);
  if (refusal) throw new StunError(refusal.code, refusal.message);
}
