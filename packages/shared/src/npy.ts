/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) ⇄ {@link RawTensor}.
 *
 * Supported dtypes: f2 f4 f8, i1 i2 i4 i8, u1 u2 u4 u8, b1 and unicode `U<n>` (→ string tensor),
 * either byte order (big-endian data is converted to little-endian). C order only: Fortran-order
 * arrays, structured/record dtypes, object arrays (pickles) and other kinds are rejected with
 * TENSOR_INVALID. Unicode elements lose trailing NUL characters, as they do in NumPy itself.
 * The native-order mark "=" is read as little-endian (NumPy itself always writes "<" or ">").
 */
import { copyBytes, swapBytesInPlace, utf8Decoder } from "./bytes";
import { DTYPE_BYTES, type Dtype } from "./dtypes";
import { StunError } from "./errors";
import { elementCount, validateDims, validateRawTensor, type FixedDtype, type RawTensor } from "./tensor";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** NumPy pads the preamble + header to a multiple of this. */
const HEADER_ALIGN = 64;

const NPY_KIND: Record<FixedDtype, string> = {
  float16: "f2",
  float32: "f4",
  float64: "f8",
  int8: "i1",
  int16: "i2",
  int32: "i4",
  int64: "i8",
  uint8: "u1",
  uint16: "u2",
  uint32: "u4",
  uint64: "u8",
  bool: "b1",
};
const DTYPE_BY_KIND = new Map(Object.entries(NPY_KIND).map(([d, k]) => [k, d as FixedDtype]));

const fail = (why: string): never => {
  throw new StunError("TENSOR_INVALID", `.npy: ${why}`);
};

// ---- parsing ---------------------------------------------------------------------------------

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

/** A tiny parser for the Python literal the header holds (dict, tuple, list, str, int, True/False/None). */
function parsePyLiteral(src: string): PyValue {
  let i = 0;
  const skip = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const expect = (ch: string) => {
    skip();
    if (src[i] !== ch) fail(`malformed header: expected '${ch}' at ${i} in ${JSON.stringify(src)}`);
    i++;
  };
  const sequence = <T>(close: string, item: () => T): T[] => {
    const out: T[] = [];
    for (;;) {
      skip();
      if (src[i] === close) break;
      out.push(item());
      skip();
      if (src[i] === ",") i++;
      else if (src[i] !== close) fail(`malformed header: expected ',' or '${close}' at ${i}`);
    }
    i++;
    return out;
  };
  const value = (): PyValue => {
    skip();
    const ch = src[i];
    if (ch === "{") {
      i++;
      return new Map(
        sequence("}", () => {
          const key = value();
          if (typeof key !== "string") fail("malformed header: dict keys must be strings");
          expect(":");
          return [key as string, value()] as const;
        }),
      );
    }
    if (ch === "(" || ch === "[") {
      i++;
      return sequence(ch === "(" ? ")" : "]", value);
    }
    if (ch === "'" || ch === '"') {
      const end = src.indexOf(ch, i + 1);
      if (end < 0) fail("malformed header: unterminated string");
      const s = src.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const word = /^(True|False|None|-?\d+L?)/.exec(src.slice(i))?.[0] ?? fail(`malformed header at ${i}: ${JSON.stringify(src.slice(i, i + 20))}`);
    i += word.length;
    return word === "True" ? true : word === "False" ? false : word === "None" ? null : Number.parseInt(word, 10);
  };
  const v = value();
  skip();
  if (i !== src.length) fail(`malformed header: unexpected text after the dict at ${i}`);
  return v;
}

interface NpyDescr {
  dtype: Dtype;
  bigEndian: boolean;
  /** Bytes per element (for `U<n>`, 4·n). */
  itemBytes: number;
}

function parseDescr(descr: PyValue): NpyDescr {
  if (typeof descr !== "string") fail("structured (record) dtypes are not supported");
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr as string);
  if (!m) return fail(`unsupported dtype ${JSON.stringify(descr)}`);
  const [, order, kind, size] = m as unknown as [string, string, string, string];
  const bigEndian = order === ">";
  if (kind === "U") {
    const chars = Number(size);
    return { dtype: "string", bigEndian, itemBytes: 4 * chars };
  }
  const dtype = DTYPE_BY_KIND.get(kind + size);
  if (!dtype) {
    return fail(`unsupported dtype ${JSON.stringify(descr)} (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 U<n>)`);
  }
  if (order === "|" && DTYPE_BYTES[dtype] > 1) fail(`dtype ${JSON.stringify(descr)} has no byte order`);
  return { dtype, bigEndian, itemBytes: DTYPE_BYTES[dtype] };
}

const latin1 = (bytes: Uint8Array): string => {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
};

/** Parses a `.npy` file into a raw tensor. Little-endian numeric data is a view into `bytes`. */
export function parseNpy(bytes: Uint8Array): RawTensor {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail("not a NumPy .npy file (bad magic)");
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`unsupported format version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major > 1 && bytes.length < 12) fail("truncated header");
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLength > bytes.length) fail("truncated header");
  const headerBytes = bytes.subarray(start, start + headerLength);
  let header: string;
  try {
    header = major === 3 ? utf8Decoder.decode(headerBytes) : latin1(headerBytes);
  } catch {
    return fail("the version 3 header is not valid UTF-8");
  }

  const dict = parsePyLiteral(header.trim());
  if (!(dict instanceof Map)) return fail("header is not a dict");
  const { dtype, bigEndian, itemBytes } = parseDescr(dict.get("descr") ?? fail("header has no 'descr'"));
  const fortran = dict.get("fortran_order");
  if (fortran === true) fail("Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray)");
  if (fortran !== false) fail("header has no valid 'fortran_order'");
  const shape = dict.get("shape");
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number")) fail("header has no valid 'shape' tuple");
  const dims = shape as number[];
  validateDims(dims, "npy");

  const body = bytes.subarray(start + headerLength);
  const count = elementCount(dims);
  const expected = count * itemBytes;
  if (body.length !== expected) fail(`data is ${body.length} bytes, expected ${expected} for ${dict.get("descr")} ${JSON.stringify(dims)}`);

  let data: Uint8Array | string[];
  if (dtype === "string") data = decodeUnicode(body, count, itemBytes / 4, bigEndian);
  else data = bigEndian ? swapBytesInPlace(copyBytes(body), DTYPE_BYTES[dtype]) : body;
  const raw: RawTensor = { dtype, dims, data };
  validateRawTensor(raw, "npy");
  return raw;
}

/** NumPy `U<n>`: n UTF-32 code units per element, NUL-padded at the end. */
function decodeUnicode(body: Uint8Array, count: number, chars: number, bigEndian: boolean): string[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: string[] = [];
  for (let e = 0; e < count; e++) {
    const base = e * chars * 4;
    let len = chars;
    while (len > 0 && view.getUint32(base + (len - 1) * 4, !bigEndian) === 0) len--;
    const points: number[] = [];
    for (let c = 0; c < len; c++) {
      const cp = view.getUint32(base + c * 4, !bigEndian);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail(`element ${e} holds an invalid code point 0x${cp.toString(16)}`);
      points.push(cp);
    }
    out.push(points.map((cp) => String.fromCodePoint(cp)).join(""));
  }
  return out;
}

// ---- encoding --------------------------------------------------------------------------------

/** Encodes a raw tensor as a `.npy` file (version 1.0); strings as `<U<longest string in code points>`. */
export function encodeNpy(raw: RawTensor): Uint8Array {
  validateRawTensor(raw, "npy");
  let descr: string;
  let body: Uint8Array;
  if (raw.dtype === "string") {
    const points = (raw.data as string[]).map((s) => Array.from(s, (ch) => ch.codePointAt(0)!));
    const chars = points.reduce((m, p) => Math.max(m, p.length), 1);
    descr = `<U${chars}`;
    body = new Uint8Array(points.length * chars * 4);
    const view = new DataView(body.buffer);
    points.forEach((p, e) => p.forEach((cp, c) => view.setUint32((e * chars + c) * 4, cp, true)));
  } else {
    descr = `${DTYPE_BYTES[raw.dtype] === 1 ? "|" : "<"}${NPY_KIND[raw.dtype]}`;
    body = raw.data as Uint8Array;
  }
  const shape = raw.dims.length === 1 ? `(${raw.dims[0]},)` : `(${raw.dims.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Version 1.0 (u16 header length) always suffices: rank ≤ 8 keeps the header under 200 bytes.
  const preamble = 10;
  const total = Math.ceil((preamble + dict.length + 1) / HEADER_ALIGN) * HEADER_ALIGN;
  const header = `${dict.padEnd(total - preamble - 1, " ")}\n`;

  const out = new Uint8Array(total + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[preamble + i] = header.charCodeAt(i);
  out.set(body, total);
  return out;
}
