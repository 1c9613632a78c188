/**
 * The zkML compiler: an ONNX model → a circom circuit that proves `output = model(input)` in fixed
 * point, plus a JavaScript interpreter of exactly the same integer arithmetic (`simulate`).
 *
 * Fixed point. Every real number x is the integer round(x · 2^k) ("scale exponent 1"; k =
 * `scaleBits`, default 16). Weights are circuit constants quantized at 2^k, so a dot product of
 * activations (scale 2^k) with weights is an integer at scale 2^2k ("exponent 2") that costs no
 * constraint at all: multiplying a signal by a constant and adding are linear, and circom folds
 * linear expressions into the constraints that use them. Biases are added at 2^2k. Before a value
 * at exponent 2 meets another weight, a ReLU, or a MaxPool, it is rescaled to exponent 1 by floor
 * division by 2^k, proven by a bit decomposition (src/fixed_rescale.circom: nBits = A + k
 * constraints, where A = `activationBits`, default 32, bounds activations to |x| < 2^(A−1−k)); a
 * ReLU shares that decomposition (its sign is the top bit: src/fixed_relu.circom, one constraint
 * more). MaxPool compares by the same decomposition (src/fixed_max.circom). Graph outputs are
 * published at scale 2^2k (an exponent-1 output is multiplied by 2^k, which is free).
 *
 * What the circuit publishes (snarkjs' publicSignals, in this order):
 *   [0] modelHash  PoseidonSponge([tag, k, A, n, w_1 … w_n]) of the n quantized constants the
 *                  circuit multiplies and adds by (weights at 2^k, biases at 2^2k, in graph order);
 *                  a circuit constant, so a proof from this circuit always carries it
 *   [1] inputHash  PoseidonSponge(quantized input), computed in the circuit over the private input
 *                  (0 when compiled with commitInput: false)
 *   [2 … 2+m)      the m quantized outputs (all graph outputs, flattened, in graph order)
 *   [2+m]          taskId      (public inputs, bound so that a proof cannot be replayed for another
 *   [3+m]          provider     task or claimed by another provider)
 *
 * Weights as constants (rather than private signals hashed in the circuit) keep a 784-56-10 MLP at a
 * few thousand constraints instead of ~100k; the price is one circuit (and one proving/verifying
 * key) per model. The verifier binds to the model twice: the verification key only accepts proofs
 * of this model's circuit, and `modelHash` names its weights.
 *
 * The input is private; `inputHash` binds the proof to one input without revealing it (whoever
 * holds the input — the requester, the server — recomputes it with `inputHashOf`). The input is
 * not range-checked in the circuit: the hash pins it, and its opener can see it is in range.
 */
import { type ConstTensor, ELEM_DOUBLE, ELEM_FLOAT, ELEM_FLOAT16, type OnnxNode, attribute, decodeModel } from "./onnx";
import { ZkmlModelError, ZkmlRangeError, ZkmlUnsupportedError, type UnsupportedOp } from "./errors";
import { zkWitnessInput } from "@stun/shared";
import { FIELD_P, quantize, textToField, toField } from "../lib/field";
import { SPONGE_CHUNK, poseidonSponge, spongeChunks } from "../lib/poseidon";

/** Version of the compiler's output format (changes the circuit, its keys and the hash tag). */
export const ZKML_COMPILER_VERSION = 1;

/** ONNX operators the compiler turns into constraints (domain ai.onnx). */
export const SUPPORTED_OPS = [
  "Gemm",
  "MatMul",
  "Add",
  "Sub",
  "Mul",
  "Relu",
  "Conv",
  "MaxPool",
  "AveragePool",
  "GlobalAveragePool",
  "BatchNormalization",
  "Flatten",
  "Reshape",
  "Squeeze",
  "Unsqueeze",
  "Transpose",
  "Concat",
  "Identity",
  "Dropout",
  "Constant",
] as const;
const SUPPORTED = new Set<string>(SUPPORTED_OPS);

export interface ZkmlOptions {
  /** k: reals are round(x · 2^k) (default 16). */
  scaleBits?: number;
  /** A: activations are proven to satisfy |x · 2^k| < 2^(A−1) (default 32, i.e. |x| < 32768 at k = 16). */
  activationBits?: number;
  /** Publish PoseidonSponge(quantized input) as `inputHash` (default true; ~612 constraints per 16 inputs). */
  commitInput?: boolean;
}

export interface ResolvedZkmlOptions {
  scaleBits: number;
  activationBits: number;
  commitInput: boolean;
}

/** A linear form Σ coef·signal + c over the circuit's signals (integers; negative coefficients allowed). */
interface Lin {
  t: Map<number, bigint>;
  c: bigint;
}

type Value = { kind: "const"; shape: number[]; data: Float64Array } | { kind: "dyn"; shape: number[]; data: Lin[]; e: number };

type StepWithoutOut = Step extends infer S ? (S extends Step ? Omit<S, "out"> : never) : never;

/** One constrained step: a component whose output is a new signal. */
type Step =
  | { kind: "rescale"; input: Lin; nBits: number; shift: number; relu: boolean; out: number; node: string }
  | { kind: "max"; a: Lin; b: Lin; nBits: number; out: number; node: string };

export interface TensorMeta {
  name: string;
  /** Shape the circuit was compiled for (symbolic dimensions fixed to 1). */
  shape: number[];
  size: number;
}

export interface OutputMeta extends TensorMeta {
  /** Index of the output's first element in publicSignals. */
  offset: number;
}

export interface ModelCircuit {
  /** circom source (main component included). */
  source: string;
  /** sha256 of the ONNX file it was compiled from. */
  onnxSha256: string;
  options: ResolvedZkmlOptions;
  /** The public model hash (decimal string of a field element), publicSignals[0]. */
  modelHash: string;
  input: TensorMeta;
  outputs: OutputMeta[];
  /** Scale of the published outputs: value = signal / 2^outputScaleBits (= 2k). */
  outputScaleBits: number;
  /** Number of publicSignals: 2 + outputs + 2. */
  nPublic: number;
  /** Ops in the graph, counted by type. */
  ops: Record<string, number>;
  stats: {
    /** Quantized constants (weights and biases) baked into the circuit. */
    parameters: number;
    rescales: number;
    relus: number;
    maxes: number;
    /** Constraints predicted from the steps (circom --O2 reports the real count). */
    estimatedConstraints: number;
  };
  /** @internal the constrained steps, for `simulate`. */
  readonly plan: { steps: Step[]; nInputs: number; outputs: Lin[] };
}

// ---------------------------------------------------------------------------------------------
// Support check

/** The model's unsupported operators (empty when every op is supported). Does not compile. */
export function unsupportedOps(bytes: Uint8Array): UnsupportedOp[] {
  const model = decodeModel(bytes);
  return model.nodes
    .map((n, i) => ({ n, i }))
    .filter(({ n }) => (n.domain && n.domain !== "ai.onnx") || !SUPPORTED.has(n.opType ?? ""))
    .map(({ n, i }) => ({ op: n.domain && n.domain !== "ai.onnx" ? `${n.domain}.${n.opType}` : (n.opType ?? ""), node: n.name || `#${i}` }));
}

// ---------------------------------------------------------------------------------------------
// Linear forms

const linConst = (c: bigint): Lin => ({ t: new Map(), c });
const linSig = (s: number): Lin => ({ t: new Map([[s, 1n]]), c: 0n });

/** acc += a · s (in place). */
function linAddScaled(acc: Lin, a: Lin, s: bigint): void {
  if (s === 0n) return;
  for (const [k, v] of a.t) {
    const nv = (acc.t.get(k) ?? 0n) + v * s;
    if (nv === 0n) acc.t.delete(k);
    else acc.t.set(k, nv);
  }
  acc.c += a.c * s;
}

function linScale(a: Lin, s: bigint): Lin {
  const out = linConst(0n);
  linAddScaled(out, a, s);
  return out;
}

function linAdd(a: Lin, b: Lin, sb = 1n): Lin {
  const out = linConst(0n);
  linAddScaled(out, a, 1n);
  linAddScaled(out, b, sb);
  return out;
}

function evalLin(l: Lin, vals: bigint[]): bigint {
  let v = l.c;
  for (const [k, c] of l.t) v += c * vals[k]!;
  return v;
}

// ---------------------------------------------------------------------------------------------
// Shapes

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function strides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) st[i] = st[i + 1]! * shape[i + 1]!;
  return st;
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(Math.max(da, db));
  }
  return out;
}

/** For each flat index of `out`, the flat index into a tensor of `shape` broadcast to it. */
function broadcastIndex(shape: readonly number[], out: readonly number[]): Int32Array {
  const n = prod(out);
  const idx = new Int32Array(n);
  const st = strides(shape);
  const ost = strides(out);
  const off = out.length - shape.length;
  for (let i = 0; i < n; i++) {
    let r = i;
    let j = 0;
    for (let d = 0; d < out.length; d++) {
      const coord = Math.floor(r / ost[d]!);
      r -= coord * ost[d]!;
      const sd = d - off;
      if (sd >= 0 && shape[sd] !== 1) j += coord * st[sd]!;
    }
    idx[i] = j;
  }
  return idx;
}

function permute<T>(data: readonly T[], shape: readonly number[], perm: readonly number[]): { data: T[]; shape: number[] } {
  const outShape = perm.map((p) => shape[p]!);
  const st = strides(shape);
  const ost = strides(outShape);
  const n = data.length;
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) {
    let r = i;
    let j = 0;
    for (let d = 0; d < outShape.length; d++) {
      const coord = Math.floor(r / ost[d]!);
      r -= coord * ost[d]!;
      j += coord * st[perm[d]!]!;
    }
    out[i] = data[j]!;
  }
  return { data: out, shape: outShape };
}

// ---------------------------------------------------------------------------------------------
// The compiler

class Unsupported extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

class Compiler {
  readonly k: number;
  readonly A: number;
  readonly steps: Step[] = [];
  /** The quantized constants, in the order the circuit uses them (the model hash's material). */
  readonly material: bigint[] = [];
  nSignals: number;
  readonly ops: Record<string, number> = {};

  constructor(
    readonly opts: ResolvedZkmlOptions,
    readonly nInputs: number,
  ) {
    this.k = opts.scaleBits;
    this.A = opts.activationBits;
    this.nSignals = nInputs;
  }

  /** Quantizes a constant tensor at 2^(k·e) and records it in the model hash's material. */
  constQ(data: ArrayLike<number>, e: number): bigint[] {
    const q = Array.from(data, (x) => quantize(x, this.k * e));
    this.material.push(...q);
    return q;
  }

  private newStep(step: StepWithoutOut): Lin {
    const out = this.nSignals++;
    this.steps.push({ ...step, out } as Step);
    return linSig(out);
  }

  /** A value at exponent e ≥ 2 rescaled to exponent 1 (floor division by 2^(k·(e−1))), optionally through a ReLU. */
  rescale(l: Lin, e: number, relu: boolean, node: string): Lin {
    const shift = this.k * (e - 1);
    if (l.t.size === 0) {
      // A constant: fold it.
      const q = l.c >> BigInt(shift);
      return linConst(relu && q < 0n ? 0n : q);
    }
    return this.newStep({ kind: "rescale", input: l, nBits: this.A + shift, shift, relu, node });
  }

  /** Makes a dynamic value exponent 1 (rescaling each element when it is higher). */
  toE1(v: Value & { kind: "dyn" }, node: string): Value & { kind: "dyn" } {
    if (v.e === 1) return v;
    return { kind: "dyn", shape: v.shape, e: 1, data: v.data.map((l) => this.rescale(l, v.e, false, node)) };
  }

  relu(v: Value & { kind: "dyn" }, node: string): Value & { kind: "dyn" } {
    return { kind: "dyn", shape: v.shape, e: 1, data: v.data.map((l) => this.rescale(l, v.e, true, node)) };
  }

  max(a: Lin, b: Lin, node: string): Lin {
    if (a.t.size === 0 && b.t.size === 0) return linConst(a.c > b.c ? a.c : b.c);
    return this.newStep({ kind: "max", a, b, nBits: this.A + 1, node });
  }

  /** Lifts an exponent-e form to exponent `to` (multiplication by 2^(k·(to−e)), free). */
  lift(l: Lin, e: number, to: number): Lin {
    return to === e ? l : linScale(l, 1n << BigInt(this.k * (to - e)));
  }
}

function resolveOptions(opts: ZkmlOptions = {}): ResolvedZkmlOptions {
  const scaleBits = opts.scaleBits ?? 16;
  const activationBits = opts.activationBits ?? 32;
  if (!Number.isInteger(scaleBits) || scaleBits < 1 || scaleBits > 48) throw new RangeError(`scaleBits must be an integer in 1..48, got ${scaleBits}`);
  if (!Number.isInteger(activationBits) || activationBits < 2 || activationBits + 2 * scaleBits > 200) {
    throw new RangeError(`activationBits must be an integer ≥ 2 with activationBits + 2·scaleBits ≤ 200, got ${activationBits}`);
  }
  return { scaleBits, activationBits, commitInput: opts.commitInput ?? true };
}

/** Reads a node's inputs as values (missing optional inputs are undefined). */
function inputsOf(node: OnnxNode, values: Map<string, Value>): (Value | undefined)[] {
  return (node.input ?? []).map((name) => {
    if (!name) return undefined;
    const v = values.get(name);
    if (!v) throw new ZkmlModelError(`node "${node.name}" reads "${name}", which no earlier node produces (the graph must be topologically sorted)`);
    return v;
  });
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Unsupported(`${what} is missing`);
  return v;
}

const isConst = (v: Value | undefined): v is Value & { kind: "const" } => v?.kind === "const";
const isDyn = (v: Value | undefined): v is Value & { kind: "dyn" } => v?.kind === "dyn";

function ints(node: OnnxNode, name: string, dflt: number[]): number[] {
  const a = attribute(node, name);
  return Array.isArray(a) ? a : dflt;
}
function int(node: OnnxNode, name: string, dflt: number): number {
  const a = attribute(node, name);
  return typeof a === "number" ? a : dflt;
}
function float(node: OnnxNode, name: string, dflt: number): number {
  const a = attribute(node, name);
  return typeof a === "number" ? a : dflt;
}
function str(node: OnnxNode, name: string, dflt: string): string {
  const a = attribute(node, name);
  return typeof a === "string" ? a : dflt;
}

/** Elementwise Add / Sub / Mul with numpy broadcasting. */
function elementwise(c: Compiler, op: "Add" | "Sub" | "Mul", a: Value, b: Value, node: string): Value {
  const shape = broadcastShape(a.shape, b.shape);
  if (!shape) throw new Unsupported(`shapes [${a.shape}] and [${b.shape}] do not broadcast`);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const n = prod(shape);
  if (isConst(a) && isConst(b)) {
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = a.data[ia[i]!]!;
      const y = b.data[ib[i]!]!;
      data[i] = op === "Add" ? x + y : op === "Sub" ? x - y : x * y;
    }
    return { kind: "const", shape, data };
  }
  if (op === "Mul") {
    if (isDyn(a) && isDyn(b)) throw new Unsupported("Mul of two computed tensors is not supported (only by a constant)");
    const [d0, k] = isDyn(a) ? [a, b as Value & { kind: "const" }] : [b as Value & { kind: "dyn" }, a as Value & { kind: "const" }];
    const [id, ik] = isDyn(a) ? [ia, ib] : [ib, ia];
    const d = c.toE1(d0, node);
    const q = c.constQ(k.data, 1);
    const data = new Array<Lin>(n);
    for (let i = 0; i < n; i++) data[i] = linScale(d.data[id[i]!]!, q[ik[i]!]!);
    return { kind: "dyn", shape, e: 2, data };
  }
  const sign = op === "Sub" ? -1n : 1n;
  if (isDyn(a) && isDyn(b)) {
    const e = Math.max(a.e, b.e);
    const data = new Array<Lin>(n);
    for (let i = 0; i < n; i++) data[i] = linAdd(c.lift(a.data[ia[i]!]!, a.e, e), c.lift(b.data[ib[i]!]!, b.e, e), sign);
    return { kind: "dyn", shape, e, data };
  }
  // One side constant: quantize it at the other's scale.
  const d = (isDyn(a) ? a : b) as Value & { kind: "dyn" };
  const k = (isDyn(a) ? b : a) as Value & { kind: "const" };
  const q = c.constQ(k.data, d.e);
  const data = new Array<Lin>(n);
  for (let i = 0; i < n; i++) {
    const dl = d.data[(isDyn(a) ? ia : ib)[i]!]!;
    const kv = q[(isDyn(a) ? ib : ia)[i]!]!;
    // a − b: when a is the constant, negate the dynamic side.
    const out = isDyn(a) ? linScale(dl, 1n) : linScale(dl, sign);
    out.c += isDyn(a) ? sign * kv : kv;
    data[i] = out;
  }
  return { kind: "dyn", shape, e: d.e, data };
}

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

function windowGeometry(node: OnnxNode, x: readonly number[], kernel: number[], isPool: boolean) {
  if (x.length !== 4) throw new Unsupported(`only 2-D (NCHW) inputs are supported, got rank ${x.length}`);
  const [, , H, W] = x as [number, number, number, number];
  const [kH, kW] = kernel as [number, number];
  const strides_ = ints(node, "strides", [1, 1]);
  const dil = ints(node, "dilations", [1, 1]);
  let pads = ints(node, "pads", [0, 0, 0, 0]);
  const autoPad = str(node, "auto_pad", "NOTSET");
  if (isPool && int(node, "ceil_mode", 0) !== 0) throw new Unsupported("ceil_mode=1 is not supported");
  const sH = strides_[0] ?? 1;
  const sW = strides_[1] ?? 1;
  const dH = dil[0] ?? 1;
  const dW = dil[1] ?? 1;
  if (autoPad === "VALID") pads = [0, 0, 0, 0];
  else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const pad = (size: number, s: number, k: number, d: number) => Math.max(0, (Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size);
    const ph = pad(H, sH, kH, dH);
    const pw = pad(W, sW, kW, dW);
    const lo = (p: number) => (autoPad === "SAME_UPPER" ? Math.floor(p / 2) : Math.ceil(p / 2));
    pads = [lo(ph), lo(pw), ph - lo(ph), pw - lo(pw)];
  } else if (autoPad !== "NOTSET") throw new Unsupported(`auto_pad ${autoPad} is not supported`);
  const [pT, pL, pB, pR] = pads as [number, number, number, number];
  const oH = Math.floor((H + pT + pB - dH * (kH - 1) - 1) / sH) + 1;
  const oW = Math.floor((W + pL + pR - dW * (kW - 1) - 1) / sW) + 1;
  if (oH < 1 || oW < 1) throw new Unsupported("the window is larger than the padded input");
  /** Input (y, x) positions of window (oy, ox), in-bounds only. */
  const window = (oy: number, ox: number): [number, number, number, number][] => {
    const cells: [number, number, number, number][] = [];
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++) {
        const iy = oy * sH - pT + ky * dH;
        const ix = ox * sW - pL + kx * dW;
        if (iy >= 0 && iy < H && ix >= 0 && ix < W) cells.push([iy, ix, ky, kx]);
      }
    }
    return cells;
  };
  return { H, W, oH, oW, kH, kW, window };
}

type Handler = (c: Compiler, node: OnnxNode, ins: (Value | undefined)[], name: string) => Value | Value[];

const passThrough: Handler = (_c, _node, ins) => need(ins[0], "input");

function reshapeTo(v: Value, shape: number[]): Value {
  if (prod(shape) !== prod(v.shape)) throw new Unsupported(`cannot reshape [${v.shape}] to [${shape}]`);
  return { ...v, shape } as Value;
}

function constInts(v: Value | undefined, what: string): number[] {
  if (!v) throw new Unsupported(`${what} is missing`);
  if (!isConst(v)) throw new Unsupported(`${what} must be a constant`);
  return Array.from(v.data);
}

const HANDLERS: Record<string, Handler> = {
  Identity: passThrough,
  Dropout: (c, node, ins) => need(ins[0], "input"),
  Constant: (_c, node) => {
    const t = attribute(node, "value");
    if (t && typeof t === "object" && !Array.isArray(t)) return { kind: "const", shape: (t as ConstTensor).dims, data: (t as ConstTensor).data };
    const f = attribute(node, "value_float");
    if (typeof f === "number") return { kind: "const", shape: [], data: Float64Array.of(f) };
    const fs = attribute(node, "value_floats");
    if (Array.isArray(fs)) return { kind: "const", shape: [fs.length], data: Float64Array.from(fs) };
    const i = attribute(node, "value_int");
    if (typeof i === "number") return { kind: "const", shape: [], data: Float64Array.of(i) };
    const is = attribute(node, "value_ints");
    if (Array.isArray(is)) return { kind: "const", shape: [is.length], data: Float64Array.from(is) };
    throw new Unsupported("only tensor, float(s) and int(s) constants are supported");
  },
  Flatten: (_c, node, ins) => {
    const x = need(ins[0], "input");
    let axis = int(node, "axis", 1);
    if (axis < 0) axis += x.shape.length;
    return reshapeTo(x, [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))]);
  },
  Reshape: (_c, node, ins) => {
    const x = need(ins[0], "input");
    const target = constInts(ins[1], "Reshape's shape");
    const allowZero = int(node, "allowzero", 0) === 1;
    const shape = target.map((d, i) => (d === 0 && !allowZero ? x.shape[i]! : d));
    const known = prod(shape.filter((d) => d !== -1));
    return reshapeTo(
      x,
      shape.map((d) => (d === -1 ? prod(x.shape) / known : d)),
    );
  },
  Squeeze: (c, node, ins) => {
    const x = need(ins[0], "input");
    const axes = (ins[1] ? constInts(ins[1], "axes") : ints(node, "axes", [])).map((a) => (a < 0 ? a + x.shape.length : a));
    return reshapeTo(x, x.shape.filter((d, i) => (axes.length === 0 ? d !== 1 : !axes.includes(i))));
  },
  Unsqueeze: (c, node, ins) => {
    const x = need(ins[0], "input");
    const raw = ins[1] ? constInts(ins[1], "axes") : ints(node, "axes", []);
    const rank = x.shape.length + raw.length;
    const axes = raw.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
    const shape = [...x.shape];
    for (const a of axes) shape.splice(a, 0, 1);
    return reshapeTo(x, shape);
  },
  Transpose: (_c, node, ins) => {
    const x = need(ins[0], "input");
    const perm = ints(
      node,
      "perm",
      x.shape.map((_, i) => x.shape.length - 1 - i),
    );
    if (isConst(x)) {
      const r = permute(Array.from(x.data), x.shape, perm);
      return { kind: "const", shape: r.shape, data: Float64Array.from(r.data) };
    }
    const r = permute(x.data, x.shape, perm);
    return { kind: "dyn", shape: r.shape, e: x.e, data: r.data };
  },
  Concat: (c, node, ins) => {
    const xs = ins.map((v, i) => need(v, `input ${i}`));
    let axis = int(node, "axis", 0);
    const rank = xs[0]!.shape.length;
    if (axis < 0) axis += rank;
    const outer = prod(xs[0]!.shape.slice(0, axis));
    const shape = [...xs[0]!.shape];
    shape[axis] = xs.reduce((s, v) => s + v.shape[axis]!, 0);
    if (xs.every(isConst)) {
      const data: number[] = [];
      for (let o = 0; o < outer; o++) for (const v of xs) {
        const inner = prod(v.shape.slice(axis));
        data.push(...v.data.subarray(o * inner, (o + 1) * inner));
      }
      return { kind: "const", shape, data: Float64Array.from(data) };
    }
    const e = Math.max(...xs.map((v) => (isDyn(v) ? v.e : 1)));
    const parts = xs.map((v) => {
      if (isDyn(v)) return v.data.map((l) => c.lift(l, v.e, e));
      return c.constQ(v.data, e).map(linConst);
    });
    const data: Lin[] = [];
    for (let o = 0; o < outer; o++) {
      xs.forEach((v, j) => {
        const inner = prod(v.shape.slice(axis));
        data.push(...parts[j]!.slice(o * inner, (o + 1) * inner));
      });
    }
    return { kind: "dyn", shape, e, data };
  },
  Add: (c, _node, ins, name) => elementwise(c, "Add", need(ins[0], "A"), need(ins[1], "B"), name),
  Sub: (c, _node, ins, name) => elementwise(c, "Sub", need(ins[0], "A"), need(ins[1], "B"), name),
  Mul: (c, _node, ins, name) => elementwise(c, "Mul", need(ins[0], "A"), need(ins[1], "B"), name),
  Relu: (c, _node, ins, name) => {
    const x = need(ins[0], "input");
    if (isConst(x)) return { ...x, data: x.data.map((v) => Math.max(0, v)) };
    return c.relu(x, name);
  },
  Gemm: (c, node, ins, name) => {
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
  },
  MatMul: (c, node, ins, name) => {
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
    const ac = a0 as Value & { kind: "const" };
    const bd = c.toE1(b0 as Value & { kind: "dyn" }, name);
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
  },
  Conv: (c, node, ins, name) => {
    const x0 = need(ins[0], "X");
    const w0 = need(ins[1], "W");
    if (!isDyn(x0)) throw new Unsupported("X must be computed from the model's input");
    if (!isConst(w0)) throw new Unsupported("W must be a constant (an initializer)");
    const x = c.toE1(x0, name);
    const [N, C] = x.shape as [number, number];
    if (w0.shape.length !== 4) throw new Unsupported("only 2-D convolutions are supported");
    const [M, Cg, kH, kW] = w0.shape as [number, number, number, number];
    const group = int(node, "group", 1);
    if (Cg * group !== C || M % group !== 0) throw new Unsupported(`W [${w0.shape}] with group ${group} does not match X [${x.shape}]`);
    const g = windowGeometry(node, x.shape, ints(node, "kernel_shape", [kH, kW]), false);
    const Wq = c.constQ(w0.data, 1);
    let Bq: bigint[] | undefined;
    if (ins[2]) {
      if (!isConst(ins[2])) throw new Unsupported("B must be a constant");
      Bq = c.constQ(ins[2].data, 2);
    }
    const Mg = M / group;
    const out: Lin[] = [];
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        const gi = Math.floor(m / Mg);
        for (let oy = 0; oy < g.oH; oy++) {
          for (let ox = 0; ox < g.oW; ox++) {
            const acc = linConst(Bq ? Bq[m]! : 0n);
            for (const [iy, ix, ky, kx] of g.window(oy, ox)) {
              for (let cc = 0; cc < Cg; cc++) {
                const ch = gi * Cg + cc;
                linAddScaled(acc, x.data[((n * C + ch) * g.H + iy) * g.W + ix]!, Wq[((m * Cg + cc) * kH + ky) * kW + kx]!);
              }
            }
            out.push(acc);
          }
        }
      }
    }
    return { kind: "dyn", shape: [N, M, g.oH, g.oW], e: 2, data: out };
  },
  MaxPool: (c, node, ins, name) => {
    const x0 = need(ins[0], "X");
    if (!isDyn(x0)) throw new Unsupported("X must be computed from the model's input");
    if ((node.output ?? []).filter(Boolean).length > 1) throw new Unsupported("the Indices output is not supported");
    const x = c.toE1(x0, name);
    const g = windowGeometry(node, x.shape, ints(node, "kernel_shape", []), true);
    const [N, C] = x.shape as [number, number];
    const out: Lin[] = [];
    for (let nc = 0; nc < N * C; nc++) {
      for (let oy = 0; oy < g.oH; oy++) {
        for (let ox = 0; ox < g.oW; ox++) {
          const cells = g.window(oy, ox).map(([iy, ix]) => x.data[(nc * g.H + iy) * g.W + ix]!);
          let m = cells[0]!;
          for (let i = 1; i < cells.length; i++) m = c.max(cells[i]!, m, name);
          out.push(m);
        }
      }
    }
    return { kind: "dyn", shape: [N, C, g.oH, g.oW], e: 1, data: out };
  },
  AveragePool: (c, node, ins, name) => averagePool(c, node, need(ins[0], "X"), ints(node, "kernel_shape", []), int(node, "count_include_pad", 0) === 1, name),
  GlobalAveragePool: (c, node, ins, name) => {
    const x = need(ins[0], "X");
    if (x.shape.length !== 4) throw new Unsupported(`only 2-D (NCHW) inputs are supported, got rank ${x.shape.length}`);
    return averagePool(c, { ...node, attribute: [] }, x, [x.shape[2]!, x.shape[3]!], false, name);
  },
  BatchNormalization: (c, node, ins, name) => {
    const x0 = need(ins[0], "X");
    if (!isDyn(x0)) throw new Unsupported("X must be computed from the model's input");
    if ((node.output ?? []).filter(Boolean).length > 1) throw new Unsupported("training mode (extra outputs) is not supported");
    const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => ins[i]);
    if (![scale, bias, mean, variance].every(isConst)) throw new Unsupported("scale, B, mean and var must be constants");
    const eps = float(node, "epsilon", 1e-5);
    const C = x0.shape[1]!;
    const a = Array.from({ length: C }, (_, ch) => (scale as ConstTensorValue).data[ch]! / Math.sqrt((variance as ConstTensorValue).data[ch]! + eps));
    const b = Array.from({ length: C }, (_, ch) => (bias as ConstTensorValue).data[ch]! - (mean as ConstTensorValue).data[ch]! * a[ch]!);
    const x = c.toE1(x0, name);
    const aq = c.constQ(a, 1);
    const bq = c.constQ(b, 2);
    const inner = prod(x.shape.slice(2));
    const data = x.data.map((l, i) => {
      const ch = Math.floor(i / inner) % C;
      const out = linScale(l, aq[ch]!);
      out.c += bq[ch]!;
      return out;
    });
    return { kind: "dyn", shape: x.shape, e: 2, data };
  },
};

type ConstTensorValue = Value & { kind: "const" };

function averagePool(c: Compiler, node: OnnxNode, x0: Value, kernel: number[], includePad: boolean, name: string): Value {
  if (!isDyn(x0)) throw new Unsupported("X must be computed from the model's input");
  const x = c.toE1(x0, name);
  const g = windowGeometry(node, x.shape, kernel, true);
  const [N, C] = x.shape as [number, number];
  const out: Lin[] = [];
  const recips: number[] = [];
  const sums: Lin[] = [];
  for (let nc = 0; nc < N * C; nc++) {
    for (let oy = 0; oy < g.oH; oy++) {
      for (let ox = 0; ox < g.oW; ox++) {
        const cells = g.window(oy, ox);
        const acc = linConst(0n);
        for (const [iy, ix] of cells) linAddScaled(acc, x.data[(nc * g.H + iy) * g.W + ix]!, 1n);
        sums.push(acc);
        recips.push(1 / (includePad ? g.kH * g.kW : cells.length));
      }
    }
  }
  const q = c.constQ(recips, 1);
  sums.forEach((s, i) => out.push(linScale(s, q[i]!)));
  return { kind: "dyn", shape: [N, C, g.oH, g.oW], e: 2, data: out };
}

// ---------------------------------------------------------------------------------------------
// Emission

function formatLin(l: Lin, name: (s: number) => string): string {
  const parts: string[] = [];
  const keys = [...l.t.keys()].sort((a, b) => a - b);
  for (const k of keys) {
    const v = l.t.get(k)!;
    parts.push(v === 1n ? name(k) : v === -1n ? `-${name(k)}` : `${v}*${name(k)}`);
  }
  if (l.c !== 0n || parts.length === 0) parts.push(`${l.c}`);
  return balancedSum(parts);
}

/** Terms per innermost group of a long sum. */
const SUM_GROUP = 8;

/**
 * A sum written as a balanced tree of parenthesized groups: circom evaluates expressions
 * recursively, and a flat 784-term sum (a left-deep tree) overflows circom2's WASM stack.
 */
function balancedSum(parts: string[]): string {
  const join = (ps: string[]) => ps.reduce((acc, p, i) => (i === 0 ? p : p.startsWith("-") ? `${acc} - ${p.slice(1)}` : `${acc} + ${p}`), "");
  if (parts.length <= SUM_GROUP) return join(parts);
  let level = parts;
  while (level.length > SUM_GROUP) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += SUM_GROUP) next.push(`(${join(level.slice(i, i + SUM_GROUP))})`);
    level = next;
  }
  return join(level);
}

/** The tag that starts the model hash's material ("stun-zkml-v1" as a field element). */
export const MODEL_HASH_TAG = textToField(`stun-zkml-v${ZKML_COMPILER_VERSION}`);

/** PoseidonSponge([tag, k, A, n, w_1 … w_n]): the model hash over quantized constants. */
export async function modelHashOfMaterial(material: readonly bigint[], opts: ResolvedZkmlOptions): Promise<bigint> {
  return poseidonSponge([MODEL_HASH_TAG, BigInt(opts.scaleBits), BigInt(opts.activationBits), BigInt(material.length), ...material]);
}

interface Plan {
  c: Compiler;
  opts: ResolvedZkmlOptions;
  sha256: string;
  inputName: string;
  inShape: number[];
  nIn: number;
  outputs: OutputMeta[];
  outForms: Lin[];
}

/**
 * Everything but the model hash and the circom text: reads the graph, checks every operator and its
 * use, and builds the constrained steps. Fast (no hashing, no circom): `zkmlSupported` runs it.
 */
function planModel(bytes: Uint8Array, options: ZkmlOptions = {}): Plan {
  const opts = resolveOptions(options);
  const model = decodeModel(bytes);
  const bad = unsupportedOps(bytes);
  if (bad.length > 0) throw new ZkmlUnsupportedError(bad, SUPPORTED_OPS);

  const floatTypes = new Set([ELEM_FLOAT, ELEM_DOUBLE, ELEM_FLOAT16]);
  if (model.inputs.length !== 1) throw new ZkmlUnsupportedError([{ op: "graph", node: "inputs", reason: `the model has ${model.inputs.length} inputs; exactly one (float) input is supported` }], SUPPORTED_OPS);
  const gi = model.inputs[0]!;
  if (!floatTypes.has(gi.elemType)) throw new ZkmlUnsupportedError([{ op: "graph", node: gi.name, reason: "the input must be a float tensor" }], SUPPORTED_OPS);
  const inShape = gi.shape.map((d) => (typeof d === "number" && d > 0 ? d : 1));
  const nIn = prod(inShape);

  const c = new Compiler(opts, nIn);
  const values = new Map<string, Value>();
  for (const [name, t] of model.constants) values.set(name, { kind: "const", shape: t.dims, data: t.data });
  values.set(gi.name, { kind: "dyn", shape: inShape, e: 1, data: Array.from({ length: nIn }, (_, i) => linSig(i)) });

  const problems: { op: string; node: string; reason: string }[] = [];
  // Outputs of nodes that failed: nodes reading them are skipped (their inputs are unknown), so that
  // one run reports every independent problem.
  const poisoned = new Set<string>();
  model.nodes.forEach((node, i) => {
    const op = node.opType ?? "";
    const name = node.name || `#${i}`;
    c.ops[op] = (c.ops[op] ?? 0) + 1;
    if ((node.input ?? []).some((n) => poisoned.has(n))) {
      for (const o of node.output ?? []) poisoned.add(o);
      return;
    }
    try {
      const res = HANDLERS[op]!(c, node, inputsOf(node, values), name);
      const outs = Array.isArray(res) ? res : [res];
      (node.output ?? []).forEach((o, j) => {
        if (o && outs[j]) values.set(o, outs[j]!);
      });
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      problems.push({ op, node: name, reason: e.reason });
      for (const o of node.output ?? []) poisoned.add(o);
    }
  });
  if (problems.length > 0) throw new ZkmlUnsupportedError(problems, SUPPORTED_OPS);

  // Outputs, all published at exponent 2.
  const outputs: OutputMeta[] = [];
  const outForms: Lin[] = [];
  for (const o of model.outputs) {
    const v = values.get(o.name);
    if (!v) throw new ZkmlModelError(`graph output "${o.name}" is not produced by any node`);
    if (!isDyn(v)) throw new ZkmlUnsupportedError([{ op: "graph", node: o.name, reason: "a constant output is not supported" }], SUPPORTED_OPS);
    const forms = v.e > 2 ? c.toE1(v, o.name).data.map((l) => c.lift(l, 1, 2)) : v.data.map((l) => c.lift(l, v.e, 2));
    outputs.push({ name: o.name, shape: v.shape, size: forms.length, offset: 2 + outForms.length });
    outForms.push(...forms);
  }
  return { c, opts, sha256: model.sha256, inputName: gi.name, inShape, nIn, outputs, outForms };
}

/**
 * Throws ZkmlUnsupportedError (unsupported operators, or supported ones used in unsupported ways)
 * or ZkmlModelError (not a readable ONNX model) when the model cannot be compiled; no hashing, no circom.
 */
export function checkModel(bytes: Uint8Array, options: ZkmlOptions = {}): void {
  planModel(bytes, options);
}

/**
 * Compiles an ONNX model to a circom circuit (source and metadata; no circom run). Throws
 * ZkmlUnsupportedError for unsupported operators or uses of them, ZkmlModelError for unreadable models.
 */
export async function buildModelCircuit(bytes: Uint8Array, options: ZkmlOptions = {}): Promise<ModelCircuit> {
  const { c, opts, sha256, inputName, inShape, nIn, outputs, outForms } = planModel(bytes, options);
  const modelHash = await modelHashOfMaterial(c.material, opts);
  const nChunks = spongeChunks(nIn);
  const source = emit(c, { modelHash, outForms, nIn, nChunks, onnxSha256: sha256, outputs, inputName, inShape });

  const rescales = c.steps.filter((s) => s.kind === "rescale");
  const stepConstraints = c.steps.reduce((s, st) => s + st.nBits + (st.kind === "max" || st.relu ? 1 : 0), 0);
  return {
    source,
    onnxSha256: sha256,
    options: opts,
    modelHash: modelHash.toString(),
    input: { name: inputName, shape: inShape, size: nIn },
    outputs,
    outputScaleBits: 2 * opts.scaleBits,
    nPublic: 4 + outForms.length,
    ops: c.ops,
    stats: {
      parameters: c.material.length,
      rescales: rescales.filter((s) => !(s as { relu: boolean }).relu).length,
      relus: rescales.filter((s) => (s as { relu: boolean }).relu).length,
      maxes: c.steps.length - rescales.length,
      estimatedConstraints: stepConstraints + (opts.commitInput ? 612 * nChunks - 3 : 0) + 1,
    },
    plan: { steps: c.steps, nInputs: nIn, outputs: outForms },
  };
}

function emit(
  c: Compiler,
  m: { modelHash: bigint; outForms: Lin[]; nIn: number; nChunks: number; onnxSha256: string; outputs: OutputMeta[]; inputName: string; inShape: number[] },
): string {
  const name = (s: number): string => (s < m.nIn ? `in[${s}]` : `c${s}.out`);
  const L: string[] = [];
  const { scaleBits: k, activationBits: A, commitInput } = c.opts;
  L.push("pragma circom 2.1.0;", "");
  L.push('include "fixed_rescale.circom";', 'include "fixed_relu.circom";', 'include "fixed_max.circom";', 'include "poseidon_sponge.circom";', "");
  L.push("/*");
  L.push(` * Generated by @stun/circuits zkml v${ZKML_COMPILER_VERSION} from ONNX sha256 ${m.onnxSha256}.`);
  L.push(` * Proves out = model(in) in fixed point: scale 2^${k}, activations within ±2^${A - 1} (at scale 2^${k}).`);
  L.push(` * Input "${m.inputName}" [${m.inShape.join(",")}] (private, ${m.nIn} values at scale 2^${k}).`);
  L.push(` * Outputs at scale 2^${2 * k}: ${m.outputs.map((o) => `"${o.name}" [${o.shape.join(",")}]`).join(", ")}.`);
  L.push(" * publicSignals: [modelHash, inputHash, out[0..], taskId, provider].");
  L.push(" */");
  L.push("template StunModel() {");
  L.push("    signal input taskId;", "    signal input provider;", `    signal input in[${m.nIn}];`);
  L.push("    signal output modelHash;", "    signal output inputHash;", `    signal output out[${m.outForms.length}];`, "");
  L.push("    // taskId and provider are in no constraint here: snarkjs' Groth16 setup adds one constraint per");
  L.push("    // public signal, which binds them to the proof (a proof for another task or provider fails).");
  L.push(`    modelHash <== ${m.modelHash};`);
  if (commitInput) {
    L.push(`    component inputSponge = PoseidonSponge(${m.nChunks});`);
    L.push(`    for (var i = 0; i < ${m.nIn}; i++) {`, "        inputSponge.in[i] <== in[i];", "    }");
    if (m.nIn < m.nChunks * SPONGE_CHUNK) L.push(`    for (var i = ${m.nIn}; i < ${m.nChunks * SPONGE_CHUNK}; i++) {`, "        inputSponge.in[i] <== 0;", "    }");
    L.push("    inputHash <== inputSponge.out;");
  } else {
    L.push("    inputHash <== 0;");
  }
  L.push("");
  for (const st of c.steps) {
    const id = `c${st.out}`;
    if (st.kind === "rescale") {
      L.push(`    component ${id} = ${st.relu ? "FixedRelu" : "FixedRescale"}(${st.nBits}, ${st.shift}); // ${st.node}`);
      L.push(`    ${id}.in <== ${formatLin(st.input, name)};`);
    } else {
      L.push(`    component ${id} = FixedMax(${st.nBits}); // ${st.node}`);
      L.push(`    ${id}.a <== ${formatLin(st.a, name)};`, `    ${id}.b <== ${formatLin(st.b, name)};`);
    }
  }
  L.push("");
  m.outForms.forEach((l, i) => L.push(`    out[${i}] <== ${formatLin(l, name)};`));
  L.push("}", "", "component main {public [taskId, provider]} = StunModel();", "");
  return L.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Simulation: the circuit's arithmetic in JavaScript

/** The quantized input as integers (round(x · 2^k)), in the circuit's order (row-major). */
export function quantizeInput(circuit: ModelCircuit, input: ArrayLike<number>): bigint[] {
  if (input.length !== circuit.input.size) throw new RangeError(`the input has ${input.length} values, the circuit takes ${circuit.input.size} ([${circuit.input.shape}])`);
  return Array.from(input, (x) => quantize(x, circuit.options.scaleBits));
}

/** inputHash as the circuit computes it (0 when the circuit does not commit to its input). */
export async function inputHashOf(circuit: ModelCircuit, input: ArrayLike<number>): Promise<string> {
  if (!circuit.options.commitInput) return "0";
  return (await poseidonSponge(quantizeInput(circuit, input), spongeChunks(circuit.input.size))).toString();
}

export interface SimulatedOutputs {
  /** Each graph output dequantized (value / 2^2k), with its name and shape. */
  outputs: { name: string; shape: number[]; data: Float64Array }[];
  /** The integers the circuit publishes as outputs (scale 2^2k), signed. */
  raw: bigint[];
}

/**
 * Runs the circuit's integer arithmetic on an input: exactly the outputs a proof will publish.
 * Throws ZkmlRangeError (naming the node) when a value leaves the proven range — the case in which
 * no witness exists.
 */
export function simulate(circuit: ModelCircuit, input: ArrayLike<number>): SimulatedOutputs {
  const q = quantizeInput(circuit, input);
  const vals: bigint[] = new Array(circuit.plan.nInputs + circuit.plan.steps.length);
  q.forEach((v, i) => (vals[i] = v));
  for (const st of circuit.plan.steps) {
    const half = 1n << BigInt(st.nBits - 1);
    if (st.kind === "rescale") {
      const v = evalLin(st.input, vals);
      if (v < -half || v >= half) {
        throw new ZkmlRangeError(
          `node "${st.node}": value ${v} is outside ±2^${st.nBits - 1} (|x| ≥ ${2 ** (st.nBits - 1 - st.shift - circuit.options.scaleBits)}); compile with a larger activationBits`,
        );
      }
      const r = v >> BigInt(st.shift);
      vals[st.out] = st.relu && r < 0n ? 0n : r;
    } else {
      const a = evalLin(st.a, vals);
      const b = evalLin(st.b, vals);
      if (a - b < -half || a - b >= half) throw new ZkmlRangeError(`node "${st.node}": MaxPool operands differ by more than 2^${st.nBits - 1}; compile with a larger activationBits`);
      vals[st.out] = a >= b ? a : b;
    }
  }
  const raw = circuit.plan.outputs.map((l) => evalLin(l, vals));
  const half = FIELD_P / 2n;
  for (const r of raw) if (r > half || r < -half) throw new ZkmlRangeError("an output wrapped around the field");
  const scale = 2 ** circuit.outputScaleBits;
  return {
    raw,
    outputs: circuit.outputs.map((o) => ({
      name: o.name,
      shape: o.shape,
      data: Float64Array.from(raw.slice(o.offset - 2, o.offset - 2 + o.size), (v) => Number(v) / scale),
    })),
  };
}

/** The circuit's witness input (the JSON object circom's witness calculator reads), in the provider agents' own encoding (@stun/shared). */
export function witnessInput(circuit: ModelCircuit, input: ArrayLike<number>, taskId: bigint, provider: bigint): Record<string, string | string[]> {
  return zkWitnessInput({ taskSignal: taskId.toString(), providerSignal: provider.toString(), scaleBits: circuit.options.scaleBits, inputSize: circuit.input.size }, input);
}
