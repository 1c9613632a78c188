/**
 * A model's QA calibration as the rest of the server reads it: the stored `Model.calibration`
 * column (written at upload by onnx/calibrate.ts, in an ONNX worker) and the comparator options it
 * implies for the model's replicas. One place reads the column, so no caller casts it.
 */
import { DEFAULT_TOLERANCES, type CompareOptions, type Dtype, type FloatDtype, type Tolerance } from "@stun/shared";

/** The result of calibrating a model; JSON-safe (stored in the Model row's `calibration` column). */
export interface Calibration {
  status: "calibrated" | "failed";
  /** Applied to every float output (see {@link compareOptionsFor}); exact ({0,0}) when no output is float. */
  tolerance: { abs: number; rel: number };
  /**
   * Largest output deviation measured, as a relative error with a floor near zero:
   * max |a−b| / (max(|a|,|b|) + abs₀/rel₀) over float output elements, where abs₀/rel₀ is the
   * output dtype's default tolerance (so 0.1 for float32). 0 when no output is float or on failure.
   */
  drift: number;
  /** True when cross-backend noise is too large to compare replicas across backend classes. */
  sameBackendQuorum: boolean;
  /** Why calibration failed (status "failed"). */
  reason?: string;
}

/**
 * A model row's calibration, or null before it was calibrated. The column is only ever written
 * from a {@link Calibration}; a value of another shape is treated as none (compared under the
 * defaults, not refereed).
 */
export function calibrationOf(model: { calibration?: unknown }): Calibration | null {
  const c = model.calibration;
  if (typeof c !== "object" || c === null) return null;
  const { status, tolerance, sameBackendQuorum } = c as Partial<Calibration>;
  if ((status !== "calibrated" && status !== "failed") || typeof tolerance !== "object" || tolerance === null || typeof sameBackendQuorum !== "boolean") return null;
  return c as Calibration;
}

/**
 * Comparator options for a model's replicas. A calibrated tolerance applies to every float dtype,
 * but never below that dtype's default (so a float16 + float32 model's combined tolerance does not
 * tighten float16, and an exact tolerance from integer outputs changes nothing). Null or failed
 * calibrations compare under the defaults.
 */
export function compareOptionsFor(calibration: Calibration | null | undefined, argmax = false): CompareOptions {
  if (!calibration || calibration.status !== "calibrated") return { argmax };
  const tolerance: Partial<Record<Dtype, Tolerance>> = {};
  for (const [dtype, base] of Object.entries(DEFAULT_TOLERANCES) as [FloatDtype, Tolerance][]) {
    tolerance[dtype] = { abs: Math.max(base.abs, calibration.tolerance.abs), rel: Math.max(base.rel, calibration.tolerance.rel) };
  }
  return { tolerance, argmax };
}
