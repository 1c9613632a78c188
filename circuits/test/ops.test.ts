/**
 * Operator coverage of the zkML compiler without proofs: the circuit's integer arithmetic
 * (`simulate`, exactly what a proof publishes) against onnxruntime-node on the same inputs.
 */
import { GraphBuilder, attr, mulberry32, uniformF32 } from "@stun/testkit";
import { describe, expect, it } from "vitest";
import { ZkmlUnsupportedError, buildModelCircuit, simulate, zkmlSupported } from "./support/api";
import { maxAbsDiff, randomInput, runOrt } from "./support/models";

async function check(bytes: Uint8Array, dims: number[], seed: number, tol = 1e-3): Promise<number> {
  const m = await buildModelCircuit(bytes);
  let worst = 0;
  for (let s = 0; s < 10; s++) {
    const x = randomInput(
      dims.reduce((a, b) => a * b, 1),
      seed + s,
      2,
    );
    worst = Math.max(worst, maxAbsDiff(simulate(m, x).outputs[0]!.data, await runOrt(bytes, x, dims)));
  }
  expect(worst).toBeLessThan(tol);
  return worst;
}

describe("zkML operators against onnxruntime", () => {
  it("BatchNormalization, grouped strided Conv with pads, AveragePool, Transpose, Reshape, Mul, Sub, Concat, MatMul, Relu", async () => {
    const rand = mulberry32(3);
    const g = new GraphBuilder("ops");
    g.input("x", "float32", [1, 2, 5, 5]);
    const bn = g.op("BatchNormalization", [
      "x",
      g.initializer("bn_s", "float32", [2], Float32Array.of(1.5, 0.5)),
      g.initializer("bn_b", "float32", [2], Float32Array.of(0.1, -0.2)),
      g.initializer("bn_m", "float32", [2], Float32Array.of(0.3, -0.1)),
      g.initializer("bn_v", "float32", [2], Float32Array.of(2, 0.5)),
    ]);
    const conv = g.op("Conv", [bn, g.initializer("cw", "float32", [4, 1, 3, 3], uniformF32(rand, 36, 0.5)), g.initializer("cb", "float32", [4], uniformF32(rand, 4, 0.1))], {
      group: attr.int(2),
      pads: attr.ints([1, 1, 1, 1]),
      strides: attr.ints([2, 2]),
    }); // [1,4,3,3]
    const pool = g.op("AveragePool", [conv], { kernel_shape: attr.ints([2, 2]), pads: attr.ints([0, 0, 1, 1]) }); // [1,4,3,3]
    const t = g.op("Transpose", [pool], { perm: attr.ints([0, 2, 3, 1]) });
    const flat = g.op("Reshape", [t, g.initializer("shape", "int64", [2], BigInt64Array.of(1n, -1n))]); // [1,36]
    const scaled = g.op("Mul", [flat, g.initializer("k", "float32", [36], uniformF32(rand, 36, 2))]);
    const shifted = g.op("Sub", [g.initializer("s", "float32", [1], Float32Array.of(0.25)), scaled]);
    const cat = g.op("Concat", [shifted, flat], { axis: attr.int(1) }); // [1,72]
    const mm = g.op("MatMul", [cat, g.initializer("w", "float32", [72, 5], uniformF32(rand, 360, 0.2))]);
    g.op("Relu", [mm], {}, "y");
    g.output("y", "float32", [1, 5]);
    const err = await check(g.build(), [1, 2, 5, 5], 40);
    console.log(`[circuits] operator mix: max |circuit − onnxruntime| ${err.toExponential(2)}`);
  });

  it("Gemm with transB, alpha, beta and a broadcast C; Flatten; Squeeze/Unsqueeze; a constant-left MatMul; Add of two computed tensors", async () => {
    const rand = mulberry32(9);
    const g = new GraphBuilder("gemm");
    g.input("x", "float32", [1, 3, 2]);
    const f = g.op("Flatten", ["x"], { axis: attr.int(1) }); // [1,6]
    const gemm = g.op("Gemm", [f, g.initializer("w", "float32", [4, 6], uniformF32(rand, 24, 0.7)), g.initializer("c", "float32", [1], Float32Array.of(0.3))], {
      transB: attr.int(1),
      alpha: attr.float(0.5),
      beta: attr.float(2),
    }); // [1,4]
    const sq = g.op("Squeeze", [gemm, g.initializer("ax0", "int64", [1], BigInt64Array.of(0n))]); // [4]
    const col = g.op("Unsqueeze", [sq, g.initializer("ax1", "int64", [1], BigInt64Array.of(1n))]); // [4,1]
    const left = g.op("MatMul", [g.initializer("a", "float32", [2, 4], uniformF32(rand, 8, 1)), col]); // [2,1]
    const both = g.op("Add", [left, g.op("Relu", [left])]);
    g.op("Identity", [both], {}, "y");
    g.output("y", "float32", [2, 1]);
    await check(g.build(), [1, 3, 2], 80);
  });

  it("lists every unsupported operator and every unsupported use", async () => {
    const g = new GraphBuilder("bad");
    g.input("x", "float32", [1, 4]);
    const a = g.op("Tanh", ["x"]);
    g.op("Sigmoid", [a], {}, "y");
    g.output("y", "float32", [1, 4]);
    const support = zkmlSupported(g.build());
    expect(support.supported).toBe(false);
    if (!support.supported) {
      expect(support.unsupported.map((u) => u.op)).toEqual(["Tanh", "Sigmoid"]);
      expect(support.message).toMatch(/^operators "Tanh" \(node "Tanh_node_\d+"\), "Sigmoid" \(node "Sigmoid_node_\d+"\) are not supported; supported: /);
    }

    const h = new GraphBuilder("bad_use");
    h.input("x", "float32", [1, 4]);
    h.op("Mul", ["x", "x"], {}, "y1");
    const img = h.op("Reshape", ["x", h.initializer("s", "int64", [4], BigInt64Array.of(1n, 1n, 2n, 2n))]);
    h.op("MaxPool", [img], { kernel_shape: attr.ints([2, 2]), ceil_mode: attr.int(1) }, "y2");
    h.output("y1", "float32", [1, 4]);
    h.output("y2", "float32", [1, 1, 1, 1]);
    const err = await buildModelCircuit(h.build()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkmlUnsupportedError);
    expect((err as ZkmlUnsupportedError).unsupported.map((u) => u.op)).toEqual(["Mul", "MaxPool"]);
    expect((err as Error).message).toMatch(/operator "Mul" \(node "Mul_node_\d+"\): Mul of two computed tensors is not supported/);
  });
});
