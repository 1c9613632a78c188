/**
 * Errors the agent reports to the server in `task:error` (`code` is what the server matches on)
 * or shows the operator. Codes used here:
 * - MODEL_FETCH_FAILED: the model file could not be downloaded
 * - MODEL_HASH_MISMATCH: the downloaded bytes do not hash to the assignment's sha256
 * - MODEL_LOAD_FAILED: onnxruntime could not create a session from the file
 * - MODEL_EXTERNAL_DATA: the model keeps tensor data in external files (refused before onnxruntime
 *   sees it: onnxruntime would read them from this machine's disk — issue #12)
 * - INPUT_INVALID: an input tensor is malformed (size, dtype, bool values)
 * - RUN_FAILED: onnxruntime failed while running (wrong shapes, missing inputs, kernel errors)
 * - CUDA_UNAVAILABLE: `--backend cuda` on a machine where the CUDA execution provider cannot load
 * - PROOF_FAILED: a zk task's proof could not be made (circuit download, witness out of range, snarkjs)
 */
export type ProviderErrorCode =
  | "MODEL_FETCH_FAILED"
  | "MODEL_HASH_MISMATCH"
  | "MODEL_LOAD_FAILED"
  | "MODEL_EXTERNAL_DATA"
  | "INPUT_INVALID"
  | "RUN_FAILED"
  | "CUDA_UNAVAILABLE"
  | "PROOF_FAILED";

export class ProviderError extends Error {
  readonly code: ProviderErrorCode;
  constructor(code: ProviderErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProviderError";
    this.code = code;
  }
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
