/**
 * Reads what the zkML compiler needs from an ONNX file (onnx-proto, the protobufjs bindings the
 * rest of Stun uses): the graph's nodes, constant tensors (initializers and Constant nodes) as
 * float64 arrays, and the shapes of its inputs and outputs.
 */
import { createHash } from "node:crypto";
import onnxProto from "onnx-proto";
import { ZkmlModelError } from "./errors";

// onnx-proto is CommonJS (`module.exports = $root`): its namespace is a property of the default export.
const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

export type OnnxNode = onnxProto.onnx.INodeProto;
export type OnnxTensor = onnxProto.onnx.ITensorProto;

/** A constant tensor: dims and values (row-major), every dtype widened to float64. */
export interface ConstTensor {
  dims: number[];
  data: Float64Array;
}

export interface GraphValue {
  name: string;
  /** Dimensions; symbolic ones (a batch "N") are strings. */
  shape: (number | string)[];
  elemType: number;
}

export interface DecodedModel {
  sha256: string;
  opset: number;
  nodes: OnnxNode[];
  /** Initializers (and, once the compiler has seen them, Constant nodes' values). */
  constants: Map<string, ConstTensor>;
  /** Graph inputs that are not initializers. */
  inputs: GraphValue[];
  outputs: GraphValue[];
}

type LongLike = number | { toString(): string };
const num = (v: LongLike | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === "number" ? v : Number(v.toString()));

export function decodeModel(bytes: Uint8Array): DecodedModel {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ZkmlModelError(`not an ONNX model: ${(e as Error).message}`);
  }
  const graph = model.graph;
  if (!graph || !model.irVersion) throw new ZkmlModelError("not an ONNX model: no graph or IR version");
  const constants = new Map<string, ConstTensor>();
  for (const t of graph.initializer ?? []) constants.set(t.name ?? "", tensorToConst(t));
  const value = (v: onnxProto.onnx.IValueInfoProto): GraphValue => {
    const tt = v.type?.tensorType;
    return {
      name: v.name ?? "",
      elemType: tt?.elemType ?? 0,
      shape: (tt?.shape?.dim ?? []).map((d, i) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? num(d.dimValue) : `${v.name}_dim${i}`)),
    };
  };
  return {
    sha256: createHash("sha256").update(bytes).digest("hex"),
    opset: Math.max(0, ...(model.opsetImport ?? []).filter((o) => !o.domain || o.domain === "ai.onnx").map((o) => num(o.version))),
    nodes: graph.node ?? [],
    constants,
    inputs: (graph.input ?? []).filter((v) => !constants.has(v.name ?? "")).map(value),
    outputs: (graph.output ?? []).map(value),
  };
}

function float16ToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** A TensorProto's values as float64 (float, double, float16, int8–64, uint8–32, bool). */
export function tensorToConst(t: OnnxTensor): ConstTensor {
  const dims = (t.dims ?? []).map(num);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const out = new Float64Array(count);
  const fromRaw = (size: number, read: (dv: DataView, off: number) => number): Float64Array => {
    if (!view || view.byteLength < count * size) throw new ZkmlModelError(`tensor "${t.name}" has ${view?.byteLength ?? 0} bytes of data for ${count} values`);
    for (let i = 0; i < count; i++) out[i] = read(view, i * size);
    return out;
  };
  const fromList = (list: readonly LongLike[] | null | undefined): Float64Array => {
    const l = list ?? [];
    if (l.length < count) throw new ZkmlModelError(`tensor "${t.name}" has ${l.length} values, its dims say ${count}`);
    for (let i = 0; i < count; i++) out[i] = num(l[i]);
    return out;
  };
  switch (t.dataType) {
    case DT.FLOAT:
      return { dims, data: raw ? fromRaw(4, (d, o) => d.getFloat32(o, true)) : fromList(t.floatData) };
    case DT.DOUBLE:
      return { dims, data: raw ? fromRaw(8, (d, o) => d.getFloat64(o, true)) : fromList(t.doubleData) };
    case DT.FLOAT16:
      return { dims, data: raw ? fromRaw(2, (d, o) => float16ToFloat(d.getUint16(o, true))) : fromList((t.int32Data ?? []).map((v) => float16ToFloat(num(v)))) };
    case DT.INT64:
      return { dims, data: raw ? fromRaw(8, (d, o) => Number(d.getBigInt64(o, true))) : fromList(t.int64Data) };
    case DT.INT32:
      return { dims, data: raw ? fromRaw(4, (d, o) => d.getInt32(o, true)) : fromList(t.int32Data) };
    case DT.INT16:
      return { dims, data: raw ? fromRaw(2, (d, o) => d.getInt16(o, true)) : fromList(t.int32Data) };
    case DT.INT8:
      return { dims, data: raw ? fromRaw(1, (d, o) => d.getInt8(o)) : fromList(t.int32Data) };
    case DT.UINT8:
    case DT.BOOL:
      return { dims, data: raw ? fromRaw(1, (d, o) => d.getUint8(o)) : fromList(t.int32Data) };
    case DT.UINT16:
      return { dims, data: raw ? fromRaw(2, (d, o) => d.getUint16(o, true)) : fromList(t.int32Data) };
    case DT.UINT32:
      return { dims, data: raw ? fromRaw(4, (d, o) => d.getUint32(o, true)) : fromList(t.uint64Data) };
    default:
      throw new ZkmlModelError(`tensor "${t.name}" has data type ${t.dataType}, which the zkML compiler cannot read`);
  }
}

/** A node attribute by name, decoded (ints as numbers, strings as text), or undefined. */
export function attribute(node: OnnxNode, name: string): number | number[] | string | ConstTensor | undefined {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  if (!a) return undefined;
  const AT = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case AT.INT:
      return num(a.i);
    case AT.FLOAT:
      return a.f ?? 0;
    case AT.INTS:
      return (a.ints ?? []).map(num);
    case AT.FLOATS:
      return [...(a.floats ?? [])];
    case AT.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case AT.TENSOR:
      return a.t ? tensorToConst(a.t) : undefined;
    default:
      return undefined;
  }
}

export const ELEM_FLOAT = DT.FLOAT;
export const ELEM_DOUBLE = DT.DOUBLE;
export const ELEM_FLOAT16 = DT.FLOAT16;
