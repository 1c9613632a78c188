/**
 * Conversion between what SDK users hold (typed arrays, number arrays, nested arrays, strings) and
 * Stun's tensor wire form. The byte-level codec (little-endian raw bytes, base64, .npy) is the one
 * in @stun/shared; this module only decides dtype and dims and checks every value fits its dtype.
 */
import {
  DTYPE_BYTES,
  DTYPES,
  MAX_RANK,
  TYPED_ARRAY_BY_DTYPE,
  float32ToFloat16,
  fromTypedArray,
  tensorFromJson,
  tensorToJson,
  toTypedArray,
  validateDims,
  elementCount,
  validateRawTensor,
  type Dtype,
  StunError,
  type RawTensor,
  type Tensor,
  type TensorDataByDtype,
  type TensorJson,
  type TypedArray,
} from "@stun/shared";
import { StunApiError } from "./errors";

export type { RawTensor, Tensor, TypedArray } from "@stun/shared";

/** One element as a caller may give it (64-bit integers may also be decimal strings). */
export type Scalar = number | bigint | boolean | string;
/** A flat or nested (row-major) JavaScript array of scalars; nesting gives the dims. */
export type NestedArray = readonly (Scalar | NestedArray)[];

/**
 * A tensor as the SDK accepts it:
 * - `data` a typed array: dtype defaults to the array's own (Float32Array → float32, BigInt64Array →
 *   int64, …), dims to `[length]`. A Uint16Array with dtype `float16` is taken as raw half bit
 *   patterns (onnxruntime's convention); a float array with dtype `float16` is converted.
 * - `data` a Uint8Array with a dtype other than uint8/bool: the tensor's raw little-endian bytes
 *   (a {@link RawTensor}).
 * - `data` a JS array, flat or nested: dims default to the nesting; dtype defaults to `string` for
 *   strings, `bool` for booleans, `int64` for bigints and `float32` for numbers.
 * - `data` a string: base64 of the raw bytes, exactly as on the wire (dtype and dims required).
 */
export interface TensorInit {
  dtype?: Dtype;
  dims?: readonly number[];
  data: TypedArray | NestedArray | string;
}

/** Anything `submitTask` takes as an input: a {@link TensorInit}, or just its `data`. */
export type TensorInput = TensorInit | TypedArray | NestedArray;

/** The typed view of each dtype, as onnxruntime takes it (float16 as raw bit patterns, bool as 0/1 bytes). */
export type DtypeArrays = TensorDataByDtype;

const invalid = (message: string): StunApiError => new StunApiError(0, "TENSOR_INVALID", message);

const INT_RANGES: Partial<Record<Dtype, readonly [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};
const BIG_RANGES: Partial<Record<Dtype, readonly [bigint, bigint]>> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

export const isDtype = (v: unknown): v is Dtype => typeof v === "string" && (DTYPES as readonly string[]).includes(v);

export function isTypedArray(v: unknown): v is TypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof Uint8ClampedArray);
}

/** The dtype a typed array stands for when no dtype is given (Uint16Array is uint16, never float16). */
export function dtypeOfTypedArray(a: TypedArray): Exclude<Dtype, "string" | "bool" | "float16"> {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Int16Array) return "int16";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Uint8Array) return "uint8";
  if (a instanceof Uint16Array) return "uint16";
  if (a instanceof Uint32Array) return "uint32";
  if (a instanceof BigUint64Array) return "uint64";
  throw invalid(`unsupported typed array ${(a as object).constructor.name}`);
}

/** Flattens a (possibly nested) array, row-major, and returns its shape; rejects ragged arrays. */
export function flattenNested(data: NestedArray): { values: Scalar[]; shape: number[] } {
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  if (shape.length > MAX_RANK) throw invalid(`nested array has rank ${shape.length}; at most ${MAX_RANK} dims are allowed`);
  const values: Scalar[] = [];
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) throw invalid(`ragged nested array: ${path} is an array, expected a value`);
      values.push(node as Scalar);
      return;
    }
    if (!Array.isArray(node)) throw invalid(`ragged nested array: ${path} is a value, expected an array of ${shape[depth]}`);
    if (node.length !== shape[depth]) {
      throw invalid(`ragged nested array: ${path} has ${node.length} elements, expected ${shape[depth]}`);
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(data, 0, "data");
  return { values, shape };
}

const sizeMismatch = (message: string): StunApiError => new StunApiError(0, "INPUT_SIZE_MISMATCH", message);

function checkDims(dims: readonly number[], name: string): number[] {
  codec(() => validateDims(dims, name));
  return [...dims];
}

function describe(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}

/** Converts one element to what the dtype's typed array holds, or throws TENSOR_INVALID. */
function convertScalar(dtype: Exclude<Dtype, "string">, v: unknown, index: number): number | bigint {
  const bad = (why: string) => invalid(`element ${index} (${describe(v)}) ${why} for dtype ${dtype}`);
  switch (dtype) {
    case "float32":
    case "float64":
    case "float16": {
      if (typeof v === "number") return dtype === "float16" ? float32ToFloat16(v) : v;
      if (typeof v === "bigint") return dtype === "float16" ? float32ToFloat16(Number(v)) : Number(v);
      throw bad("is not a number");
    }
    case "bool": {
      if (typeof v === "boolean") return v ? 1 : 0;
      if (v === 0 || v === 1) return v;
      if (v === 0n || v === 1n) return Number(v);
      throw bad("is not a boolean (true/false or 0/1)");
    }
    case "int64":
    case "uint64": {
      let b: bigint;
      if (typeof v === "bigint") b = v;
      else if (typeof v === "number") {
        if (!Number.isInteger(v)) throw bad("is not an integer");
        if (!Number.isSafeInteger(v)) throw bad("is beyond 2^53 as a number; pass a bigint or a decimal string");
        b = BigInt(v);
      } else if (typeof v === "string" && /^-?\d+$/.test(v)) b = BigInt(v);
      else throw bad("is not an integer");
      const [lo, hi] = BIG_RANGES[dtype]!;
      if (b < lo || b > hi) throw bad("is out of range");
      return b;
    }
    default: {
      let n: number;
      if (typeof v === "number") n = v;
      else if (typeof v === "bigint") n = Number(v);
      else throw bad("is not an integer");
      if (!Number.isInteger(n)) throw bad("is not an integer");
      const [lo, hi] = INT_RANGES[dtype]!;
      if (n < lo || n > hi) throw bad(`is out of range [${lo}, ${hi}]`);
      return n;
    }
  }
}

/** Builds the dtype's typed array (or string[]) from a list of JS values, checking each. */
export function valuesToArray<D extends Dtype>(dtype: D, values: ArrayLike<unknown>): DtypeArrays[D] {
  if (dtype === "string") {
    const out: string[] = new Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== "string") throw invalid(`element ${i} (${describe(v)}) is not a string for dtype string`);
      out[i] = v;
    }
    return out as DtypeArrays[D];
  }
  const d = dtype as Exclude<Dtype, "string">;
  const out = new TYPED_ARRAY_BY_DTYPE[d](values.length);
  for (let i = 0; i < values.length; i++) (out as unknown as (number | bigint)[])[i] = convertScalar(d, values[i], i);
  return out as DtypeArrays[D];
}

/** A typed array already in the dtype's representation, or undefined when it must be converted. */
function nativeFor(dtype: Dtype, a: TypedArray): TypedArray | undefined {
  if (dtype === "string") return undefined;
  if (dtype === "float16") return a instanceof Uint16Array ? a : undefined;
  if (dtype === "bool") {
    if (!(a instanceof Uint8Array)) return undefined;
    for (let i = 0; i < a.length; i++) {
      if (a[i]! > 1) throw invalid(`element ${i} (${a[i]}) is not a boolean (0/1) for dtype bool`);
    }
    return a;
  }
  return dtypeOfTypedArray(a) === dtype ? a : undefined;
}

function defaultDtypeFor(values: readonly Scalar[]): Dtype {
  const first = values[0];
  if (typeof first === "string") return "string";
  if (typeof first === "boolean") return "bool";
  if (typeof first === "bigint") return "int64";
  return "float32";
}

const isTensorInit = (v: TensorInput): v is TensorInit => typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && "data" in v;

export interface ToRawOptions {
  /** The dtype for a plain JS array that does not say (e.g. the dtype the model declares). */
  fallbackDtype?: Dtype;
  /** The tensor's name, for error messages. */
  name?: string;
}

/**
 * Converts any {@link TensorInput} to the codec's RawTensor (dtype, dims, little-endian bytes or
 * strings), checking every value fits the dtype. Throws StunApiError (status 0) TENSOR_INVALID or
 * INPUT_SIZE_MISMATCH.
 */
export function toRawTensor(input: TensorInput, options: ToRawOptions = {}): RawTensor {
  const name = options.name ?? "tensor";
  try {
    return convert(input, name, options.fallbackDtype);
  } catch (e) {
    if (e instanceof StunApiError && !e.message.startsWith(`tensor "`)) {
      throw new StunApiError(e.status, e.code, `tensor "${name}": ${e.message}`, e.details ? { details: e.details } : undefined);
    }
    throw e;
  }
}

function convert(input: TensorInput, name: string, fallbackDtype: Dtype | undefined): RawTensor {
  const init: TensorInit = isTensorInit(input) ? input : { data: input };
  if (init.dtype !== undefined && !isDtype(init.dtype)) {
    throw invalid(`unknown dtype ${JSON.stringify(init.dtype)}; expected one of ${DTYPES.join(", ")}`);
  }
  const { data } = init;

  if (typeof data === "string") {
    if (init.dtype === undefined || init.dims === undefined) throw invalid("base64 data needs an explicit dtype and dims");
    return fromWire({ dtype: init.dtype, dims: checkDims(init.dims, name), data }, name);
  }

  if (isTypedArray(data)) {
    const dtype = init.dtype ?? dtypeOfTypedArray(data);
    // Raw little-endian bytes of a wider dtype.
    if (data instanceof Uint8Array && dtype !== "uint8" && dtype !== "bool") {
      if (dtype === "string") throw invalid("dtype string takes an array of strings, not bytes");
      const width = DTYPE_BYTES[dtype];
      if (data.byteLength % width !== 0) {
        throw invalid(`${data.byteLength} raw bytes is not a whole number of ${dtype} elements (${width} bytes each)`);
      }
      const count = data.byteLength / width;
      const dims = init.dims === undefined ? [count] : checkDims(init.dims, name);
      if (elementCount(dims) !== count) {
        throw sizeMismatch(`dims ${JSON.stringify(dims)} hold ${elementCount(dims)} elements but the raw data holds ${count} ${dtype} elements`);
      }
      const raw: RawTensor = { dtype, dims, data: data.slice() };
      return codec(() => (validateRawTensor(raw, name), raw));
    }
    const dims = init.dims === undefined ? [data.length] : checkDims(init.dims, name);
    if (elementCount(dims) !== data.length) {
      throw sizeMismatch(`dims ${JSON.stringify(dims)} hold ${elementCount(dims)} elements but the data has ${data.length}`);
    }
    const native = nativeFor(dtype, data);
    const typed = native ?? valuesToArray(dtype, Array.from(data as ArrayLike<number | bigint>));
    return codec(() => fromTypedArray({ dtype, dims, data: typed } as Tensor, name));
  }

  if (!Array.isArray(data)) {
    throw invalid("tensor data must be a typed array, an array (flat or nested) or a base64 string");
  }
  const { values, shape } = flattenNested(data as NestedArray);
  const dtype = init.dtype ?? fallbackDtype ?? defaultDtypeFor(values);
  let dims: number[];
  if (init.dims === undefined) dims = shape;
  else {
    dims = checkDims(init.dims, name);
    // A flat array with explicit dims is reshaped; a nested one must agree with them.
    if (shape.length > 1 && JSON.stringify(shape) !== JSON.stringify(dims) && elementCount(dims) === values.length) {
      throw invalid(`nested data has shape ${JSON.stringify(shape)} but dims say ${JSON.stringify(dims)}`);
    }
  }
  if (elementCount(dims) !== values.length) {
    throw sizeMismatch(`dims ${JSON.stringify(dims)} hold ${elementCount(dims)} elements but the data has ${values.length}`);
  }
  const typed = valuesToArray(dtype, values);
  return codec(() => fromTypedArray({ dtype, dims, data: typed } as Tensor, name));
}

/** Converts an input to its JSON wire form (base64 of the raw bytes, or strings). */
export function toTensorJson(input: TensorInput, options: ToRawOptions = {}): TensorJson {
  return tensorToJson(toRawTensor(input, options));
}

/** Runs a codec call, turning its StunError (TENSOR_INVALID, INPUT_SIZE_MISMATCH) into a StunApiError. */
function codec<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof StunError) throw new StunApiError(0, e.code, e.message, e.details ? { details: e.details } : undefined);
    throw invalid(e instanceof Error ? e.message : String(e));
  }
}

/** Decodes a wire tensor to raw bytes (validated). */
export const fromWire = (json: TensorJson, name = "tensor"): RawTensor => codec(() => tensorFromJson(json, name));

/** Decodes a raw tensor to its typed view (a fresh copy). */
export const toTensor = (raw: RawTensor, name = "tensor"): Tensor => codec(() => toTypedArray(raw, name));

/** Decodes a wire tensor (as in TaskView.outputs) to its typed view. */
export const decodeTensor = (json: TensorJson, name = "tensor"): Tensor => toTensor(fromWire(json, name), name);
