/**
 * The jobs an ONNX worker thread runs (./worker-main.ts), as plain functions of their message: the
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

/** The distinct ArrayBuffers behind tensors' bytes, to transfer rather than copy. */
export function tensorBuffers(...maps: Record<string, RawTensor>[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const map of maps) {
    for (const t of Object.values(map)) if (!Array.isArray(t.data) && t.data.buffer instanceof ArrayBuffer) buffers.add(t.data.buffer);
  }
  return [...buffers];
}

/** Runs one job; returns its result and the buffers to transfer with it. */
export async function runOnnxJob(job: OnnxJob, budget: RunBudget): Promise<{ result: OnnxJobResult; transfer: ArrayBuffer[] }> {
  switch (job.kind) {
    case "check-upload": {
      const signature = await validateModel(job.model, budget);
      const calibration = await calibrateModel(job.model, signature, { budget });
      return { result: { signature, calibration }, transfer: [] };
    }
    case "known-answer": {
      const answer = await makeKnownAnswer(job.model, job.signature, seededRng(job.seed), budget);
      return { result: answer, transfer: tensorBuffers(answer.inputs, answer.outputs) };
    }
    case "run": {
      const inputs = deserializeTensorMap(job.inputs);
      assertRunBudget(Object.values(inputs), budget, "inputs");
      const outputs = await runReference(job.model, inputs, { budget });
      return { result: outputs, transfer: tensorBuffers(outputs) };
    }
  }
}
