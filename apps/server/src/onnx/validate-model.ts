import { StunError } from "@stun/shared";
import { loadReferenceSession } from "./reference-run";
import { readModelSignature, type ModelSignature } from "../models/signature";
import { DEFAULT_RUN_BUDGET, assertInputBudget, type RunBudget } from "./run-budget";
import { assertSelfContainedModel } from "./self-contained";

/**
 * A model is accepted when its graph parses, it is self-contained (no external data: MODEL_EXTERNAL_DATA
 * before onnxruntime sees it), its inputs at their smallest declared shapes fit the run budget
 * (MODEL_TOO_LARGE_INPUT otherwise, checked before anything is built), and onnxruntime can build a
 * session from it (which checks operators, types and shapes). The session is built with graph
 * optimizations disabled, so no constant folding runs at validation (a graph that folds into a huge
 * constant costs nothing here), and kept in the reference-session cache for the calibration that
 * follows. Runs inside an ONNX worker process (./worker-pool.ts).
 */
export async function validateModel(bytes: Uint8Array, budget: RunBudget = DEFAULT_RUN_BUDGET): Promise<ModelSignature> {
  const signature = readModelSignature(bytes);
  assertSelfContainedModel(bytes);
  assertInputBudget(signature.inputs, budget);
  try {
    await loadReferenceSession(bytes, "disabled");
  } catch (e) {
    const message = (e as Error).message.split("\n")[0]?.slice(0, 500) ?? "unknown error";
    throw new StunError("MODEL_INVALID", `onnxruntime cannot load the model: ${message}`);
  }
  return signature;
}
