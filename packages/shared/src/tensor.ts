/**
 * The tensor codec. Two shapes of one tensor:
 *
 * - {@link RawTensor}: the wire/storage form — little-endian bytes in a Uint8Array (bool one byte
 *   per element, 0 or 1), or a string[] for `string`. Byte views may sit at any offset.
 * - {@link Tensor}: the decoded form — the typed array `new ort.Tensor(dtype, data, dims)` accepts
 *   (float16 as its Uint16Array bit patterns, bool as a Uint8Array, int64 as a BigInt64Array).
 *
 * Everything here is pure and host-independent (works on big-endian hosts and in browsers).
 */
import { decodeBase64, encodeBase64 } from "./base64";
import { HOST_IS_LITTLE_ENDIAN, copyBytes, hasLoneSurrogate, swapBytesInPlace } from "./bytes";
import { DTYPE_BYTES, DTYPES, type Dtype } from "./dtypes";
import { StunError } from "./errors";
import { MAX_RANK, type TensorInfo, type TensorJson, type TensorMapJson } from "./schemas/common";
import { TYPED_ARRAY_BY_DTYPE, type TypedArray } from "./typed-arrays";

/** Every dtype but `string`: those with a fixed number of bytes per element. */
export type FixedDtype = Exclude<Dtype, "string">;

/** Largest element count a tensor may have (2^28 ≈ 268M; 1 GiB of float32). */
export const MAX_ELEMENTS = 2 ** 28;

export interface RawTensor {
  dtype: Dtype;
  dims: number[];
  data: Uint8Array | string[];
}

/** The decoded data type onnxruntime expects for each dtype. */
export interface TensorDataByDtype {
  float32: Float32Array;
  float16: Uint16Array;
  float64: Float64Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
  string: string[];
}

/** A decoded tensor; the union narrows `data` by `dtype`. */
export type Tensor<D extends Dtype = Dtype> = { [K in D]: { dtype: K; dims: number[]; data: TensorDataByDtype[K] } }[D];

const isDtype = (d: unknown): d is Dtype => typeof d === "string" && (DTYPES as readonly string[]).includes(d);

const formatDims = (dims: readonly unknown[]): string => `[${dims.map((d) => JSON.stringify(d)).join(", ")}]`;

/** Product of the dimensions (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Bytes the raw encoding of a fixed-size tensor takes. Throws TENSOR_INVALID for `string`. */
export function expectedByteLength(dtype: Dtype, dims: readonly number[]): number {
  if (dtype === "string") throw new StunError("TENSOR_INVALID", "string tensors have no fixed byte length");
  return elementCount(dims) * DTYPE_BYTES[dtype];
}

/** Checks dims: integers ≥ 0, rank ≤ MAX_RANK, at most MAX_ELEMENTS elements. */
export function validateDims(dims: unknown, name: string): asserts dims is number[] {
  if (!Array.isArray(dims)) throw new StunError("TENSOR_INVALID", `tensor "${name}": dims must be an array of integers`);
  if (dims.length > MAX_RANK) {
    throw new StunError("TENSOR_INVALID", `tensor "${name}": rank ${dims.length} exceeds the maximum of ${MAX_RANK}`);
  }
  for (const [i, d] of dims.entries()) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      throw new StunError("TENSOR_INVALID", `tensor "${name}": dimension ${i} is ${JSON.stringify(d)}; dims must be non-negative integers`);
    }
  }
  // Each dim is checked too, so a zero elsewhere cannot hide a huge one (containers store dims as u32).
  if (elementCount(dims) > MAX_ELEMENTS || dims.some((d) => d > MAX_ELEMENTS)) {
    throw new StunError("TENSOR_INVALID", `tensor "${name}": shape ${formatDims(dims)} exceeds the limit of ${MAX_ELEMENTS} elements`);
  }
}

/**
 * Checks that a raw tensor is self-consistent: known dtype, valid dims, data of the right kind and
 * size, bool bytes 0/1, strings well-formed. Throws StunError TENSOR_INVALID, or
 * INPUT_SIZE_MISMATCH when the data's length does not match the dims.
 */
export function validateRawTensor(t: RawTensor, name: string): void {
  if (typeof t !== "object" || t === null) throw new StunError("TENSOR_INVALID", `tensor "${name}" must be an object`);
  if (!isDtype(t.dtype)) throw new StunError("TENSOR_INVALID", `tensor "${name}": unknown dtype ${JSON.stringify(t.dtype)}`);
  validateDims(t.dims, name);
  const count = elementCount(t.dims);
  const shape = `${t.dtype} ${formatDims(t.dims)}`;
  if (t.dtype === "string") {
    if (!Array.isArray(t.data)) throw new StunError("TENSOR_INVALID", `tensor "${name}": string data must be an array of strings`);
    if (t.data.length !== count) {
      throw new StunError("INPUT_SIZE_MISMATCH", `tensor "${name}": ${shape} needs ${count} strings, got ${t.data.length}`);
    }
    for (const [i, s] of t.data.entries()) {
      if (typeof s !== "string") throw new StunError("TENSOR_INVALID", `tensor "${name}": element ${i} is not a string`);
      if (hasLoneSurrogate(s)) {
        throw new StunError("TENSOR_INVALID", `tensor "${name}": element ${i} is not well-formed Unicode (lone surrogate)`);
      }
    }
    return;
  }
  if (!(t.data instanceof Uint8Array)) throw new StunError("TENSOR_INVALID", `tensor "${name}": data must be bytes (a Uint8Array)`);
  const expected = count * DTYPE_BYTES[t.dtype];
  if (t.data.byteLength !== expected) {
    throw new StunError("INPUT_SIZE_MISMATCH", `tensor "${name}": ${shape} needs ${expected} bytes, got ${t.data.byteLength}`);
  }
  if (t.dtype === "bool") {
    const bad = t.data.findIndex((b) => b > 1);
    if (bad >= 0) throw new StunError("TENSOR_INVALID", `tensor "${name}": bool element ${bad} is ${t.data[bad]}; bools must be 0 or 1`);
  }
}

/**
 * Decodes a raw tensor (validated first) into a fresh, aligned typed array — always a copy, so the
 * result never aliases the input and unaligned views are fine.
 */
export function toTypedArray(raw: RawTensor, name = "tensor"): Tensor {
  validateRawTensor(raw, name);
  const dims = [...raw.dims];
  if (raw.dtype === "string") return { dtype: "string", dims, data: [...(raw.data as string[])] };
  const copy = copyBytes(raw.data as Uint8Array); // new buffer at offset 0: aligned for any width
  const width = DTYPE_BYTES[raw.dtype];
  if (!HOST_IS_LITTLE_ENDIAN) swapBytesInPlace(copy, width);
  const data = new TYPED_ARRAY_BY_DTYPE[raw.dtype](copy.buffer, 0, copy.byteLength / width);
  return { dtype: raw.dtype, dims, data } as Tensor;
}

/**
 * Encodes a decoded tensor as raw little-endian bytes. On little-endian hosts the bytes are a view
 * of `t.data`'s memory (no copy); strings are copied. Throws TENSOR_INVALID when the data's type
 * does not fit the dtype, INPUT_SIZE_MISMATCH when its length does not fit the dims.
 */
export function fromTypedArray(t: Tensor, name = "tensor"): RawTensor {
  if (!isDtype(t.dtype)) throw new StunError("TENSOR_INVALID", `tensor "${name}": unknown dtype ${JSON.stringify(t.dtype)}`);
  validateDims(t.dims, name);
  const dims = [...t.dims];
  if (t.dtype === "string") {
    const raw: RawTensor = { dtype: "string", dims, data: Array.isArray(t.data) ? [...t.data] : (t.data as never) };
    validateRawTensor(raw, name);
    return raw;
  }
  const Ctor = TYPED_ARRAY_BY_DTYPE[t.dtype];
  const data = t.data as TypedArray;
  if (!(data instanceof Ctor)) {
    throw new StunError("TENSOR_INVALID", `tensor "${name}": ${t.dtype} data must be a ${Ctor.name}, got ${describe(t.data)}`);
  }
  let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (!HOST_IS_LITTLE_ENDIAN) bytes = swapBytesInPlace(copyBytes(bytes), DTYPE_BYTES[t.dtype]);
  const raw: RawTensor = { dtype: t.dtype, dims, data: bytes };
  validateRawTensor(raw, name);
  return raw;
}

const describe = (v: unknown): string => (v === null ? "null" : typeof v === "object" ? ((v as object).constructor?.name ?? "object") : typeof v);

/** Parses a JSON tensor (base64 bytes or strings) and validates it. Throws TENSOR_INVALID / INPUT_SIZE_MISMATCH. */
export function tensorFromJson(json: TensorJson, name: string): RawTensor {
  if (typeof json !== "object" || json === null) throw new StunError("TENSOR_INVALID", `tensor "${name}" must be an object`);
  if (!isDtype(json.dtype)) throw new StunError("TENSOR_INVALID", `tensor "${name}": unknown dtype ${JSON.stringify(json.dtype)}`);
  validateDims(json.dims, name);
  let data: Uint8Array | string[];
  if (json.dtype === "string") {
    if (!Array.isArray(json.data)) throw new StunError("TENSOR_INVALID", `tensor "${name}": string tensors carry data as an array of strings`);
    data = [...json.data];
  } else {
    if (typeof json.data !== "string") {
      throw new StunError("TENSOR_INVALID", `tensor "${name}": ${json.dtype} data must be a base64 string of little-endian bytes`);
    }
    try {
      data = decodeBase64(json.data);
    } catch (e) {
      throw new StunError("TENSOR_INVALID", `tensor "${name}": data is not valid base64 (${(e as Error).message})`);
    }
  }
  const raw: RawTensor = { dtype: json.dtype, dims: [...json.dims], data };
  validateRawTensor(raw, name);
  return raw;
}

/** Encodes a raw tensor as JSON (base64 bytes, or the strings). */
export function tensorToJson(raw: RawTensor): TensorJson {
  return {
    dtype: raw.dtype,
    dims: [...raw.dims],
    data: Array.isArray(raw.data) ? [...raw.data] : encodeBase64(raw.data),
  };
}

/** {@link tensorFromJson} over a whole map (own keys only; "__proto__" is just a name). */
export function tensorMapFromJson(map: TensorMapJson): Record<string, RawTensor> {
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new StunError("TENSOR_INVALID", "tensors must be an object mapping names to tensors");
  }
  return Object.fromEntries(Object.entries(map).map(([name, json]) => [name, tensorFromJson(json, name)]));
}

/** {@link tensorToJson} over a whole map. */
export function tensorMapToJson(map: Record<string, RawTensor>): TensorMapJson {
  return Object.fromEntries(Object.entries(map).map(([name, raw]) => [name, tensorToJson(raw)]));
}

const formatSignature = (info: TensorInfo): string => `${info.dtype} ${formatDims(info.shape)}`;

/**
 * Checks a request's inputs against a model's input signature. Each tensor is validated, then:
 * INPUT_UNKNOWN for a name the model does not have, INPUT_MISSING for a model input not given,
 * INPUT_DTYPE_MISMATCH, and INPUT_SHAPE_MISMATCH when the rank differs or a fixed dimension
 * differs. Negative numeric dims and "" accept any size; a named symbolic dim (e.g. "batch")
 * accepts any size but must bind to the same size everywhere it appears, across all inputs.
 */
export function validateInputsAgainstSignature(inputs: Record<string, RawTensor>, signature: readonly TensorInfo[]): void {
  const known = new Set(signature.map((s) => s.name));
  for (const name of Object.keys(inputs)) {
    if (!known.has(name)) {
      const list = signature.map((s) => JSON.stringify(s.name)).join(", ") || "none";
      throw new StunError("INPUT_UNKNOWN", `input "${name}" is not an input of this model (its inputs: ${list})`);
    }
  }
  const bound = new Map<string, { size: number; input: string }>();
  for (const info of signature) {
    const t = Object.hasOwn(inputs, info.name) ? inputs[info.name] : undefined;
    if (!t) throw new StunError("INPUT_MISSING", `input "${info.name}" is missing (expected ${formatSignature(info)})`);
    validateRawTensor(t, info.name);
    if (t.dtype !== info.dtype) {
      throw new StunError("INPUT_DTYPE_MISMATCH", `input "${info.name}": expected dtype ${info.dtype}, got ${t.dtype}`);
    }
    const mismatch = (why: string) => new StunError("INPUT_SHAPE_MISMATCH", `input "${info.name}": expected shape ${formatDims(info.shape)}, got ${formatDims(t.dims)} (${why})`);
    if (t.dims.length !== info.shape.length) throw mismatch(`rank ${t.dims.length} instead of ${info.shape.length}`);
    info.shape.forEach((want, i) => {
      const got = t.dims[i]!;
      if (typeof want === "number") {
        if (want >= 0 && got !== want) throw mismatch(`dimension ${i} is ${got}, not ${want}`);
      } else if (want !== "") {
        const prior = bound.get(want);
        if (!prior) bound.set(want, { size: got, input: info.name });
        else if (prior.size !== got) {
          const where = prior.input === info.name ? "earlier in this input" : `by input "${prior.input}"`;
          throw mismatch(`dimension ${i} "${want}" is ${got}, but "${want}" was bound to ${prior.size} ${where}`);
        }
      }
    });
  }
}
