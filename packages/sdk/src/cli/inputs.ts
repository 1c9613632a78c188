/**
 * `--input NAME=SPEC` for `stun tasks submit`. SPEC is one of
 *   file.npy          a NumPy array (any dtype Stun has; read with the shared .npy codec)
 *   file.json         {"dtype","dims","data":[…]} or a (nested) array of values
 *   @JSON             the same JSON inline, e.g.  x=@[[1,2,3,4]]
 * A file with another extension is read as .npy when it starts with NumPy's magic, else as JSON.
 */
import { readFile } from "node:fs/promises";
import { parseNpy, StunError, type Dtype } from "@stun/shared";
import { StunApiError } from "../errors";
import { isDtype, type NestedArray, type TensorInit } from "../tensors";
import { UsageError } from "./context";

export interface InputSpec {
  name: string;
  /** The JSON text after "@", or the file path as given. */
  value: string;
  inline: boolean;
}

/** Splits "NAME=SPEC" (at the first "="); a malformed spec is a usage error. */
export function parseInputSpec(spec: string): InputSpec {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw new UsageError(`--input ${JSON.stringify(spec)}: expected NAME=FILE.npy, NAME=FILE.json or NAME=@JSON`);
  const name = spec.slice(0, eq);
  const rest = spec.slice(eq + 1);
  if (rest.length === 0) throw new UsageError(`--input ${JSON.stringify(spec)}: nothing after "="`);
  if (rest.startsWith("@")) return { name, value: rest.slice(1), inline: true };
  return { name, value: rest, inline: false };
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const isNpy = (bytes: Uint8Array): boolean => NPY_MAGIC.every((b, i) => bytes[i] === b);

const tensorError = (name: string, where: string, message: string): StunApiError => new StunApiError(0, "TENSOR_INVALID", `input "${name}" (${where}): ${message}`);

/**
 * Reads one input to a TensorInit (a RawTensor for .npy). Its dtype may be missing for JSON arrays;
 * the caller fills it from --dtype or the model's signature.
 */
export async function loadInput(spec: InputSpec, resolvePath: (p: string) => string): Promise<TensorInit> {
  if (spec.inline) {
    let value: unknown;
    try {
      value = JSON.parse(spec.value);
    } catch (e) {
      throw new UsageError(`--input ${spec.name}=@…: not valid JSON (${(e as Error).message})`);
    }
    return jsonToTensorInit(value, spec.name, "inline JSON");
  }
  const path = resolvePath(spec.value);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new StunApiError(0, "FILE_ERROR", `input "${spec.name}": cannot read ${spec.value}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
  }
  const lower = spec.value.toLowerCase();
  if (lower.endsWith(".npy") || (!lower.endsWith(".json") && isNpy(bytes))) {
    try {
      return parseNpy(bytes);
    } catch (e) {
      if (e instanceof StunError) throw new StunApiError(0, e.code, `input "${spec.name}" (${spec.value}): ${e.message}`);
      throw tensorError(spec.name, spec.value, (e as Error).message);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw tensorError(spec.name, spec.value, `not a .npy file nor valid JSON (${(e as Error).message})`);
  }
  return jsonToTensorInit(value, spec.name, spec.value);
}

const TENSOR_KEYS = new Set(["dtype", "dims", "data"]);

/**
 * Interprets a JSON tensor: `{"dtype"?, "dims"?, "data"}` (data a flat or nested array, or base64
 * with dtype and dims), a bare (nested) array, or a single value (a scalar, dims []).
 * 64-bit integers may be given as decimal strings to keep their precision.
 */
export function jsonToTensorInit(value: unknown, name: string, where: string): TensorInit {
  if (Array.isArray(value)) return { data: value as NestedArray };
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "string") return { dims: [], data: [value] };
  if (typeof value !== "object" || value === null) throw tensorError(name, where, 'expected an array, a value or {"dtype","dims","data"}');
  const obj = value as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !TENSOR_KEYS.has(k));
  if (unknown.length > 0) throw tensorError(name, where, `unknown key ${JSON.stringify(unknown[0])} (a tensor has "dtype", "dims" and "data")`);
  if (!("data" in obj)) throw tensorError(name, where, 'missing "data"');
  const init: TensorInit = { data: obj.data as TensorInit["data"] };
  if (obj.dtype !== undefined) {
    if (!isDtype(obj.dtype)) throw tensorError(name, where, `unknown dtype ${JSON.stringify(obj.dtype)}`);
    init.dtype = obj.dtype as Dtype;
  }
  if (obj.dims !== undefined) {
    if (!Array.isArray(obj.dims) || !obj.dims.every((d) => typeof d === "number")) throw tensorError(name, where, '"dims" must be an array of integers');
    init.dims = obj.dims as number[];
  }
  if (!Array.isArray(init.data) && typeof init.data !== "string") throw tensorError(name, where, '"data" must be an array (or base64 with dtype and dims)');
  return init;
}
