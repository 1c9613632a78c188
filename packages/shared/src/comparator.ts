/**
 * Tolerance-aware comparison of inference outputs, used to decide whether two providers' results
 * agree. Floating-point outputs legitimately differ across backends (CUDA vs CPU vs WebGPU kernels,
 * fused ops, reduction order), so floats are compared under an absolute + relative tolerance;
 * integers, bools and strings must match exactly unless a per-dtype tolerance is given.
 */
import { type Dtype, type FLOAT_DTYPES, isFloatDtype } from "./dtypes";
import { float16ArrayToFloat32 } from "./float16";
import { type RawTensor, type Tensor, toTypedArray } from "./tensor";

export type FloatDtype = (typeof FLOAT_DTYPES)[number];

export interface Tolerance {
  abs: number;
  rel: number;
}

/**
 * Default tolerances per float dtype, chosen to accept honest cross-backend noise and reject wrong
 * results:
 * - float32 (ε ≈ 1.2e-7): kernels on different hardware differ by a few ulps per op, and errors
 *   accumulate over deep graphs and long reductions to ~1e-5..1e-4 relative; rel 1e-3 leaves
 *   headroom, abs 1e-4 covers values near 0 (where relative error is meaningless), and a wrong
 *   result (other weights, other inputs, a skipped layer) is still off by far more than either.
 * - float16 (ε ≈ 9.8e-4, ~3 significant digits): one rounding alone is ~5e-4 relative, so 1e-2 both
 *   ways (about ten half-ulps) is the tightest bound honest fp16 runs reliably meet.
 * - float64 (ε ≈ 2.2e-16): much tighter, rel 1e-6 / abs 1e-8 still allows reordered reductions.
 */
export const DEFAULT_TOLERANCES: Readonly<Record<FloatDtype, Tolerance>> = {
  float32: { abs: 1e-4, rel: 1e-3 },
  float16: { abs: 1e-2, rel: 1e-2 },
  float64: { abs: 1e-8, rel: 1e-6 },
};

const EXACT: Tolerance = { abs: 0, rel: 0 };

export interface CompareOptions {
  /**
   * `{abs?, rel?}` overrides the tolerance of every float dtype (missing fields keep the default);
   * a per-dtype map (`{ float16: {abs, rel} }`) overrides only the dtypes it names, and may also
   * relax integer dtypes (e.g. quantized uint8 outputs), which are otherwise exact.
   */
  tolerance?: Partial<Tolerance> | Partial<Record<Dtype, Tolerance>>;
  /** Compare float outputs of rank ≥ 1 by argmax along the last axis (classifiers) instead of by value. */
  argmax?: boolean;
  /** NaN equals NaN (default true). NaN vs a number is always a mismatch. */
  nanEqual?: boolean;
}

export type MismatchReason = "missing" | "extra" | "dtype" | "dims" | "values" | "argmax";

/** One difference. `expected`/`got` are JSON-safe: bigints and non-finite numbers become strings. */
export interface Mismatch {
  output: string;
  reason: MismatchReason;
  /** Flat element index ("values") or row index ("argmax"). */
  index?: number;
  expected?: unknown;
  got?: unknown;
}

export interface CompareResult {
  equal: boolean;
  /** Largest |a−b| over element pairs that are both finite (0 when none differ). */
  maxAbsDiff: number;
  /** Largest |a−b| / max(|a|,|b|) over the same pairs. */
  maxRelDiff: number;
  /** Every mismatch counted, including those left out of `mismatches`. */
  mismatchCount: number;
  /** The first {@link MAX_REPORTED_MISMATCHES} mismatches. */
  mismatches: Mismatch[];
}

export const MAX_REPORTED_MISMATCHES = 10;

/** Resolves the tolerance one dtype is compared under (strings/bools are always exact). */
export function toleranceFor(dtype: Dtype, option: CompareOptions["tolerance"]): Tolerance {
  const float = isFloatDtype(dtype);
  const base = float ? DEFAULT_TOLERANCES[dtype] : EXACT;
  if (!option || dtype === "string" || dtype === "bool") return base;
  if ("abs" in option || "rel" in option) {
    const uniform = option as Partial<Tolerance>;
    return float ? { abs: uniform.abs ?? base.abs, rel: uniform.rel ?? base.rel } : base;
  }
  return (option as Partial<Record<Dtype, Tolerance>>)[dtype] ?? base;
}

const jsonSafe = (v: number | bigint | string): unknown => (typeof v === "bigint" ? v.toString() : typeof v === "number" && !Number.isFinite(v) ? String(v) : v);

/** Collects the result of one or more tensor comparisons. */
class Accumulator {
  maxAbsDiff = 0;
  maxRelDiff = 0;
  mismatchCount = 0;
  readonly mismatches: Mismatch[] = [];

  add(m: Mismatch): void {
    this.mismatchCount++;
    if (this.mismatches.length < MAX_REPORTED_MISMATCHES) this.mismatches.push(m);
  }
  noteDiff(abs: number, magnitude: number): void {
    if (abs > this.maxAbsDiff) this.maxAbsDiff = abs;
    const rel = abs / magnitude;
    if (rel > this.maxRelDiff) this.maxRelDiff = rel;
  }
  result(): CompareResult {
    const { maxAbsDiff, maxRelDiff, mismatchCount, mismatches } = this;
    return { equal: mismatchCount === 0, maxAbsDiff, maxRelDiff, mismatchCount, mismatches };
  }
}

/**
 * Element rule: equal when |a−b| ≤ abs + rel·max(|a|,|b|). ±Infinity equals only the same
 * infinity; NaN equals NaN only when `nanEqual`. With `report` false only the diffs are recorded.
 */
function compareNumbers(name: string, a: ArrayLike<number>, b: ArrayLike<number>, tol: Tolerance, nanEqual: boolean, report: boolean, acc: Accumulator): void {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    let ok: boolean;
    if (Number.isNaN(x) || Number.isNaN(y)) ok = nanEqual && Number.isNaN(x) && Number.isNaN(y);
    else if (!Number.isFinite(x) || !Number.isFinite(y)) ok = false;
    else {
      const d = Math.abs(x - y);
      const m = Math.max(Math.abs(x), Math.abs(y));
      acc.noteDiff(d, m);
      ok = d <= tol.abs + tol.rel * m;
    }
    if (!ok && report) acc.add({ output: name, reason: "values", index: i, expected: jsonSafe(x), got: jsonSafe(y) });
  }
}

/** The same rule for int64/uint64, exact in bigint (the tolerance test uses the numeric difference). */
function compareBigints(name: string, a: ArrayLike<bigint>, b: ArrayLike<bigint>, tol: Tolerance, acc: Accumulator): void {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const d = Math.abs(Number(x - y));
    const m = Math.max(Math.abs(Number(x)), Math.abs(Number(y)));
    acc.noteDiff(d, m);
    if (!(d <= tol.abs + tol.rel * m)) acc.add({ output: name, reason: "values", index: i, expected: jsonSafe(x), got: jsonSafe(y) });
  }
}

/** Index of the largest value in each row of `rowLength` elements; ties → lowest index; a NaN wins (as in NumPy). */
export function argmaxRows(values: ArrayLike<number>, rowLength: number): Int32Array {
  const rows = rowLength === 0 ? 0 : values.length / rowLength;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const start = r * rowLength;
    let best = 0;
    let bestValue = values[start]!;
    for (let j = 1; j < rowLength && !Number.isNaN(bestValue); j++) {
      const v = values[start + j]!;
      if (v > bestValue || Number.isNaN(v)) {
        best = j;
        bestValue = v;
      }
    }
    out[r] = best;
  }
  return out;
}

const floatValues = (t: Tensor): ArrayLike<number> => (t.dtype === "float16" ? float16ArrayToFloat32(t.data) : (t.data as Float32Array | Float64Array));

function compareInto(name: string, expected: RawTensor, got: RawTensor, opts: CompareOptions, acc: Accumulator): void {
  if (expected.dtype !== got.dtype) {
    acc.add({ output: name, reason: "dtype", expected: expected.dtype, got: got.dtype });
    return;
  }
  if (expected.dims.length !== got.dims.length || expected.dims.some((d, i) => d !== got.dims[i])) {
    acc.add({ output: name, reason: "dims", expected: [...expected.dims], got: [...got.dims] });
    return;
  }
  const a = toTypedArray(expected, name);
  const b = toTypedArray(got, name);
  const tol = toleranceFor(a.dtype, opts.tolerance);
  if (a.dtype === "string") {
    const bs = b.data as string[];
    a.data.forEach((s, i) => {
      if (s !== bs[i]) acc.add({ output: name, reason: "values", index: i, expected: s, got: bs[i] });
    });
  } else if (a.dtype === "int64" || a.dtype === "uint64") {
    compareBigints(name, a.data, b.data as BigInt64Array | BigUint64Array, tol, acc);
  } else if (isFloatDtype(a.dtype)) {
    const byArgmax = opts.argmax === true && a.dims.length > 0;
    const x = floatValues(a);
    const y = floatValues(b);
    compareNumbers(name, x, y, tol, opts.nanEqual ?? true, !byArgmax, acc);
    if (byArgmax) {
      const rowLength = a.dims[a.dims.length - 1]!;
      const ax = argmaxRows(x, rowLength);
      const ay = argmaxRows(y, rowLength);
      ax.forEach((v, row) => {
        if (v !== ay[row]) acc.add({ output: name, reason: "argmax", index: row, expected: v, got: ay[row] });
      });
    }
  } else {
    compareNumbers(name, a.data as ArrayLike<number>, b.data as ArrayLike<number>, tol, false, true, acc);
  }
}

/**
 * Compares one output tensor (`got`) with a reference (`expected`); `name` labels the mismatches.
 * Both must be valid raw tensors (see validateRawTensor); an invalid one throws its StunError.
 */
export function compareTensors(expected: RawTensor, got: RawTensor, opts: CompareOptions & { name?: string } = {}): CompareResult {
  const acc = new Accumulator();
  compareInto(opts.name ?? "output", expected, got, opts, acc);
  return acc.result();
}

/** Compares two output maps: every name in either, in sorted order ("missing" = only in `expected`, "extra" = only in `got`). */
export function compareTensorMaps(expected: Record<string, RawTensor>, got: Record<string, RawTensor>, opts: CompareOptions = {}): CompareResult {
  const acc = new Accumulator();
  const names = [...new Set([...Object.keys(expected), ...Object.keys(got)])].sort();
  for (const name of names) {
    const a = Object.hasOwn(expected, name) ? expected[name] : undefined;
    const b = Object.hasOwn(got, name) ? got[name] : undefined;
    if (!b) acc.add({ output: name, reason: "missing" });
    else if (!a) acc.add({ output: name, reason: "extra" });
    else compareInto(name, a, b, opts, acc);
  }
  return acc.result();
}
