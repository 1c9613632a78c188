/**
 * One binary format for a whole map of tensors, used both to store a map as one blob and as the
 * canonical bytes that output/input digests hash (callers apply sha256 themselves).
 *
 * Layout (all integers little-endian; version 1):
 *
 *     "STNT" | u8 version | u32 count
 *     per tensor, names sorted by their UTF-8 bytes:
 *       u32 nameLength | name (UTF-8) | u8 dtypeCode | u8 rank | rank × u32 dim
 *       fixed-size dtypes: the raw bytes (length implied by dtype and dims)
 *       string: per element u32 byteLength | UTF-8 bytes
 *
 * The encoding is a function of the tensors' values only (not of key order or of how the bytes
 * sit in memory), so equal maps serialize to equal bytes.
 */
import { utf8Decoder, utf8Encoder } from "./bytes";
import { DTYPE_BYTES, type Dtype } from "./dtypes";
import { StunError } from "./errors";
import { MAX_RANK } from "./schemas/common";
import { elementCount, validateDims, validateRawTensor, type RawTensor } from "./tensor";

export const TENSOR_CONTAINER_MAGIC = "STNT";
export const TENSOR_CONTAINER_VERSION = 1;

/** Stable on-disk dtype codes (independent of the order of DTYPES). */
const DTYPE_CODE: Record<Dtype, number> = {
  float32: 1,
  float16: 2,
  float64: 3,
  int8: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  uint8: 8,
  uint16: 9,
  uint32: 10,
  uint64: 11,
  bool: 12,
  string: 13,
};
const DTYPE_BY_CODE = new Map(Object.entries(DTYPE_CODE).map(([d, c]) => [c, d as Dtype]));
const MAGIC = utf8Encoder.encode(TENSOR_CONTAINER_MAGIC);
const HEADER_BYTES = MAGIC.length + 1 + 4;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Serializes (after validating every tensor) a map into the container format above. */
export function serializeTensorMap(map: Record<string, RawTensor>): Uint8Array {
  const entries = Object.entries(map).map(([name, t]) => {
    validateRawTensor(t, name);
    const strings = Array.isArray(t.data) ? t.data.map((s) => utf8Encoder.encode(s)) : undefined;
    return { nameBytes: utf8Encoder.encode(name), t, strings };
  });
  entries.sort((a, b) => compareBytes(a.nameBytes, b.nameBytes));

  let size = HEADER_BYTES;
  for (const e of entries) {
    size += 4 + e.nameBytes.length + 2 + 4 * e.t.dims.length;
    size += e.strings ? e.strings.reduce((n, s) => n + 4 + s.length, 0) : (e.t.data as Uint8Array).length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  let o = MAGIC.length;
  out[o++] = TENSOR_CONTAINER_VERSION;
  view.setUint32(o, entries.length, true);
  o += 4;
  const putBytes = (bytes: Uint8Array, withLength: boolean) => {
    if (withLength) {
      view.setUint32(o, bytes.length, true);
      o += 4;
    }
    out.set(bytes, o);
    o += bytes.length;
  };
  for (const { nameBytes, t, strings } of entries) {
    putBytes(nameBytes, true);
    out[o++] = DTYPE_CODE[t.dtype];
    out[o++] = t.dims.length;
    for (const d of t.dims) {
      view.setUint32(o, d, true);
      o += 4;
    }
    if (strings) for (const s of strings) putBytes(s, true);
    else putBytes(t.data as Uint8Array, false);
  }
  return out;
}

/**
 * The canonical bytes of a tensor map, for digests: the container encoding, which is already
 * deterministic (sorted names, fixed integer widths, raw little-endian data).
 */
export const canonicalTensorMapBytes: (map: Record<string, RawTensor>) => Uint8Array = serializeTensorMap;

/**
 * Parses a container back into a map. Fixed-size tensors' data are views into `bytes` (no copy).
 * Throws TENSOR_INVALID on a wrong magic or version, truncation, trailing bytes, an unknown dtype,
 * duplicate names, invalid UTF-8, or a tensor that fails {@link validateRawTensor}.
 */
export function deserializeTensorMap(bytes: Uint8Array): Record<string, RawTensor> {
  const fail = (why: string): never => {
    throw new StunError("TENSOR_INVALID", `tensor container: ${why}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  const need = (n: number, what: string) => {
    if (o + n > bytes.length) fail(`truncated (${what} needs ${n} bytes at offset ${o}, ${bytes.length - o} left)`);
  };
  const u8 = (what: string) => {
    need(1, what);
    return bytes[o++]!;
  };
  const u32 = (what: string) => {
    need(4, what);
    const v = view.getUint32(o, true);
    o += 4;
    return v;
  };
  const take = (n: number, what: string) => {
    need(n, what);
    o += n;
    return bytes.subarray(o - n, o);
  };
  const text = (b: Uint8Array, what: string) => {
    try {
      return utf8Decoder.decode(b);
    } catch {
      return fail(`${what} is not valid UTF-8`);
    }
  };

  need(HEADER_BYTES, "the header");
  if (compareBytes(bytes.subarray(0, MAGIC.length), MAGIC) !== 0) fail(`not a Stun tensor container (no "${TENSOR_CONTAINER_MAGIC}" magic)`);
  o = MAGIC.length;
  const version = u8("the version");
  if (version !== TENSOR_CONTAINER_VERSION) fail(`unsupported version ${version}`);
  const count = u32("the tensor count");
  const entries: Array<[string, RawTensor]> = [];
  const seen = new Set<string>();
  for (let k = 0; k < count; k++) {
    const name = text(take(u32(`tensor ${k}'s name length`), `tensor ${k}'s name`), `tensor ${k}'s name`);
    if (seen.has(name)) fail(`duplicate tensor "${name}"`);
    seen.add(name);
    const code = u8(`tensor "${name}"'s dtype`);
    const dtype = DTYPE_BY_CODE.get(code) ?? fail(`tensor "${name}": unknown dtype code ${code}`);
    const rank = u8(`tensor "${name}"'s rank`);
    if (rank > MAX_RANK) fail(`tensor "${name}": rank ${rank} exceeds ${MAX_RANK}`);
    const dims = Array.from({ length: rank }, () => u32(`tensor "${name}"'s dims`));
    validateDims(dims, name);
    const count = elementCount(dims);
    let data: Uint8Array | string[];
    if (dtype === "string") {
      data = [];
      for (let i = 0; i < count; i++) {
        const what = `tensor "${name}" string ${i}`;
        data.push(text(take(u32(what), what), what));
      }
    } else {
      data = take(count * DTYPE_BYTES[dtype], `tensor "${name}"'s data`);
    }
    const raw: RawTensor = { dtype, dims, data };
    validateRawTensor(raw, name);
    entries.push([name, raw]);
  }
  if (o !== bytes.length) fail(`${bytes.length - o} unexpected trailing bytes`);
  return Object.fromEntries(entries);
}
