/**
 * Wire tensors (raw little-endian bytes, or string[]) ⇄ onnxruntime-web tensors — the browser
 * twin of apps/provider-native/src/ort-tensors.ts, without Node's Buffer. socket.io delivers
 * binary attachments to browsers as ArrayBuffers; results go back as Uint8Array views of the
 * output's own memory (sent as binary attachments, never JSON numbers).
 */
import type * as Ort from "onnxruntime-web";
import { DTYPE_BYTES, DTYPES, HOST_IS_LITTLE_ENDIAN, MAX_RANK, TYPED_ARRAY_BY_DTYPE, swapBytesInPlace, type Dtype, type TypedArray, type WireTensor } from "@stun/shared";
import { ProviderError } from "./errors";

export type OrtModule = typeof Ort;

const invalid = (name: string, why: string) => new ProviderError("INPUT_INVALID", `input "${name}": ${why}`);

/** A wire tensor as an ort.Tensor; throws ProviderError INPUT_INVALID when it is malformed. */
export function wireToOrt(ort: OrtModule, name: string, t: WireTensor): Ort.Tensor {
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
    const copy = new Uint8Array(bytes);
    if (!HOST_IS_LITTLE_ENDIAN) swapBytesInPlace(copy, width);
    data = new TYPED_ARRAY_BY_DTYPE[dtype](copy.buffer, 0, count);
  }
  // onnxruntime-web calls bool tensors' data a Uint8Array, like Stun's wire format.
  return new ort.Tensor(dtype as never, data as never, dims);
}

/** An ort-web output as a wire tensor: a Uint8Array view of the tensor's bytes, or string[]. */
export function ortToWire(name: string, t: Ort.Tensor): WireTensor {
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
