/**
 * Wire tensors (raw little-endian bytes, or string[]) ⇄ onnxruntime tensors, for onnxruntime-node
 * and onnxruntime-web alike (both take the onnxruntime-common Tensor API, passed in as `ort`, so
 * this module loads neither). No copy where the bytes allow it: an aligned input becomes a
 * typed-array view of the received buffer and an output goes back as a Uint8Array view of the
 * tensor's own memory. This is the providers' hot path, so it is written here rather than through
 * @stun/shared's `toTypedArray` (which always copies); it shares @stun/shared's dtype → typed array
 * table, so the rules are the same: bool is one byte 0/1, float16 travels as its bit patterns
 * (Uint16Array), int64/uint64 as BigInt64/BigUint64 arrays. socket.io delivers binary attachments
 * as Buffers (Node) or ArrayBuffers (browsers); both are accepted.
 */
import { DTYPE_BYTES, DTYPES, HOST_IS_LITTLE_ENDIAN, MAX_RANK, TYPED_ARRAY_BY_DTYPE, swapBytesInPlace, type Dtype, type TypedArray, type WireTensor } from "@stun/shared";
import { ProviderError } from "./errors";

/** What this module needs of an onnxruntime tensor. */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** What this module needs of an onnxruntime module: its Tensor constructor. */
export interface OrtTensorModule<T extends OrtTensorLike> {
  // `any`: onnxruntime's overloads tie the data type to the dtype, which is only known at run time here
  Tensor: new (
    type: any,
    data: any,
    dims: readonly number[],
  ) => T;
}

const invalid = (name: string, why: string) => new ProviderError("INPUT_INVALID", `input "${name}": ${why}`);

/** A wire tensor as an ort.Tensor; throws ProviderError INPUT_INVALID when it is malformed. */
export function wireToOrt<T extends OrtTensorLike>(ort: OrtTensorModule<T>, name: string, t: WireTensor): T {
  const { dtype, dims } = t;
  if (!(DTYPES as readonly string[]).includes(dtype)) throw invalid(name, `unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(dims) || dims.length > MAX_RANK || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw invalid(name, `dims must be at most ${MAX_RANK} non-negative integers`);
  }
  let count = 1;
  for (const d of dims) count *= d;
  if (dtype === "string") {
    if (!Array.isArray(t.data) || !t.data.every((s) => typeof s === "string")) throw invalid(name, "string data must be an array of strings");
    if (t.data.length !== count) throw invalid(name, `string [${dims.join(",")}] needs ${count} strings, got ${t.data.length}`);
    return new ort.Tensor("string", t.data, dims);
  }
  const raw: unknown = t.data;
  const bytes = raw instanceof Uint8Array ? raw : raw instanceof ArrayBuffer ? new Uint8Array(raw) : undefined;
  if (!bytes) throw invalid(name, "data must be bytes");
  const width = DTYPE_BYTES[dtype];
  if (bytes.byteLength !== count * width) throw invalid(name, `${dtype} [${dims.join(",")}] needs ${count * width} bytes, got ${bytes.byteLength}`);
  if (dtype === "bool") {
    for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 1) throw invalid(name, `bool element ${i} is ${bytes[i]}; bools are 0 or 1`);
  }
  let data: TypedArray;
  if (HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % width === 0) {
    data = new TYPED_ARRAY_BY_DTYPE[dtype](bytes.buffer, bytes.byteOffset, count);
  } else {
    const copy = new Uint8Array(bytes); // a real copy at offset 0 (Buffer#slice would be a view)
    if (!HOST_IS_LITTLE_ENDIAN) swapBytesInPlace(copy, width);
    data = new TYPED_ARRAY_BY_DTYPE[dtype](copy.buffer, 0, count);
  }
  // onnxruntime calls bool tensors' data a Uint8Array, like Stun's wire format.
  return new ort.Tensor(dtype, data, dims);
}

/** An ort output as a wire tensor: a Uint8Array view of the tensor's bytes (no copy), or string[]. */
export function ortToWire(name: string, t: OrtTensorLike): WireTensor {
  const dtype = t.type as Dtype;
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    throw new ProviderError("RUN_FAILED", `output "${name}" has dtype ${t.type}, which Stun does not carry`);
  }
  const dims = [...t.dims];
  if (dtype === "string") return { dtype, dims, data: t.data as string[] };
  const d = t.data as TypedArray;
  let bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (!HOST_IS_LITTLE_ENDIAN) bytes = swapBytesInPlace(new Uint8Array(bytes), DTYPE_BYTES[dtype]);
  return { dtype, dims, data: bytes };
}
