/**
 * Finds ONNX tensors whose data lives in an external file (`TensorProto.data_location = EXTERNAL`
 * or a non-empty `external_data`). onnxruntime resolves such a tensor's relative `location` against
 * the process's working directory and reads that file into the tensor, so a model that carries one
 * can make a provider or the server read its own disk. Models must be refused before any session
 * is created from them.
 *
 * One pass over the protobuf wire format, descending only into the messages that can hold a
 * tensor; nothing is decoded into objects. Field numbers are those of onnx.proto (checked against
 * the `onnx-proto` package; `FunctionProto.attribute_proto = 11` is upstream onnx.proto ≥ 1.13,
 * which onnxruntime reads and onnx-proto 8 lacks):
 *
 * - ModelProto: graph 7, training_info 20, functions 25
 * - TrainingInfoProto: initialization 1, algorithm 2 (GraphProto)
 * - GraphProto: node 1, initializer 5, sparse_initializer 15
 * - FunctionProto: node 7, attribute_proto 11
 * - NodeProto: attribute 5
 * - AttributeProto: t 5, g 6, tensors 10, graphs 11, sparse_tensor 22, sparse_tensors 23
 * - SparseTensorProto: values 1, indices 2 (TensorProto)
 * - TensorProto: name 8, external_data 13 (StringStringEntryProto: key 1, value 2), data_location 14
 *
 * Browser-safe and total: any input gives a result, never an exception.
 */

export type ExternalDataScan =
  | { kind: "clean" }
  /** `where` names the tensor's place in the model; `location` is the file it names, when it names one. */
  | { kind: "external"; where: string; location?: string }
  /** Not a well-formed protobuf message (or nested deeper than a protobuf parser accepts). */
  | { kind: "malformed"; reason: string };

/** protobuf's default recursion limit (C++ and protobufjs): onnxruntime parses nothing deeper. */
export const MAX_MESSAGE_DEPTH = 100;

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
const DATA_LOCATION_EXTERNAL = 1;

class Malformed extends Error {}

interface Field {
  number: number;
  wire: number;
  /** WIRE_VARINT: the value (exact up to 2^53); otherwise unused. */
  value: number;
  /** WIRE_LEN: the payload's bounds. */
  start: number;
  end: number;
}

/** Reads the fields of one message in `bytes[start, end)`, in order. */
function* fields(bytes: Uint8Array, start: number, end: number): Generator<Field> {
  let pos = start;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new Malformed("truncated varint");
      const b = bytes[pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new Malformed("varint longer than 10 bytes");
  };
  while (pos < end) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wire = key % 8;
    if (number === 0) throw new Malformed("field number 0");
    if (wire === WIRE_VARINT) {
      yield { number, wire, value: varint(), start: 0, end: 0 };
    } else if (wire === WIRE_LEN) {
      const length = varint();
      if (length > end - pos) throw new Malformed("length past the end of its message");
      yield { number, wire, value: 0, start: pos, end: pos + length };
      pos += length;
    } else if (wire === WIRE_I64 || wire === WIRE_I32) {
      pos += wire === WIRE_I64 ? 8 : 4;
      if (pos > end) throw new Malformed("truncated fixed-width field");
    } else {
      throw new Malformed(`unsupported wire type ${wire}`); // groups (3, 4) never occur in ONNX; 6, 7 are invalid
    }
  }
}

const decoder = new TextDecoder("utf-8", { fatal: false });
/** A string field, shortened and stripped of control characters (it goes into error messages). */
function text(bytes: Uint8Array, f: Field): string {
  const s = decoder.decode(bytes.subarray(f.start, Math.min(f.end, f.start + 200)));
  return s.replace(/[\u0000-\u001f\u007f]/g, "?");
}

/** The first string field `number` of a message (its name), for the path of a finding; undefined if none or unreadable. */
function stringField(bytes: Uint8Array, start: number, end: number, number: number): string | undefined {
  try {
    for (const f of fields(bytes, start, end)) if (f.number === number && f.wire === WIRE_LEN) return text(bytes, f);
  } catch {
    // a malformed tail after the finding: the finding stands, unnamed
  }
  return undefined;
}

interface Found {
  /** Path segments from the tensor up (reversed at the end). */
  path: string[];
  location?: string;
}

type Walker = (bytes: Uint8Array, start: number, end: number, depth: number) => Found | undefined;

/** A field to descend into: its label in paths, its walker, and the field number of the child's own name. */
type Child = { label: string; walk: Walker; nameField?: number; singular?: true };

/** Walks each length-delimited field of a message that `children` names; the first finding ends the walk. */
function walkChildren(children: Record<number, Child>): Walker {
  return (bytes, start, end, depth) => {
    if (depth > MAX_MESSAGE_DEPTH) throw new Malformed(`nested deeper than ${MAX_MESSAGE_DEPTH} messages`);
    const counts = new Map<number, number>();
    for (const f of fields(bytes, start, end)) {
      const child = children[f.number];
      if (!child || f.wire !== WIRE_LEN) continue;
      const index = counts.get(f.number) ?? 0;
      counts.set(f.number, index + 1);
      const found = child.walk(bytes, f.start, f.end, depth + 1);
      if (found) {
        const name = child.nameField === undefined ? undefined : stringField(bytes, f.start, f.end, child.nameField);
        found.path.push(`${child.label}${child.singular ? "" : `[${index}]`}${name ? ` "${name}"` : ""}`);
        return found;
      }
    }
    return undefined;
  };
}

const tensor: Walker = (bytes, start, end) => {
  let external = false;
  let location: string | undefined;
  for (const f of fields(bytes, start, end)) {
    if (f.number === 14 && f.wire === WIRE_VARINT && f.value === DATA_LOCATION_EXTERNAL) external = true;
    if (f.number === 13 && f.wire === WIRE_LEN) {
      external = true;
      let key: string | undefined;
      let value: string | undefined;
      for (const e of fields(bytes, f.start, f.end)) {
        if (e.wire !== WIRE_LEN) continue;
        if (e.number === 1) key = text(bytes, e);
        if (e.number === 2) value = text(bytes, e);
      }
      if (key === "location" && value !== undefined) location ??= value;
    }
  }
  return external ? { path: [], ...(location !== undefined ? { location } : {}) } : undefined;
};

// Graphs and attributes contain each other (If/Loop/Scan subgraphs): late-bound references.
let graphWalker: Walker = () => undefined;
let attributeWalker: Walker = () => undefined;
const graph: Walker = (b, s, e, d) => graphWalker(b, s, e, d);
const attribute: Walker = (b, s, e, d) => attributeWalker(b, s, e, d);

const TENSOR_NAME = 8;
const sparseTensor = walkChildren({ 1: { label: "values", singular: true, walk: tensor, nameField: TENSOR_NAME }, 2: { label: "indices", singular: true, walk: tensor, nameField: TENSOR_NAME } });
const node = walkChildren({ 5: { label: "attribute", walk: attribute, nameField: 1 } });
attributeWalker = walkChildren({
  5: { label: "t", singular: true, walk: tensor, nameField: TENSOR_NAME },
  6: { label: "g", singular: true, walk: graph },
  10: { label: "tensors", walk: tensor, nameField: TENSOR_NAME },
  11: { label: "graphs", walk: graph },
  22: { label: "sparse_tensor", singular: true, walk: sparseTensor },
  23: { label: "sparse_tensors", walk: sparseTensor },
});
graphWalker = walkChildren({
  1: { label: "node", walk: node, nameField: 3 },
  5: { label: "initializer", walk: tensor, nameField: TENSOR_NAME },
  15: { label: "sparse_initializer", walk: sparseTensor },
});
const trainingInfo = walkChildren({ 1: { label: "initialization", singular: true, walk: graph }, 2: { label: "algorithm", singular: true, walk: graph } });
const fn = walkChildren({ 7: { label: "node", walk: node, nameField: 3 }, 11: { label: "attribute_proto", walk: attribute, nameField: 1 } });
const model = walkChildren({
  7: { label: "graph", singular: true, walk: graph },
  20: { label: "training_info", walk: trainingInfo },
  25: { label: "functions", walk: fn, nameField: 1 },
});

/** Scans an ONNX model for tensors with external data (see the module comment). */
export function scanOnnxExternalData(bytes: Uint8Array): ExternalDataScan {
  try {
    const found = model(bytes, 0, bytes.length, 0);
    if (!found) return { kind: "clean" };
    return { kind: "external", where: found.path.reverse().join("."), ...(found.location !== undefined ? { location: found.location } : {}) };
  } catch (e) {
    if (e instanceof Malformed) return { kind: "malformed", reason: e.message };
    // Anything else (a stack overflow on hostile nesting despite the bound) is still an answer, not a throw.
    return { kind: "malformed", reason: e instanceof Error ? e.message : String(e) };
  }
}

function externalDataMessage(scan: Extract<ExternalDataScan, { kind: "external" }>): string {
  const file = scan.location !== undefined ? ` (location "${scan.location}")` : "";
  return `the model keeps tensor data in an external file${file} at ${scan.where}; only self-contained models are accepted (save it with its weights embedded, e.g. onnx.save(model, path, save_as_external_data=False))`;
}

/** Why a model must not reach onnxruntime: external data, or bytes a protobuf parser would not read as ONNX. */
export interface ModelRefusal {
  code: "MODEL_EXTERNAL_DATA" | "MODEL_INVALID";
  message: string;
}

/**
 * The one check every runner makes before creating a session (server upload and reference runs,
 * native agent, browser agent): undefined when the model is self-contained.
 */
export function externalDataRefusal(bytes: Uint8Array): ModelRefusal | undefined {
  const scan = scanOnnxExternalData(bytes);
  if (scan.kind === "clean") return undefined;
  if (scan.kind === "external") return { code: "MODEL_EXTERNAL_DATA", message: externalDataMessage(scan) };
  return { code: "MODEL_INVALID", message: `not an ONNX model: ${scan.reason}` };
}
