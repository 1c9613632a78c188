/**
 * The size budget of every server-side onnxruntime run (upload check, calibration, canary answers,
 * referee runs): how many tensor elements, and bytes, a run's inputs may have, and its outputs.
 * Checked before anything runs (the random inputs a calibration would generate, from the model's
 * declared input shapes with symbolic dimensions resolved to 1) and again on what a run returns.
 * Time and memory beyond this are bounded by the worker pool (./worker-pool.ts).
 */
import { DTYPE_BYTES, StunError, type Dtype, type TensorInfo } from "@stun/shared";

export interface RunBudget {
  /** Largest total element count of one run's inputs, and of its outputs. */
  maxElements: number;
  /** Largest total byte size of one run's inputs, and of its outputs (strings count {@link STRING_ELEMENT_BYTES} each). */
  maxBytes: number;
}

/** 16 Mi elements / 64 MiB: a 4096×4096 float32 tensor; far above what calibrating any real model's smallest inputs needs. */
export const DEFAULT_RUN_BUDGET: RunBudget = { maxElements: 16 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 };

/** A string element's weight in the byte budget: random strings are short, but each is a JS object. */
export const STRING_ELEMENT_BYTES = 64;

/** Symbolic (string) and negative dimensions are unknown: the smallest real size, 1, is used (random inputs, budgets). */
export function concreteDims(shape: TensorInfo["shape"]): number[] {
  return shape.map((d) => (typeof d === "number" && d >= 0 ? d : 1));
}

const elementBytes = (dtype: Dtype): number => (dtype === "string" ? STRING_ELEMENT_BYTES : DTYPE_BYTES[dtype]);

interface Size {
  elements: number;
  bytes: number;
}

function total(tensors: Iterable<{ dtype: Dtype; dims: readonly number[] }>): Size {
  let elements = 0;
  let bytes = 0;
  for (const t of tensors) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    elements += n;
    bytes += n * elementBytes(t.dtype);
  }
  return { elements, bytes };
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function overBudget(size: Size, budget: RunBudget): string | undefined {
  if (size.elements > budget.maxElements) return `${size.elements} elements (limit ${budget.maxElements})`;
  if (size.bytes > budget.maxBytes) return `${mib(size.bytes)} (limit ${mib(budget.maxBytes)})`;
  return undefined;
}

/**
 * Refuses a model whose generated inputs (declared shapes, unknown dimensions as 1) would exceed
 * the budget: MODEL_TOO_LARGE_INPUT, before any session is built or input generated.
 */
export function assertInputBudget(inputs: readonly TensorInfo[], budget: RunBudget): void {
  const over = overBudget(total(inputs.map((i) => ({ dtype: i.dtype, dims: concreteDims(i.shape) }))), budget);
  if (over) throw new StunError("MODEL_TOO_LARGE_INPUT", `the model's inputs at their smallest declared shapes hold ${over}: the server does not run it`);
}

/**
 * Refuses a run whose tensors (a referee's inputs before the run, any run's outputs before they are
 * copied out of onnxruntime) exceed the budget: MODEL_TOO_COSTLY.
 */
export function assertRunBudget(tensors: Iterable<{ dtype: Dtype; dims: readonly number[] }>, budget: RunBudget, what: "inputs" | "outputs"): void {
  const over = overBudget(total(tensors), budget);
  if (over) throw new StunError("MODEL_TOO_COSTLY", `the run's ${what} hold ${over}: more than the server runs`);
}

/** Error codes that mean "over the server's run budget" (never "the model is broken"). */
export const BUDGET_ERROR_CODES: ReadonlySet<string> = new Set(["MODEL_TOO_LARGE_INPUT", "MODEL_TOO_COSTLY"]);
