/**
 * Errors the browser provider reports in `task:error` — the same stable codes as the native agent
 * (docs/PROTOCOL.md § task:error), so the server treats both kinds of provider alike.
 */
export type ProviderErrorCode =
  | "MODEL_FETCH_FAILED"
  | "MODEL_HASH_MISMATCH"
  | "MODEL_LOAD_FAILED"
  /** The model keeps tensor data in external files: refused before onnxruntime-web sees it (issue #12). */
  | "MODEL_EXTERNAL_DATA"
  | "INPUT_INVALID"
  | "RUN_FAILED"
  | "WEBGPU_UNAVAILABLE"
  /** A zk task's proof could not be made (circuit download, key mismatch, input, witness out of range, snarkjs, timeout). */
  | "PROOF_FAILED";

export class ProviderError extends Error {
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ProviderError";
  }
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
