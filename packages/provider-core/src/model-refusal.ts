import { externalDataRefusal } from "@stun/shared";
import { ProviderError } from "./errors";

/**
 * A model that keeps tensor data in external files would make onnxruntime read (native) or fetch
 * (web) the files it names: refused before any session is created (issue #12).
 */
export function refuseUnlessSelfContained(sha256: string, bytes: Uint8Array): void {
  const refusal = externalDataRefusal(bytes);
  if (!refusal) return;
  const code = refusal.code === "MODEL_EXTERNAL_DATA" ? "MODEL_EXTERNAL_DATA" : "MODEL_LOAD_FAILED";
  throw new ProviderError(code, `model ${sha256} refused: ${refusal.message}`);
}
