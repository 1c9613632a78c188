/**
 * The jobs an ONNX worker process runs (./worker-main.ts), as plain functions of their message: the
 * upload check (validate, then calibrate) and a model run on stored inputs (referee, canary answers). Everything
 * that touches onnxruntime, generates random inputs or measures outputs happens here, off the
 * server's event loop; the pool (./worker-pool.ts) only moves bytes in and results out.
 */
import { deserializeTensorMap, type RawTensor } from "@stun/shared";
import type { Calibration } from "../models/calibration";
import { calibrateModel } from "./calibrate";
import { runReference } from "./reference-run";
import type { ModelSignature } from "../models/signature";
import { assertRunBudget, type RunBudget } from "./run-budget";
import { validateModel } from "./validate-model";

export type OnnxJob =
  /** Upload: the model's signature (MODEL_INVALID, MODEL_TOO_LARGE_INPUT) and its calibration. */
  | { kind: "check-upload"; model: Uint8Array }
  /** Referee, canary answer: the model on a task's inputs (a serialized tensor map, as stored). */
  | { kind: "run"; model: Uint8Array; inputs: Uint8Array };

export interface OnnxJobResults {
  "check-upload": { signature: ModelSignature; calibration: Calibration };
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
    case "run": {
      const inputs = deserializeTensorMap(job.inputs);
      assertRunBudget(Object.values(inputs), budget, "inputs");
      return runReference(job.model, inputs, { budget });
    }
  }
}
