/**
 * Wire tensors (raw little-endian bytes, or string[]) ⇄ onnxruntime-node tensors, without copying
 * where the bytes allow it: an aligned input becomes a typed-array view of the received buffer and an
 * output's typed array is sent as a Buffer view of its own memory. This is the provider's hot path,
 * so it is written here rather than through @stun/shared's `toTypedArray` (which always copies);
 * it shares only @stun/shared's dtype → typed array table, so the rules are the same: bool is one
 * byte 0/1, float16 travels as its bit patterns (Uint16Array), int64/uint64 as BigInt64/BigUint64 arrays.
 */
import ort from "onnxruntime-node";
import { DTYPE_BYTES, DTYPES, MAX_RANK, TYPED_ARRAY_BY_DTYPE, type Dtype, type TypedArray, type WireTensor } from "@stun/shared";
import { ProviderError } from "./errors";

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

const invalid = (name: string, why: string) => new ProviderError("INPUT_INVALID", `input "${name}": ${why}`);

/** A wire tensor as an ort.Tensor; throws ProviderError INPUT_INVALID when it is malformed. */
export function wireToOrt(name: string, t: WireTensor): ort.Tensor {
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
  if (bytes.byteLength !== count * width) {
    throw invalid(name, `${dtype} [${dims.join(",")}] needs ${count * width} bytes, got ${bytes.byteLength}`);
  }
  if (dtype === "bool") {
    for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 1) throw invalid(name, `bool element ${i} is ${bytes[i]}; bools are 0 or 1`);
  }
  let data: TypedArray;
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % width === 0) {
    data = new TYPED_ARRAY_BY_DTYPE[dtype](bytes.buffer, bytes.byteOffset, count);
  } else {
    const copy = new Uint8Array(bytes); // a real copy at offset 0 (Buffer#slice would be a view)
    if (!LITTLE_ENDIAN_HOST) swapBytes(copy, width);
    data = new TYPED_ARRAY_BY_DTYPE[dtype](copy.buffer, 0, count);
  }
  return new ort.Tensor(dtype, data as never, dims);
}

/** An ort output as a wire tensor: a Buffer view of the tensor's bytes (no copy), or string[]. */
export function ortToWire(name: string, t: ort.Tensor): WireTensor {
  const dtype = t.type as Dtype;
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    throw new ProviderError("RUN_FAILED", `output "${name}" has dtype ${t.type}, which Stun does not carry`);
  }
  const dims = [...t.dims];
  if (dtype === "string") return { dtype, dims, data: t.data as string[] };
  const d = t.data as TypedArray;
  let bytes = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  if (!LITTLE_ENDIAN_HOST) {
    bytes = Buffer.from(bytes);
    swapBytes(bytes, DTYPE_BYTES[dtype]);
  }
  return { dtype, dims, data: bytes };
}
