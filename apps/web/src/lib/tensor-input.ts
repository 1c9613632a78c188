/**
 * Turning what a requester types, drops or picks into input tensors for a model's signature:
 * numbers or (nested) JSON arrays, `.npy` files, and images for image-shaped inputs. Everything
 * ends as a {@link RawTensor} (little-endian bytes) checked against the signature with the same
 * function the server uses, so most mistakes are caught before anything is sent.
 */
import { StunError, TYPED_ARRAY_BY_DTYPE, elementCount, float32ToFloat16, fromTypedArray, parseNpy, type Dtype, type RawTensor, type Tensor, type TensorInfo, type TypedArray } from "@stun/shared";
import { formatShape } from "./format";

type Scalar = number | string | boolean | bigint;
type Nested = Scalar | Nested[];

const fail = (code: string, message: string): never => {
  throw new StunError(code as never, message);
};

/** A dimension the signature leaves open: a named symbol, "" or a negative number. */
export const isFreeDim = (d: number | string): boolean => typeof d === "string" || d < 0;

// ---- parsing text ------------------------------------------------------------------------------

/** Reads a JSON value, keeping integers too large for a double exact (int64 inputs). */
function parseJsonExact(text: string): Nested {
  // Quote bare integers of 16+ digits so JSON.parse keeps their digits as strings.
  const quoted = text.replace(/(?<=[[,\s])(-?\d{16,})(?=\s*[\],])/g, '"$1"');
  return JSON.parse(quoted) as Nested;
}

/** The dims of a rectangular nested array and its values in row-major order. */
function flattenNested(value: Nested, name: string): { dims: number[]; values: Scalar[] } {
  const dims: number[] = [];
  let probe: Nested = value;
  while (Array.isArray(probe)) {
    dims.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0]!;
  }
  const values: Scalar[] = [];
  const walk = (v: Nested, depth: number, where: string) => {
    if (depth === dims.length) {
      if (Array.isArray(v)) fail("INPUT_SHAPE_MISMATCH", `${name}: ${where} is a list where a value was expected (the array is not rectangular)`);
      values.push(v as Scalar);
      return;
    }
    if (!Array.isArray(v) || v.length !== dims[depth]) {
      fail("INPUT_SHAPE_MISMATCH", `${name}: the array is not rectangular (${where} should have ${dims[depth]} entries)`);
    }
    (v as Nested[]).forEach((item, i) => walk(item, depth + 1, `${where}[${i}]`));
  };
  walk(value, 0, name);
  return { dims, values };
}

/**
 * Fills a signature's shape with `count` values: fixed dims as given, dims bound earlier (by
 * another input) as bound, and one remaining free dim from the count.
 */
export function resolveDims(info: TensorInfo, count: number, bound: ReadonlyMap<string, number> = new Map()): number[] {
  const dims: Array<number | undefined> = info.shape.map((d) => (typeof d === "number" ? (d >= 0 ? d : undefined) : d !== "" && bound.has(d) ? bound.get(d) : undefined));
  const open = dims.flatMap((d, i) => (d === undefined ? [i] : []));
  const known = dims.reduce<number>((p, d) => p * (d ?? 1), 1);
  const shape = formatShape(info.shape);
  if (open.length === 0) {
    if (count !== known) fail("INPUT_SIZE_MISMATCH", `${info.name}: ${count} value${count === 1 ? "" : "s"} given, but shape ${shape} needs ${known}`);
    return dims as number[];
  }
  if (open.length > 1) {
    fail("INPUT_SHAPE_MISMATCH", `${info.name}: shape ${shape} has ${open.length} open dimensions, so a flat list is ambiguous; give a nested JSON array (e.g. ${example(info, 2)})`);
  }
  if (known === 0 || count % known !== 0 || count === 0) {
    fail("INPUT_SIZE_MISMATCH", `${info.name}: ${count} value${count === 1 ? "" : "s"} do not fill shape ${shape}: give a multiple of ${known}`);
  }
  dims[open[0]!] = count / known;
  return dims as number[];
}

const INT_RANGE: Partial<Record<Dtype, [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};

function toNumber(v: Scalar, name: string, i: number): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "bigint") return Number(v);
  const t = v.trim();
  const n = /^[-+]?(inf|infinity)$/i.test(t) ? (t.startsWith("-") ? -Infinity : Infinity) : /^nan$/i.test(t) ? NaN : t === "" ? NaN : Number(t);
  if (Number.isNaN(n) && !/^nan$/i.test(t)) fail("TENSOR_INVALID", `${name}: value ${i + 1} ("${v}") is not a number`);
  return n;
}

/** Values (numbers, numeric strings, booleans) as a tensor of `dtype`; range-checked for integers. */
export function valuesToTensor(dtype: Dtype, dims: number[], values: Scalar[], name: string): RawTensor {
  if (dtype === "string") return fromTypedArray({ dtype, dims, data: values.map(String) } as Tensor, name);
  if (dtype === "int64" || dtype === "uint64") {
    const data = dtype === "int64" ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
    const [lo, hi] = dtype === "int64" ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    values.forEach((v, i) => {
      let b: bigint;
      try {
        b = typeof v === "bigint" ? v : typeof v === "boolean" ? BigInt(v ? 1 : 0) : BigInt(typeof v === "string" ? v.trim() : v);
      } catch {
        return fail("TENSOR_INVALID", `${name}: value ${i + 1} ("${String(v)}") is not an integer (${dtype})`);
      }
      if (b < lo || b > hi) fail("TENSOR_INVALID", `${name}: value ${i + 1} (${b}) is out of range for ${dtype}`);
      data[i] = b;
    });
    return fromTypedArray({ dtype, dims, data } as Tensor, name);
  }
  const nums = values.map((v, i) => toNumber(v, name, i));
  if (dtype === "bool") {
    const data = new Uint8Array(nums.length);
    nums.forEach((n, i) => {
      if (n !== 0 && n !== 1) fail("TENSOR_INVALID", `${name}: value ${i + 1} (${values[i]}) is not a boolean (true/false or 1/0)`);
      data[i] = n;
    });
    return fromTypedArray({ dtype, dims, data }, name);
  }
  if (dtype === "float16") return fromTypedArray({ dtype, dims, data: Uint16Array.from(nums, float32ToFloat16) }, name);
  if (dtype === "float32" || dtype === "float64") {
    return fromTypedArray({ dtype, dims, data: dtype === "float32" ? Float32Array.from(nums) : Float64Array.from(nums) } as Tensor, name);
  }
  const [lo, hi] = INT_RANGE[dtype]!;
  nums.forEach((n, i) => {
    if (!Number.isInteger(n)) fail("TENSOR_INVALID", `${name}: value ${i + 1} (${values[i]}) is not an integer (${dtype})`);
    if (n < lo || n > hi) fail("TENSOR_INVALID", `${name}: value ${i + 1} (${n}) is out of range for ${dtype} (${lo}…${hi})`);
  });
  const data = new TYPED_ARRAY_BY_DTYPE[dtype](nums.length) as Exclude<TypedArray, BigInt64Array | BigUint64Array>;
  data.set(nums);
  return fromTypedArray({ dtype, dims, data } as Tensor, name);
}

/**
 * Parses typed values for one input: a (nested) JSON array — nested as deep as the input's rank
 * gives the dims directly — or numbers separated by commas, spaces or new lines (one string per
 * line for string inputs), which fill the signature's shape.
 */
export function parseTextInput(info: TensorInfo, text: string, bound: ReadonlyMap<string, number> = new Map()): RawTensor {
  const trimmed = text.trim();
  if (!trimmed) return fail("INPUT_MISSING", `${info.name}: enter values (e.g. ${example(info, 1)})`);
  let dims: number[];
  let values: Scalar[];
  if (trimmed.startsWith("[")) {
    let parsed: Nested;
    try {
      parsed = parseJsonExact(trimmed);
    } catch (e) {
      return fail("TENSOR_INVALID", `${info.name}: not a valid JSON array (${(e as Error).message})`);
    }
    const flat = flattenNested(parsed, info.name);
    if (flat.dims.length === info.shape.length && info.shape.length > 1) {
      dims = flat.dims;
    } else if (flat.dims.length === 1) {
      dims = resolveDims(info, flat.values.length, bound);
    } else {
      return fail("INPUT_SHAPE_MISMATCH", `${info.name}: the array is nested ${flat.dims.length} deep (${formatShape(flat.dims)}) but shape ${formatShape(info.shape)} has rank ${info.shape.length}`);
    }
    values = flat.values;
  } else {
    values = info.dtype === "string" ? trimmed.split(/\r?\n/) : trimmed.split(/[\s,;]+/).filter(Boolean);
    dims = resolveDims(info, values.length, bound);
  }
  return valuesToTensor(info.dtype, dims, values, info.name);
}

// ---- .npy files --------------------------------------------------------------------------------

/** A `.npy` file as an input tensor (dtype and rank checked here; the rest with the other inputs). */
export async function npyToTensor(info: TensorInfo, file: Blob): Promise<RawTensor> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const raw = parseNpy(bytes);
  if (raw.dtype !== info.dtype) fail("INPUT_DTYPE_MISMATCH", `${info.name}: the file holds ${raw.dtype}, the model wants ${info.dtype}`);
  if (raw.dims.length !== info.shape.length) {
    fail("INPUT_SHAPE_MISMATCH", `${info.name}: the file's shape ${formatShape(raw.dims)} has rank ${raw.dims.length}, the model wants ${formatShape(info.shape)}`);
  }
  return raw;
}

// ---- images ------------------------------------------------------------------------------------

export interface ImageLayout {
  layout: "NCHW" | "NHWC";
  height: number;
  width: number;
  /** float32: 0..1 per channel; uint8: 0..255. */
  dtype: "float32" | "uint8";
}

/** Default side for an image input whose height/width are open. */
export const DEFAULT_IMAGE_SIDE = 224;

/** [1,3,H,W] or [1,H,W,3] (batch 1 or open), float32 or uint8: an RGB image input. */
export function imageLayout(info: TensorInfo): ImageLayout | undefined {
  if (info.dtype !== "float32" && info.dtype !== "uint8") return undefined;
  if (info.shape.length !== 4) return undefined;
  const [n, a, b, c] = info.shape as [number | string, number | string, number | string, number | string];
  if (!(n === 1 || isFreeDim(n))) return undefined;
  const side = (d: number | string) => (typeof d === "number" && d > 0 ? d : isFreeDim(d) ? DEFAULT_IMAGE_SIDE : 0);
  if (a === 3 && side(b) && side(c)) return { layout: "NCHW", height: side(b), width: side(c), dtype: info.dtype };
  if (c === 3 && side(a) && side(b)) return { layout: "NHWC", height: side(a), width: side(b), dtype: info.dtype };
  return undefined;
}

/** RGBA pixels (canvas ImageData order) → an NCHW/NHWC tensor of the layout's dtype. */
export function pixelsToTensor(rgba: Uint8ClampedArray, l: ImageLayout, name: string): RawTensor {
  const { height: h, width: w } = l;
  const n = h * w;
  const out = l.dtype === "float32" ? new Float32Array(3 * n) : new Uint8Array(3 * n);
  const scale = l.dtype === "float32" ? 1 / 255 : 1;
  for (let p = 0; p < n; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = rgba[p * 4 + ch]! * scale;
      out[l.layout === "NCHW" ? ch * n + p : p * 3 + ch] = v;
    }
  }
  const dims = l.layout === "NCHW" ? [1, 3, h, w] : [1, h, w, 3];
  return fromTypedArray({ dtype: l.dtype, dims, data: out } as Tensor, name);
}

/** Decodes an image file, resizes it to the layout's size on a canvas, and converts it. */
export async function imageToTensor(file: Blob, l: ImageLayout, name: string): Promise<{ tensor: RawTensor; preview: string }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return fail("TENSOR_INVALID", `${name}: the file is not an image this browser can decode`);
  }
  const canvas = document.createElement("canvas");
  canvas.width = l.width;
  canvas.height = l.height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) return fail("UNAVAILABLE", "this browser has no 2D canvas");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, l.width, l.height);
  bitmap.close();
  const { data } = ctx.getImageData(0, 0, l.width, l.height);
  return { tensor: pixelsToTensor(data, l, name), preview: canvas.toDataURL("image/png") };
}

// ---- examples ----------------------------------------------------------------------------------

/** A short example for a placeholder: the shape with open dims as 1, nested, truncated. */
export function example(info: TensorInfo, limit = 4): string {
  const dims = info.shape.map((d) => (typeof d === "number" && d >= 0 ? d : 1));
  const sample = (i: number) => (info.dtype === "string" ? `"a"` : info.dtype === "bool" ? (i % 2 ? "true" : "false") : info.dtype.startsWith("float") ? String((i + 1) / 10) : String(i + 1));
  let i = 0;
  const build = (depth: number): string => {
    if (depth === dims.length) return sample(i++);
    const n = dims[depth]!;
    const items = Array.from({ length: Math.min(n, limit) }, () => build(depth + 1));
    return `[${items.join(", ")}${n > limit ? ", …" : ""}]`;
  };
  return dims.length === 0 ? sample(0) : build(0);
}

/** Random example values for the whole shape (open dims as 1), as JSON text; undefined if too large. */
export function randomExample(info: TensorInfo, maxElements = 4096): string | undefined {
  const dims = info.shape.map((d) => (typeof d === "number" && d >= 0 ? d : 1));
  const count = elementCount(dims);
  if (count > maxElements) return undefined;
  const value = () => {
    const r = Math.random();
    if (info.dtype === "string") return `"s${Math.floor(r * 100)}"`;
    if (info.dtype === "bool") return r < 0.5 ? "false" : "true";
    if (info.dtype.startsWith("float")) return (r * 2 - 1).toFixed(3);
    if (info.dtype.startsWith("uint")) return String(Math.floor(r * 10));
    return String(Math.floor(r * 21) - 10);
  };
  const build = (depth: number): string => (depth === dims.length ? value() : `[${Array.from({ length: dims[depth]! }, () => build(depth + 1)).join(", ")}]`);
  return dims.length === 0 ? value() : build(0);
}
