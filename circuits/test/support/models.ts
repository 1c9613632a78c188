/** Small ONNX models for the circuit tests (built with @stun/testkit's GraphBuilder). */
import { GraphBuilder, attr, mulberry32, uniformF32 } from "@stun/testkit";
import * as ort from "onnxruntime-node";

/** A tiny CNN that fits the 2^11 test ceremony with its proof: [1,1,4,4] → Conv 2×3×3 → Relu → MaxPool 2×2 → Flatten → Gemm 2→3. */
export function buildTinyCnn(seed = 5): Uint8Array {
  const rand = mulberry32(seed);
  const g = new GraphBuilder("tiny_cnn");
  g.input("image", "float32", [1, 1, 4, 4]);
  const w = g.initializer("conv_w", "float32", [2, 1, 3, 3], uniformF32(rand, 18, 0.6));
  const b = g.initializer("conv_b", "float32", [2], uniformF32(rand, 2, 0.1));
  const conv = g.op("Conv", ["image", w, b], { kernel_shape: attr.ints([3, 3]) });
  const relu = g.op("Relu", [conv]);
  const pool = g.op("MaxPool", [relu], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });
  const flat = g.op("Flatten", [pool], { axis: attr.int(1) });
  const fw = g.initializer("fc_w", "float32", [2, 3], uniformF32(rand, 6, 0.8));
  const fb = g.initializer("fc_b", "float32", [3], uniformF32(rand, 3, 0.1));
  g.op("Gemm", [flat, fw, fb], {}, "logits");
  g.output("logits", "float32", [1, 3]);
  return g.build();
}

/** A MatMul whose weights are a second input (a supported op used in an unsupported way). */
export function buildDynamicWeightsModel(): Uint8Array {
  const g = new GraphBuilder("dyn_weights");
  g.input("x", "float32", [1, 4]);
  g.input("w", "float32", [4, 3]);
  g.op("MatMul", ["x", "w"], {}, "y");
  g.output("y", "float32", [1, 3]);
  return g.build();
}

/** Runs a single-input, single-output model on onnxruntime-node (CPU). */
export async function runOrt(bytes: Uint8Array, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
  try {
    const feeds = { [session.inputNames[0]!]: new ort.Tensor("float32", input, dims) };
    const out = await session.run(feeds);
    return out[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

export function randomInput(n: number, seed: number, scale = 1): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
