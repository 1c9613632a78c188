/**
 * A small ONNX graph builder on top of onnx-proto (protobufjs): enough to write real models in
 * TypeScript for tests and benchmarks. Models are IR 8, opset 17; initializers carry their weights
 * as `rawData` (little-endian bytes), strings as `stringData`.
 */
import onnxProto from "onnx-proto";
import type { onnx as P } from "onnx-proto";
import { mulberry32, type Dtype, type TypedArray } from "@stun/shared";

// onnx-proto is CommonJS (`module.exports = $root`): its namespace is a property of the default export.
export const onnx = onnxProto.onnx;

export const IR_VERSION = 8;
export const OPSET_VERSION = 17;

/** ONNX TensorProto.DataType for each of Stun's dtypes. */
export const ONNX_DATA_TYPE: Record<Dtype, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int8: onnx.TensorProto.DataType.INT8,
  int16: onnx.TensorProto.DataType.INT16,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  uint8: onnx.TensorProto.DataType.UINT8,
  uint16: onnx.TensorProto.DataType.UINT16,
  uint32: onnx.TensorProto.DataType.UINT32,
  uint64: onnx.TensorProto.DataType.UINT64,
  bool: onnx.TensorProto.DataType.BOOL,
  string: onnx.TensorProto.DataType.STRING,
};

/** A dimension: a fixed size, or a name for a symbolic (dynamic) one such as "N". */
export type Dim = number | string;

/** Typed arrays the builder accepts for initializer data (bool: Uint8Array of 0/1): @stun/shared's `TypedArray`. */
export type NumericArray = TypedArray;

/** Node attributes, with the ONNX attribute type stated explicitly (JS numbers do not tell int from float). */
export type AttrValue = { f: number } | { i: number } | { s: string } | { floats: number[] } | { ints: number[] } | { t: P.ITensorProto } | { g: P.IGraphProto };

export const attr = {
  float: (f: number): AttrValue => ({ f }),
  int: (i: number): AttrValue => ({ i }),
  string: (s: string): AttrValue => ({ s }),
  floats: (floats: number[]): AttrValue => ({ floats }),
  ints: (ints: number[]): AttrValue => ({ ints }),
  tensor: (t: P.ITensorProto): AttrValue => ({ t }),
  graph: (g: P.IGraphProto): AttrValue => ({ g }),
};

const AT = onnx.AttributeProto.AttributeType;

function toAttributeProto(name: string, v: AttrValue): P.IAttributeProto {
  if ("f" in v) return { name, type: AT.FLOAT, f: v.f };
  if ("i" in v) return { name, type: AT.INT, i: v.i };
  if ("s" in v) return { name, type: AT.STRING, s: new TextEncoder().encode(v.s) };
  if ("floats" in v) return { name, type: AT.FLOATS, floats: v.floats };
  if ("ints" in v) return { name, type: AT.INTS, ints: v.ints };
  if ("t" in v) return { name, type: AT.TENSOR, t: v.t };
  return { name, type: AT.GRAPH, g: v.g };
}

/** Raw little-endian bytes of a typed array (a view, no copy, on little-endian hosts). */
export function bytesOf(a: NumericArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A TensorProto for an initializer or a Constant's `value` attribute. */
export function tensorProto(name: string, dtype: Dtype, dims: number[], data: NumericArray | string[]): P.ITensorProto {
  const t: P.ITensorProto = { name, dataType: ONNX_DATA_TYPE[dtype], dims };
  if (dtype === "string") {
    if (!Array.isArray(data)) throw new TypeError("string tensors take an array of strings");
    t.stringData = data.map((s) => new TextEncoder().encode(s));
  } else {
    if (Array.isArray(data)) throw new TypeError(`${dtype} tensors take a typed array`);
    // Copy so that later writes to the caller's array do not change the model.
    t.rawData = bytesOf(data).slice();
  }
  return t;
}

export function valueInfo(name: string, dtype: Dtype, shape: Dim[] | undefined): P.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_DATA_TYPE[dtype],
        ...(shape ? { shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } : {}),
      },
    },
  };
}

/** Collects inputs, outputs, initializers and nodes; `build()` encodes the ModelProto. */
export class GraphBuilder {
  private readonly inputs: P.IValueInfoProto[] = [];
  private readonly outputs: P.IValueInfoProto[] = [];
  private readonly initializers: P.ITensorProto[] = [];
  private readonly nodes: P.INodeProto[] = [];
  private counter = 0;

  constructor(readonly name = "graph") {}

  /** A fresh value name with the given prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, dtype: Dtype, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  output(name: string, dtype: Dtype, shape?: Dim[]): string {
    this.outputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  initializer(name: string, dtype: Dtype, dims: number[], data: NumericArray | string[]): string {
    this.initializers.push(tensorProto(name, dtype, dims, data));
    return name;
  }

  /** Adds a node; returns its output names. */
  node(opType: string, inputs: string[], outputs: string[] | number = 1, attrs: Record<string, AttrValue> = {}): string[] {
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs;
    this.nodes.push({
      opType,
      name: this.fresh(`${opType}_node`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => toAttributeProto(k, v)),
    });
    return outs;
  }

  /** Adds a single-output node; returns its output name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.node(opType, inputs, output ? [output] : 1, attrs)[0]!;
  }

  graph(): P.IGraphProto {
    return {
      name: this.name,
      input: this.inputs,
      output: this.outputs,
      initializer: this.initializers,
      node: this.nodes,
    };
  }

  build(opts: { opset?: number; producer?: string } = {}): Uint8Array {
    return encodeModel(this.graph(), opts);
  }
}

export function encodeModel(graph: P.IGraphProto, opts: { opset?: number; producer?: string } = {}): Uint8Array {
  const model: P.IModelProto = {
    irVersion: IR_VERSION,
    producerName: opts.producer ?? "@stun/testkit",
    producerVersion: "0.1.0",
    opsetImport: [{ domain: "", version: opts.opset ?? OPSET_VERSION }],
    graph,
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Deterministic PRNG (mulberry32, from @stun/shared): the same seed always gives the same weights. */
export { mulberry32 };

/** `n` float32 values uniform in [-scale, scale). */
export function uniformF32(rand: () => number, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}
