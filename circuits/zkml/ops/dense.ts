/**
 * Gemm and MatMul: a computed tensor times constant weights, each output one linear form at
 * exponent 2 (weights at 2^k times activations at 2^k), with biases added at 2^2k. No constraint.
 */
import { type Lin, linAddScaled, linConst } from "../linear";
import { broadcastIndex, broadcastShape, permute, prod } from "../shapes";
import { type ConstValue, type DynValue, isConst, isDyn } from "../value";
import { type Handler, Unsupported, float, int, need } from "./handler";

/** y[m][n] = Σ_k x[m][k]·W[k][n] (+ bias[m][n]) for a dynamic x [M,K] and constant W [K,N] (already quantized). */
function denseRight(x: Lin[], M: number, K: number, W: bigint[], N: number, bias: bigint[] | undefined, biasIndex: Int32Array | undefined): Lin[] {
  const out: Lin[] = [];
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const acc = linConst(0n);
      for (let k = 0; k < K; k++) linAddScaled(acc, x[m * K + k]!, W[k * N + n]!);
      if (bias && biasIndex) acc.c += bias[biasIndex[m * N + n]!]!;
      out.push(acc);
    }
  }
  return out;
}

export const gemm: Handler = (c, node, ins, name) => {
  const a0 = need(ins[0], "A");
  const b0 = need(ins[1], "B");
  if (!isDyn(a0)) throw new Unsupported("A must be computed from the model's input (a constant A is not supported)");
  if (!isConst(b0)) throw new Unsupported("B must be a constant (an initializer): weights are baked into the circuit");
  if (a0.shape.length !== 2 || b0.shape.length !== 2) throw new Unsupported("A and B must be 2-D");
  const alpha = float(node, "alpha", 1);
  const beta = float(node, "beta", 1);
  let a = c.toE1(a0, name);
  if (int(node, "transA", 0)) a = { ...a, ...permute(a.data, a.shape, [1, 0]) };
  let bShape = b0.shape;
  let bData = Array.from(b0.data);
  if (int(node, "transB", 0)) ({ data: bData, shape: bShape } = permute(bData, bShape, [1, 0]));
  const [M, K] = a.shape as [number, number];
  const [K2, N] = bShape as [number, number];
  if (K !== K2) throw new Unsupported(`A is [${a.shape}] and B is [${bShape}]: inner dimensions differ`);
  const W = c.constQ(
    bData.map((w) => alpha * w),
    1,
  );
  let bias: bigint[] | undefined;
  let biasIndex: Int32Array | undefined;
  const c0 = ins[2];
  if (c0) {
    if (!isConst(c0)) throw new Unsupported("C must be a constant");
    if (!broadcastShape(c0.shape, [M, N])) throw new Unsupported(`C [${c0.shape}] does not broadcast to [${M},${N}]`);
    bias = c.constQ(
      Array.from(c0.data, (v) => beta * v),
      2,
    );
    biasIndex = broadcastIndex(c0.shape, [M, N]);
  }
  return { kind: "dyn", shape: [M, N], e: 2, data: denseRight(a.data, M, K, W, N, bias, biasIndex) };
};

export const matMul: Handler = (c, _node, ins, name) => {
  const a0 = need(ins[0], "A");
  const b0 = need(ins[1], "B");
  if (isConst(a0) && isConst(b0)) throw new Unsupported("MatMul of two constants is not supported");
  if (isDyn(a0) && isDyn(b0)) throw new Unsupported("MatMul of two computed tensors is not supported (one side must be a constant)");
  if (isDyn(a0) && isConst(b0)) {
    if (b0.shape.length > 2) throw new Unsupported("a constant B of rank > 2 is not supported");
    const a = c.toE1(a0, name);
    const bShape = b0.shape.length === 1 ? [b0.shape[0]!, 1] : b0.shape;
    const K = a.shape[a.shape.length - 1]!;
    const [K2, N] = bShape as [number, number];
    if (K !== K2) throw new Unsupported(`A is [${a.shape}] and B is [${b0.shape}]: inner dimensions differ`);
    const M = prod(a.shape) / K;
    const W = c.constQ(b0.data, 1);
    const shape = b0.shape.length === 1 ? a.shape.slice(0, -1) : [...a.shape.slice(0, -1), N];
    return { kind: "dyn", shape: a.shape.length === 1 && b0.shape.length === 2 ? [N] : shape, e: 2, data: denseRight(a.data, M, K, W, N, undefined, undefined) };
  }
  // Constant A [M,K] times a computed B [K,N].
  const ac = a0 as ConstValue;
  const bd = c.toE1(b0 as DynValue, name);
  if (ac.shape.length !== 2 || bd.shape.length !== 2) throw new Unsupported("a constant A needs a 2-D A and B");
  const [M, K] = ac.shape as [number, number];
  const [K2, N] = bd.shape as [number, number];
  if (K !== K2) throw new Unsupported(`A is [${ac.shape}] and B is [${bd.shape}]: inner dimensions differ`);
  const Wq = c.constQ(ac.data, 1);
  const out: Lin[] = [];
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const acc = linConst(0n);
      for (let k = 0; k < K; k++) linAddScaled(acc, bd.data[k * N + n]!, Wq[m * K + k]!);
      out.push(acc);
    }
  }
  return { kind: "dyn", shape: [M, N], e: 2, data: out };
};
