import fc from "fast-check";
import onnxProto from "onnx-proto";
import type { onnx as P } from "onnx-proto";
import { describe, expect, it } from "vitest";
import { externalDataRefusal, MAX_MESSAGE_DEPTH, scanOnnxExternalData } from "../src/onnx-external-data";

// Models are built with onnx-proto (protobufjs), the encoder every other tool in the repo uses, so
// the detector is checked against real ONNX bytes, not against its own idea of the format.
const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;
const AT = onnx.AttributeProto.AttributeType;
const KEYS = ".stun/local-keys.json";

const embedded = (name: string): P.ITensorProto => ({ name, dataType: FLOAT, dims: [2], rawData: new Uint8Array(8) });
const external = (name: string, location = KEYS): P.ITensorProto => ({
  name,
  dataType: FLOAT,
  dims: [2],
  dataLocation: EXTERNAL,
  externalData: [
    { key: "location", value: location },
    { key: "offset", value: "0" },
    { key: "length", value: "8" },
  ],
});
const constant = (name: string, t: P.ITensorProto): P.INodeProto => ({
  opType: "Constant",
  name,
  output: [`${name}_out`],
  attribute: [{ name: "value", type: AT.TENSOR, t }],
});
const graph = (parts: P.IGraphProto = {}): P.IGraphProto => ({
  name: "g",
  input: [{ name: "x", type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 2 }] } } } }],
  output: [{ name: "y", type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 2 }] } } } }],
  ...parts,
});
const ifNode = (thenBranch: P.IGraphProto, elseBranch: P.IGraphProto = graph()): P.INodeProto => ({
  opType: "If",
  name: "branch",
  input: ["cond"],
  output: ["y"],
  attribute: [
    { name: "then_branch", type: AT.GRAPH, g: thenBranch },
    { name: "else_branch", type: AT.GRAPH, g: elseBranch },
  ],
});
const model = (g: P.IGraphProto, extra: P.IModelProto = {}): Uint8Array =>
  onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }], graph: g, ...extra })).finish();

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};

/** Protobuf bytes for one length-delimited field (for fields onnx-proto 8 does not know). */
function lengthField(number: number, payload: Uint8Array): Uint8Array {
  const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
  return concat(new Uint8Array([...varint((number << 3) | 2), ...varint(payload.length)]), payload);
}

describe("scanOnnxExternalData", () => {
  it("finds external data in an initializer, with its location and name", () => {
    const scan = scanOnnxExternalData(model(graph({ initializer: [embedded("a"), external("W")] })));
    expect(scan).toEqual({ kind: "external", where: 'graph.initializer[1] "W"', location: KEYS });
    expect(externalDataRefusal(model(graph({ initializer: [external("W")] })))).toEqual({
      code: "MODEL_EXTERNAL_DATA",
      message: expect.stringContaining(`external file (location "${KEYS}") at graph.initializer[0] "W"`),
    });
  });

  it("finds it in a sparse initializer's values and in its indices", () => {
    const values = scanOnnxExternalData(model(graph({ sparseInitializer: [{ values: external("v", "package.json"), indices: embedded("i"), dims: [4] }] })));
    expect(values).toEqual({ kind: "external", where: 'graph.sparse_initializer[0].values "v"', location: "package.json" });
    const indices = scanOnnxExternalData(model(graph({ sparseInitializer: [{ values: embedded("v"), indices: external("i"), dims: [4] }] })));
    expect(indices).toMatchObject({ kind: "external", where: 'graph.sparse_initializer[0].indices "i"' });
  });

  it("finds it in a Constant node's value attribute", () => {
    const scan = scanOnnxExternalData(model(graph({ node: [constant("c0", embedded("ok")), constant("c1", external("k"))] })));
    expect(scan).toMatchObject({ kind: "external", where: 'graph.node[1] "c1".attribute[0] "value".t "k"' });
  });

  it("finds it in the other tensor-carrying attributes: tensors, sparse_tensor, sparse_tensors", () => {
    const node = (attribute: P.IAttributeProto): P.INodeProto => ({ opType: "Custom", name: "n", attribute: [attribute] });
    const cases: [P.IAttributeProto, string][] = [
      [{ name: "ts", type: AT.TENSORS, tensors: [embedded("a"), external("b")] }, 'graph.node[0] "n".attribute[0] "ts".tensors[1] "b"'],
      [{ name: "st", type: AT.SPARSE_TENSOR, sparseTensor: { values: external("v"), dims: [2] } }, 'graph.node[0] "n".attribute[0] "st".sparse_tensor.values "v"'],
      [
        { name: "sts", type: AT.SPARSE_TENSORS, sparseTensors: [{ values: embedded("v") }, { values: embedded("w"), indices: external("i") }] },
        'graph.node[0] "n".attribute[0] "sts".sparse_tensors[1].indices "i"',
      ],
    ];
    for (const [attribute, where] of cases) expect(scanOnnxExternalData(model(graph({ node: [node(attribute)] })))).toMatchObject({ kind: "external", where });
  });

  it("finds it in a tensor inside an If's then_branch", () => {
    const thenBranch = graph({ name: "then", initializer: [external("hidden", "package.json")] });
    const scan = scanOnnxExternalData(model(graph({ node: [ifNode(thenBranch)] })));
    expect(scan).toEqual({
      kind: "external",
      where: 'graph.node[0] "branch".attribute[0] "then_branch".g.initializer[0] "hidden"',
      location: "package.json",
    });
  });

  it("finds it in a Loop body, and in a graphs attribute, nested several subgraphs deep", () => {
    const loop = (body: P.IGraphProto): P.INodeProto => ({ opType: "Loop", name: "loop", attribute: [{ name: "body", type: AT.GRAPH, g: body }] });
    const deep = loop(graph({ node: [ifNode(graph(), graph({ node: [loop(graph({ node: [constant("leak", external("k"))] }))] }))] }));
    expect(scanOnnxExternalData(model(graph({ node: [deep] })))).toMatchObject({
      kind: "external",
      where: 'graph.node[0] "loop".attribute[0] "body".g.node[0] "branch".attribute[1] "else_branch".g.node[0] "loop".attribute[0] "body".g.node[0] "leak".attribute[0] "value".t "k"',
    });
    const scan = { name: "Scan", opType: "Scan", attribute: [{ name: "bodies", type: AT.GRAPHS, graphs: [graph(), graph({ initializer: [external("w")] })] }] };
    expect(scanOnnxExternalData(model(graph({ node: [scan] })))).toMatchObject({ kind: "external", where: 'graph.node[0] "Scan".attribute[0] "bodies".graphs[1].initializer[0] "w"' });
  });

  it("finds it in a model-local function's nodes and in a function attribute's default (attribute_proto, field 11)", () => {
    const fn: P.IFunctionProto = { name: "leaky", domain: "local", node: [constant("inner", external("k"))] };
    expect(scanOnnxExternalData(model(graph(), { functions: [fn] }))).toMatchObject({
      kind: "external",
      where: 'functions[0] "leaky".node[0] "inner".attribute[0] "value".t "k"',
    });
    // attribute_proto is upstream onnx.proto's FunctionProto field 11, which onnx-proto 8 lacks: append it by hand.
    const attributeDefault = onnx.AttributeProto.encode({ name: "w", type: AT.TENSOR, t: external("dflt") }).finish();
    const fnBytes = concat(onnx.FunctionProto.encode({ name: "withDefault", domain: "local" }).finish(), lengthField(11, attributeDefault));
    const bytes = concat(model(graph()), lengthField(25, fnBytes));
    expect(scanOnnxExternalData(bytes)).toMatchObject({ kind: "external", where: 'functions[0] "withDefault".attribute_proto[0] "w".t "dflt"' });
  });

  it("finds it in training_info graphs", () => {
    const bytes = model(graph(), { trainingInfo: [{ algorithm: graph({ initializer: [external("opt")] }) }] });
    expect(scanOnnxExternalData(bytes)).toMatchObject({ kind: "external", where: 'training_info[0].algorithm.initializer[0] "opt"' });
  });

  it("flags data_location = EXTERNAL alone and external_data alone (either makes onnxruntime look for a file)", () => {
    const locationOnly: P.ITensorProto = { name: "a", dataType: FLOAT, dims: [2], dataLocation: EXTERNAL };
    expect(scanOnnxExternalData(model(graph({ initializer: [locationOnly] })))).toEqual({ kind: "external", where: 'graph.initializer[0] "a"' });
    const entriesOnly: P.ITensorProto = { name: "b", dataType: FLOAT, dims: [2], externalData: [{ key: "location", value: "x.bin" }] };
    expect(scanOnnxExternalData(model(graph({ initializer: [entriesOnly] })))).toEqual({ kind: "external", where: 'graph.initializer[0] "b"', location: "x.bin" });
  });

  it("passes a clean model with embedded initializers, constants and subgraphs", () => {
    const clean = graph({
      initializer: [embedded("w"), { ...embedded("d"), dataLocation: onnx.TensorProto.DataLocation.DEFAULT }],
      sparseInitializer: [{ values: embedded("v"), indices: embedded("i"), dims: [4] }],
      node: [constant("c", embedded("k")), ifNode(graph({ initializer: [embedded("t")] }))],
    });
    expect(scanOnnxExternalData(model(clean, { functions: [{ name: "f", node: [constant("fc", embedded("fk"))] }] }))).toEqual({ kind: "clean" });
    expect(scanOnnxExternalData(new Uint8Array(0))).toEqual({ kind: "clean" });
    expect(externalDataRefusal(model(clean))).toBeUndefined();
  });

  it("answers malformed for truncated, garbage and over-deep input, and never throws", () => {
    const bytes = model(graph({ initializer: [embedded("w")] }));
    expect(scanOnnxExternalData(bytes.subarray(0, bytes.length - 3))).toMatchObject({ kind: "malformed" });
    expect(scanOnnxExternalData(new Uint8Array([0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toEqual({ kind: "malformed", reason: "length past the end of its message" });
    expect(scanOnnxExternalData(new Uint8Array([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))).toMatchObject({ kind: "malformed" });
    expect(scanOnnxExternalData(new TextEncoder().encode("not a model at all, just text"))).toMatchObject({ kind: "malformed" });
    expect(externalDataRefusal(bytes.subarray(0, bytes.length - 3))).toMatchObject({ code: "MODEL_INVALID" });

    let g = graph();
    for (let i = 0; i < MAX_MESSAGE_DEPTH; i++) g = graph({ node: [ifNode(g)] });
    expect(scanOnnxExternalData(model(g))).toEqual({ kind: "malformed", reason: `nested deeper than ${MAX_MESSAGE_DEPTH} messages` });

    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (garbage) => {
        expect(["clean", "external", "malformed"]).toContain(scanOnnxExternalData(garbage).kind);
      }),
      { seed: 12, numRuns: 2000 },
    );
  });

  it("skips weight payloads instead of reading them: a 16 MiB initializer scans in well under a second", () => {
    const big: P.ITensorProto = { name: "big", dataType: FLOAT, dims: [4 << 20], rawData: new Uint8Array(16 << 20) };
    const bytes = model(graph({ initializer: [big, external("after")] }));
    const t0 = performance.now();
    expect(scanOnnxExternalData(bytes)).toMatchObject({ kind: "external", where: 'graph.initializer[1] "after"' });
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
