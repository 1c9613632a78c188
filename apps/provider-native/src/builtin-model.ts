/**
 * The agent's own models, built at start with onnx-proto: an MLP for the start-up benchmark and a
 * one-node model to probe an execution provider. Kept here (not in @stun/testkit, which is test-only
 * and may not be a runtime dependency of the agent); testkit has the general builder.
 */
import onnxProto from "onnx-proto";
import type { onnx as P } from "onnx-proto";
import { uniformWeights } from "@stun/shared";

const onnx = onnxProto.onnx;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

function f32Info(name: string, shape: number[]): P.IValueInfoProto {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } };
}

function f32Init(name: string, dims: number[], data: Float32Array): P.ITensorProto {
  return { name, dataType: FLOAT, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function encode(graph: P.IGraphProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, producerName: "stun-provider", opsetImport: [{ domain: "", version: 17 }], graph })).finish();
}

/** Deterministic weights (mulberry32). */
const uniform = uniformWeights;

export interface BuiltinModel {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  inputShape: number[];
}

/** A float32 MLP (default 784-512-256-10, batch 1): Gemm + Relu layers, Gemm out. */
export function buildBenchmarkMlp(sizes: number[] = [784, 512, 256, 10], batch = 1): BuiltinModel {
  const nodes: P.INodeProto[] = [];
  const inits: P.ITensorProto[] = [];
  let h = "x";
  for (let i = 0; i + 1 < sizes.length; i++) {
    const [n, m] = [sizes[i]!, sizes[i + 1]!];
    inits.push(f32Init(`w${i}`, [n, m], uniform(2 * i + 1, n * m, Math.sqrt(6 / (n + m)))));
    inits.push(f32Init(`b${i}`, [m], uniform(2 * i + 2, m, 0.1)));
    const last = i + 2 === sizes.length;
    const gemm = last ? "y" : `g${i}`;
    nodes.push({ opType: "Gemm", input: [h, `w${i}`, `b${i}`], output: [gemm] });
    if (!last) nodes.push({ opType: "Relu", input: [gemm], output: [`r${i}`] });
    h = `r${i}`;
  }
  const inputShape = [batch, sizes[0]!];
  return {
    bytes: encode({
      name: "stun_benchmark_mlp",
      input: [f32Info("x", inputShape)],
      output: [f32Info("y", [batch, sizes[sizes.length - 1]!])],
      initializer: inits,
      node: nodes,
    }),
    inputName: "x",
    outputName: "y",
    inputShape,
  };
}

/** x → Relu → y on float32 [1]: the smallest model that makes an execution provider load. */
export function buildProbeModel(): BuiltinModel {
  return {
    bytes: encode({ name: "stun_probe", input: [f32Info("x", [1])], output: [f32Info("y", [1])], node: [{ opType: "Relu", input: ["x"], output: ["y"] }] }),
    inputName: "x",
    outputName: "y",
    inputShape: [1],
  };
}
