/**
 * The browser provider's start-up benchmark model, encoded here as ONNX protobuf bytes by a few
 * lines of hand-written protobuf (the native agent builds the same shape with onnx-proto, which
 * is too heavy to ship to a browser): a float32 MLP 784-512-256-10 at batch 1, Gemm + Relu layers,
 * IR 8, opset 17. Its inferences/s become `specs.benchmarkIps` in `provider:register`.
 */
import { concatBytes as concat, uniformWeights } from "@stun/shared";

const FLOAT = 1; // onnx.TensorProto.DataType.FLOAT
const utf8 = new TextEncoder();

type Bytes = Uint8Array;

function varint(value: number): Bytes {
  const out: number[] = [];
  let v = value;
  while (v > 127) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

const tag = (field: number, wire: 0 | 2): Bytes => varint(field * 8 + wire);
const int = (field: number, v: number): Bytes => concat([tag(field, 0), varint(v)]);
const len = (field: number, body: Bytes): Bytes => concat([tag(field, 2), varint(body.byteLength), body]);
const str = (field: number, s: string): Bytes => len(field, utf8.encode(s));

/** ValueInfoProto: float32 tensor with fixed dims. */
function valueInfo(name: string, dims: readonly number[]): Bytes {
  const shape = concat(dims.map((d) => len(1, int(1, d)))); // TensorShapeProto.dim { dim_value }
  const tensorType = concat([int(1, FLOAT), len(2, shape)]); // TypeProto.Tensor { elem_type, shape }
  return concat([str(1, name), len(2, len(1, tensorType))]); // { name, type: TypeProto { tensor_type } }
}

/** TensorProto: float32 initializer with raw little-endian data. */
function initializer(name: string, dims: readonly number[], data: Float32Array): Bytes {
  const raw = new Uint8Array(data.byteLength);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return concat([...dims.map((d) => int(1, d)), int(2, FLOAT), str(8, name), len(9, raw)]);
}

/** NodeProto. */
const node = (op: string, inputs: readonly string[], outputs: readonly string[]): Bytes => concat([...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(4, op)]);

/** Deterministic weights in ±scale (mulberry32). */
const uniform = uniformWeights;

export interface BenchmarkModel {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  inputShape: number[];
}

/** The MLP (default 784-512-256-10) at batch 1 as ONNX bytes. */
export function buildBenchmarkMlp(sizes: readonly number[] = [784, 512, 256, 10]): BenchmarkModel {
  const nodes: Bytes[] = [];
  const inits: Bytes[] = [];
  let h = "x";
  for (let i = 0; i + 1 < sizes.length; i++) {
    const [n, m] = [sizes[i]!, sizes[i + 1]!];
    inits.push(initializer(`w${i}`, [n, m], uniform(2 * i + 1, n * m, Math.sqrt(6 / (n + m)))));
    inits.push(initializer(`b${i}`, [m], uniform(2 * i + 2, m, 0.1)));
    const last = i + 2 === sizes.length;
    const out = last ? "y" : `g${i}`;
    nodes.push(node("Gemm", [h, `w${i}`, `b${i}`], [out]));
    if (!last) nodes.push(node("Relu", [out], [`r${i}`]));
    h = `r${i}`;
  }
  const inputShape = [1, sizes[0]!];
  const graph = concat([
    ...nodes.map((n) => len(1, n)),
    str(2, "stun_browser_benchmark_mlp"),
    ...inits.map((t) => len(5, t)),
    len(11, valueInfo("x", inputShape)),
    len(12, valueInfo("y", [1, sizes[sizes.length - 1]!])),
  ]);
  const model = concat([
    int(1, 8), // ir_version
    str(2, "stun-browser-provider"), // producer_name
    len(7, graph),
    len(8, concat([str(1, ""), int(2, 17)])), // opset_import { domain: "", version: 17 }
  ]);
  return { bytes: model, inputName: "x", outputName: "y", inputShape };
}
