/**
 * Reading a task's output tensors for display and download: values as numbers (or strings),
 * top-k for classifier-like outputs, and `.npy` / JSON files.
 */
import { encodeNpy, float16ArrayToFloat32, tensorFromJson, toTypedArray, type RawTensor, type TensorJson } from "@stun/shared";

export interface DecodedOutput {
  name: string;
  raw: RawTensor;
  /** Display values, row-major: numbers (int64 beyond 2^53 lose digits here only), or strings. */
  values: Array<number | string>;
  /** Exact values for JSON: int64/uint64 as strings, bool as booleans. */
  exact: Array<number | string | boolean>;
}

export function decodeOutput(name: string, json: TensorJson): DecodedOutput {
  const raw = tensorFromJson(json, name);
  const t = toTypedArray(raw, name);
  let values: Array<number | string>;
  let exact: Array<number | string | boolean>;
  if (t.dtype === "string") {
    values = t.data;
    exact = t.data;
  } else if (t.dtype === "int64" || t.dtype === "uint64") {
    exact = Array.from(t.data as BigInt64Array | BigUint64Array, (b) => (b >= -(2n ** 53n) && b <= 2n ** 53n ? Number(b) : b.toString()));
    values = Array.from(t.data as BigInt64Array | BigUint64Array, (b) => Number(b));
  } else if (t.dtype === "float16") {
    values = Array.from(float16ArrayToFloat32(t.data));
    exact = values;
  } else if (t.dtype === "bool") {
    values = Array.from(t.data);
    exact = Array.from(t.data, (b) => b === 1);
  } else {
    values = Array.from(t.data as ArrayLike<number>);
    exact = values;
  }
  return { name, raw, values, exact };
}

/** [1, N] or [N] floats with N ≥ 2: scores over N classes. */
export function isClassifierLike(o: DecodedOutput): boolean {
  const d = o.raw.dims;
  const n = d.length === 2 && d[0] === 1 ? d[1]! : d.length === 1 ? d[0]! : 0;
  return o.raw.dtype.startsWith("float") && n >= 2;
}

export interface TopEntry {
  index: number;
  score: number;
  /** Softmax of the scores (or the scores themselves when they already sum to ~1). */
  probability: number;
}

export function topK(values: readonly number[], k = 5): TopEntry[] {
  const finite = values.every((v) => Number.isFinite(v));
  const sum = values.reduce((s, v) => s + v, 0);
  const isDistribution = finite && values.every((v) => v >= 0 && v <= 1) && Math.abs(sum - 1) < 1e-3;
  let probs: number[];
  if (isDistribution || !finite) probs = [...values];
  else {
    const max = Math.max(...values);
    const exps = values.map((v) => Math.exp(v - max));
    const z = exps.reduce((s, v) => s + v, 0);
    probs = exps.map((e) => e / z);
  }
  return values
    .map((score, index) => ({ index, score, probability: probs[index]! }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, k);
}

export const formatValue = (v: number | string): string => {
  if (typeof v === "string") return v;
  if (Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-4 || a >= 1e6) ? v.toExponential(4) : v.toPrecision(6).replace(/\.?0+$/, "");
};

/** Starts a browser download of bytes or text. */
export function download(filename: string, data: Uint8Array | string, type: string): void {
  const blob = new Blob([typeof data === "string" ? data : new Uint8Array(data)], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const outputNpy = (o: DecodedOutput): Uint8Array => encodeNpy(o.raw);
export const outputJson = (o: DecodedOutput): string => JSON.stringify({ dtype: o.raw.dtype, dims: o.raw.dims, data: o.exact });
