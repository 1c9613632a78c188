/**
 * The jobs an ONNX worker process runs (./worker-main.ts), as plain functions of their message: the
 * upload check (validate, then calibrate), a canary's known answer, and a referee run. Everything
 * that touches onnxruntime, generates random inputs or measures outputs happens here, off the
 * server's event loop; the pool (./worker-pool.ts) only moves bytes in and results out.
 */
import { deserializeTensorMap, type RawTensor } from "@stun/shared";
import { calibrateModel, makeKnownAnswer, type Calibration, type KnownAnswer, type ModelIO } from "../qa/calibrate";
import { runReference, seededRng } from "../qa/reference-run";
import type { ModelSignature } from "./model-signature";
import { assertRunBudget, type RunBudget } from "./run-budget";
import { validateModel } from "./validate-model";

export type OnnxJob =
  /** Upload: the model's signature (MODEL_INVALID, MODEL_TOO_LARGE_INPUT) and its calibration. */
  | { kind: "check-upload"; model: Uint8Array }
  /** Canary: random inputs from `seed` and the reference outputs for them. */
  | { kind: "known-answer"; model: Uint8Array; signature: ModelIO; seed: number }
  /** Referee: the model on a task's inputs (a serialized tensor map, as stored). */
  | { kind: "run"; model: Uint8Array; inputs: Uint8Array };

export interface OnnxJobResults {
  "check-upload": { signature: ModelSignature; calibration: Calibration };
  "known-answer": KnownAnswer;
  run: Record<string, RawTensor>;
}

export type OnnxJobResult = OnnxJobResults[keyof OnnxJobResults];

/** Runs one job. */
export async function runOnnxJob(job: OnnxJob, budget: RunBudget): Promise<OnnxJobResult> {
  switch (job.kind) {
    case "check-upload": {
      const signature = await validateModel(job.model, budget);
      const calibration = await calibrateModel(job.model, signature, { budget });
      return { signature, calibration };
    }
    case "known-answer": {
      return makeKnownAnswer(job.model, job.signature, seededRng(job.seed), budget);
    }
    case "run": {
      const inputs = deserializeTensorMap(job.inputs);
      assertRunBudget(Object.values(inputs), budget, "inputs");
      return runReference(job.model, inputs, { budget });
    }
  }
}
