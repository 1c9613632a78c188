/**
 * Backend-aware tolerance calibration.
 *
 * Providers run models on different backends (cpu, cuda, wasm, webgpu); their float outputs differ
 * in the low bits, and some models far more than the comparator's defaults allow (Silero VAD v5 on
 * onnxruntime's WebGPU provider differs from CPU by 8e-3). So at upload the server runs the model
 * itself ({@link calibrateModel}) and measures how far its outputs move under backend-like noise:
 *
 * - each float input perturbed by a relative low-bit error (2^-11 for float32: the precision of
 *   float16 intermediates and fast-math approximations some GPU kernels use; one ulp for float16;
 *   2^-40 for float64, whose backends keep float64), which measures how much the graph amplifies
 *   rounding differences;
 * - the graph run with optimizations "disabled" vs "all" (other kernels, fusions, reduction order).
 *
 * The largest deviation found, times a safety factor, becomes the model's tolerance (never below
 * the dtype default, never above a cap); a model whose tolerance had to be raised far above the
 * default is marked `sameBackendQuorum`: its replicas are compared only within one backend class.
 */
import { DEFAULT_TOLERANCES, StunError, float16ToFloat32, float32ToFloat16, isFloatDtype, toTypedArray, type FloatDtype, type RawTensor, type TensorInfo, type Tolerance } from "@stun/shared";
import type { Calibration } from "../models/calibration";
import { BUDGET_ERROR_CODES, DEFAULT_RUN_BUDGET, assertInputBudget, type RunBudget } from "./run-budget";
import { randomInputs, runReference, seededRng, type Rng } from "./reference-run";

export interface ModelIO {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

export interface CalibrateOptions {
  /** Seed for the random inputs and perturbations (default 1): the same model calibrates the same way. */
  seed?: number;
  /** Random input sets to run (default {@link DEFAULT_SAMPLES}). */
  samples?: number;
  /**
   * Valid input sets to calibrate on instead of random ones (e.g. an example the uploader sent):
   * models whose inputs follow rules random values break (Silero VAD's `sr`, index inputs) can
   * still be calibrated.
   */
  examples?: Record<string, RawTensor>[];
  /** The run budget (default {@link DEFAULT_RUN_BUDGET}): random inputs and every run's outputs must fit it. */
  budget?: RunBudget;
}

/** Input sets per calibration: each costs three runs; four keep an upload's calibration cheap while the safety factor covers what they miss. */
export const DEFAULT_SAMPLES = 4;

/** Measured deviation × this = tolerance: run-to-run and input-to-input variation is larger than a few samples show. */
export const SAFETY_FACTOR = 4;
/**
 * Largest relative tolerance calibration grants (abs scales with it). Past 5% a comparison no longer
 * tells an honest run from a cheap approximation; such models get `sameBackendQuorum` anyway.
 */
export const MAX_REL_TOLERANCE = 0.05;
/**
 * A model needs same-backend quorums when its tolerance had to be raised above this multiple of its
 * output dtype's default (float32: rel 2e-2, twice what float16 itself is allowed). The emulated
 * noise alone puts an Identity graph at ~2× (2^-11 × the safety factor), and ordinary MLPs, CNNs
 * and tanh chains measured 1.4–10×; past 20× a model amplifies backend noise ten times more than
 * an identity does, and replicas from different backend classes would disagree as often as agree.
 */
export const SAME_BACKEND_FACTOR = 20;
/** Relative input perturbation per float dtype (see the module comment). */
export const PERTURBATION: Readonly<Record<FloatDtype, number>> = { float32: 2 ** -11, float16: 2 ** -10, float64: 2 ** -40 };

const EXACT: Tolerance = { abs: 0, rel: 0 };

const message = (e: unknown): string => ((e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "").slice(0, 500);

// ---------------------------------------------------------------------------------------------
// Perturbation and measurement

/** Float values of a float tensor as plain numbers (float16 decoded into a Float32Array); null for other dtypes. */
function floatValues(t: RawTensor): ArrayLike<number> | null {
  if (!isFloatDtype(t.dtype)) return null;
  const typed = toTypedArray(t);
  return t.dtype === "float16" ? Float32Array.from(typed.data as Uint16Array, float16ToFloat32) : (typed.data as Float32Array | Float64Array);
}

/** x·(1 + ε·u), u uniform in [-1, 1], for every float input: what a backend with coarser rounding would see. */
function perturb(inputs: Record<string, RawTensor>, rng: Rng): Record<string, RawTensor> {
  const out: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(inputs)) {
    if (!isFloatDtype(t.dtype)) {
      out[name] = t;
      continue;
    }
    const eps = PERTURBATION[t.dtype];
    const values = floatValues(t)!;
    const nudge = (i: number): number => values[i]! * (1 + eps * (rng() * 2 - 1));
    // Typed arrays filled in place: no JS array of every element on the worker's heap.
    const typed =
      t.dtype === "float16"
        ? Uint16Array.from({ length: values.length }, (_, i) => float32ToFloat16(nudge(i)))
        : t.dtype === "float32"
          ? Float32Array.from({ length: values.length }, (_, i) => nudge(i))
          : Float64Array.from({ length: values.length }, (_, i) => nudge(i));
    out[name] = { dtype: t.dtype, dims: t.dims, data: new Uint8Array(typed.buffer) };
  }
  return out;
}

/** Per float dtype, the largest floored relative deviation between two runs' outputs (see {@link Calibration.drift}). */
interface Deviation {
  drift: Partial<Record<FloatDtype, number>>;
  /** Finite element pairs compared. */
  compared: number;
}

function measure(a: Record<string, RawTensor>, b: Record<string, RawTensor>, into: Deviation): void {
  for (const [name, ta] of Object.entries(a)) {
    const tb = b[name];
    const va = floatValues(ta);
    if (!va || !tb || tb.dtype !== ta.dtype) continue;
    const vb = floatValues(tb)!;
    const dtype = ta.dtype as FloatDtype;
    const floor = DEFAULT_TOLERANCES[dtype].abs / DEFAULT_TOLERANCES[dtype].rel;
    let worst = into.drift[dtype] ?? 0;
    for (let i = 0; i < Math.min(va.length, vb.length); i++) {
      const x = va[i]!;
      const y = vb[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue; // NaN/Inf on random inputs: nothing to measure
      into.compared++;
      worst = Math.max(worst, Math.abs(x - y) / (Math.max(Math.abs(x), Math.abs(y)) + floor));
    }
    into.drift[dtype] = worst;
  }
}

// ---------------------------------------------------------------------------------------------
// Calibration

/**
 * Tolerance from measured drift: per float output dtype, its default scaled by
 * f = clamp(SAFETY_FACTOR·drift / rel₀, 1, MAX_REL_TOLERANCE / rel₀) — scaling abs and rel together
 * keeps the default's floor near zero, and SAFETY_FACTOR·drift ≤ f·rel₀ makes every measured
 * deviation pass the comparator's rule |a−b| ≤ abs + rel·max(|a|,|b|). Dtypes combine by maximum.
 */
function toleranceFrom(drift: Deviation["drift"], outputs: readonly TensorInfo[]): { tolerance: Tolerance; sameBackendQuorum: boolean } {
  let tolerance = EXACT;
  let sameBackendQuorum = false;
  const floatDtypes = new Set(outputs.map((o) => o.dtype).filter(isFloatDtype));
  for (const dtype of floatDtypes) {
    const base = DEFAULT_TOLERANCES[dtype];
    const needed = (SAFETY_FACTOR * (drift[dtype] ?? 0)) / base.rel;
    if (needed > SAME_BACKEND_FACTOR) sameBackendQuorum = true;
    const f = Math.min(Math.max(needed, 1), MAX_REL_TOLERANCE / base.rel);
    tolerance = { abs: Math.max(tolerance.abs, base.abs * f), rel: Math.max(tolerance.rel, base.rel * f) };
  }
  return { tolerance, sameBackendQuorum };
}

/** The float outputs' default tolerances combined (exact when none): what a failed calibration falls back to. */
export function defaultTolerance(outputs: readonly TensorInfo[]): Tolerance {
  return toleranceFrom({}, outputs).tolerance;
}

/**
 * The model's reference run: `samples` seeded random input sets (or the given examples), each run
 * as is, with perturbed float inputs, and unoptimized; the largest output deviation sets the
 * tolerance. A model onnxruntime cannot run on random inputs (inputs with rules, like Silero VAD's
 * audio length and `sr`, or indices that must be in range) gets status "failed", its reason, the
 * default tolerance and same-backend quorums. Throws only when the model is over the run budget
 * (MODEL_TOO_LARGE_INPUT before anything runs, MODEL_TOO_COSTLY for its outputs): such a model is
 * refused, not calibrated.
 */
export async function calibrateModel(modelBytes: Uint8Array, signature: ModelIO, opts: CalibrateOptions = {}): Promise<Calibration> {
  const failed = (reason: string): Calibration => ({
    status: "failed",
    tolerance: defaultTolerance(signature.outputs),
    drift: 0,
    // Drift unknown: replicas are compared only within one backend class, where the default
    // tolerance holds (e.g. Silero VAD: WebGPU differs from CPU by 8e-3, far over the default).
    sameBackendQuorum: true,
    reason,
  });
  const budget = opts.budget ?? DEFAULT_RUN_BUDGET;
  if (!opts.examples) assertInputBudget(signature.inputs, budget);
  const rng = seededRng(opts.seed ?? 1);
  const deviation: Deviation = { drift: {}, compared: 0 };
  try {
    const sets = opts.examples ?? Array.from({ length: opts.samples ?? DEFAULT_SAMPLES }, () => randomInputs(signature.inputs, rng));
    for (const inputs of sets) {
      const reference = await runReference(modelBytes, inputs, { budget });
      measure(reference, await runReference(modelBytes, perturb(inputs, rng), { budget }), deviation);
      measure(reference, await runReference(modelBytes, inputs, { optimization: "disabled", budget }), deviation);
    }
  } catch (e) {
    if (e instanceof StunError && BUDGET_ERROR_CODES.has(e.code)) throw e;
    return failed(`the model does not run on ${opts.examples ? "the example" : "random"} inputs: ${message(e)}`);
  }
  const hasFloatOutput = signature.outputs.some((o) => isFloatDtype(o.dtype));
  if (hasFloatOutput && deviation.compared === 0) return failed("the calibration inputs give no finite float outputs to measure");
  const drift = Math.max(0, ...Object.values(deviation.drift));
  return { status: "calibrated", ...toleranceFrom(deviation.drift, signature.outputs), drift };
}
