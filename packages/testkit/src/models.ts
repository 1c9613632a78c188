/**
 * Real ONNX models for tests and benchmarks, built in TypeScript (see onnx-builder.ts), each with a
 * pure-JS reference where that is cheap enough, plus locations of models shipped in npm packages.
 */
import { createRequire } from "node:module";
import { float32ToFloat16, type Dtype, type WireTensor } from "@stun/shared";
import { type Dim, GraphBuilder, attr, bytesOf, mulberry32, onnx, type NumericArray, tensorProto, uniformF32 } from "./onnx-builder";

// ---------------------------------------------------------------------------------------------
// MLP

export interface MlpOptions {
  inputSize: number;
  hidden: number[];
  outputSize: number;
  /** PRNG seed for the weights (default 1). */
  seed?: number;
  /** Batch dimension: a fixed size, or "N" for a dynamic one (default "N"). */
  batch?: number | "N";
}

export interface MlpLayer {
  inSize: number;
  outSize: number;
  /** Row-major [inSize, outSize]. */
  weight: Float32Array;
  bias: Float32Array;
}

export interface BuiltMlp {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  inputShape: Dim[];
  outputShape: Dim[];
  layers: MlpLayer[];
  /** Pure-JS reference: x is [batch, inputSize] row-major, returns [batch, outputSize]. */
  forward(x: Float32Array, batch: number): Float32Array;
}

function dense(x: Float32Array, batch: number, layer: MlpLayer, relu: boolean): Float32Array {
  const { inSize, outSize, weight, bias } = layer;
  if (x.length !== batch * inSize) throw new RangeError(`expected ${batch * inSize} inputs, got ${x.length}`);
  const out = new Float32Array(batch * outSize);
  const acc = new Float64Array(outSize);
  for (let r = 0; r < batch; r++) {
    for (let j = 0; j < outSize; j++) acc[j] = bias[j]!;
    for (let k = 0; k < inSize; k++) {
      const xv = x[r * inSize + k]!;
      if (xv === 0) continue;
      const row = k * outSize;
      for (let j = 0; j < outSize; j++) acc[j]! += xv * weight[row + j]!;
    }
    for (let j = 0; j < outSize; j++) {
      const v = acc[j]!;
      out[r * outSize + j] = relu && v < 0 ? 0 : v;
    }
  }
  return out;
}

/**
 * A float32 MLP: hidden layers are Gemm + Relu, the last layer MatMul + Add (so both paths are
 * exercised). Weights are Xavier-uniform from a seeded PRNG, biases uniform in ±0.1.
 */
export function buildMlp(opts: MlpOptions): BuiltMlp {
  const { inputSize, hidden, outputSize } = opts;
  const batch = opts.batch ?? "N";
  const rand = mulberry32(opts.seed ?? 1);
  const sizes = [inputSize, ...hidden, outputSize];
  const layers: MlpLayer[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const inSize = sizes[i]!;
    const outSize = sizes[i + 1]!;
    const scale = Math.sqrt(6 / (inSize + outSize));
    layers.push({ inSize, outSize, weight: uniformF32(rand, inSize * outSize, scale), bias: uniformF32(rand, outSize, 0.1) });
  }

  const g = new GraphBuilder("mlp");
  const inputShape: Dim[] = [batch, inputSize];
  const outputShape: Dim[] = [batch, outputSize];
  let h = g.input("x", "float32", inputShape);
  layers.forEach((l, i) => {
    const w = g.initializer(`w${i}`, "float32", [l.inSize, l.outSize], l.weight);
    const b = g.initializer(`b${i}`, "float32", [l.outSize], l.bias);
    if (i < layers.length - 1) {
      h = g.op("Relu", [g.op("Gemm", [h, w, b])]);
    } else {
      h = g.op("Add", [g.op("MatMul", [h, w]), b], {}, "y");
    }
  });
  g.output("y", "float32", outputShape);

  return {
    bytes: g.build(),
    inputName: "x",
    outputName: "y",
    inputShape,
    outputShape,
    layers,
    forward(x, n) {
      let cur = x;
      layers.forEach((l, i) => {
        cur = dense(cur, n, l, i < layers.length - 1);
      });
      return cur;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Identity (every dtype)

/** A 4 → 3 MatMul followed by a Softmax: a classifier head the zkML compiler cannot prove (Softmax). */
export function buildSoftmaxModel(): Uint8Array {
  const g = new GraphBuilder("softmax");
  g.input("x", "float32", [1, 4]);
  const w = g.initializer("w", "float32", [4, 3], uniformF32(mulberry32(1), 12, 0.5));
  g.op("Softmax", [g.op("MatMul", ["x", w])], { axis: attr.int(1) }, "y");
  g.output("y", "float32", [1, 3]);
  return g.build();
}

export interface BuiltIdentity {
  bytes: Uint8Array;
  dtype: Dtype;
  dims: Dim[];
  inputName: string;
  outputName: string;
}

/**
 * One input `x` → Identity → one output `y`. onnxruntime-node's CPU Identity kernel (opset 16+)
 * covers every dtype in DTYPES, float16/bool/string/uint64 included (checked by the provider tests).
 */
export function buildIdentityModel(dtype: Dtype, dims: Dim[] = [2, 3]): BuiltIdentity {
  const g = new GraphBuilder(`identity_${dtype}`);
  g.input("x", dtype, dims);
  g.op("Identity", ["x"], {}, "y");
  g.output("y", dtype, dims);
  return { bytes: g.build(), dtype, dims, inputName: "x", outputName: "y" };
}

// ---------------------------------------------------------------------------------------------
// Several inputs and outputs of different dtypes

export interface MultiIOInputs {
  a: Float32Array;
  b: Float32Array;
  c: BigInt64Array;
}
export interface MultiIOOutputs {
  sum: Float32Array;
  c_f64: Float64Array;
  a_gt_b: Uint8Array;
}

export interface BuiltMultiIO {
  bytes: Uint8Array;
  inputs: { name: keyof MultiIOInputs; dtype: Dtype; dims: number[] }[];
  outputs: { name: keyof MultiIOOutputs; dtype: Dtype; dims: number[] }[];
  forward(x: MultiIOInputs): MultiIOOutputs;
}

/**
 * Inputs a, b: float32 [2,3]; c: int64 [4]. Outputs sum = a + b (float32 [2,3]),
 * c_f64 = Cast(c → float64) [4], a_gt_b = a > b (bool [2,3]).
 */
export function buildMultiIO(): BuiltMultiIO {
  const g = new GraphBuilder("multi_io");
  g.input("a", "float32", [2, 3]);
  g.input("b", "float32", [2, 3]);
  g.input("c", "int64", [4]);
  g.op("Add", ["a", "b"], {}, "sum");
  g.op("Cast", ["c"], { to: attr.int(onnx.TensorProto.DataType.DOUBLE) }, "c_f64");
  g.op("Greater", ["a", "b"], {}, "a_gt_b");
  g.output("sum", "float32", [2, 3]);
  g.output("c_f64", "float64", [4]);
  g.output("a_gt_b", "bool", [2, 3]);
  return {
    bytes: g.build(),
    inputs: [
      { name: "a", dtype: "float32", dims: [2, 3] },
      { name: "b", dtype: "float32", dims: [2, 3] },
      { name: "c", dtype: "int64", dims: [4] },
    ],
    outputs: [
      { name: "sum", dtype: "float32", dims: [2, 3] },
      { name: "c_f64", dtype: "float64", dims: [4] },
      { name: "a_gt_b", dtype: "bool", dims: [2, 3] },
    ],
    forward({ a, b, c }) {
      return {
        sum: Float32Array.from(a, (v, i) => v + b[i]!),
        c_f64: Float64Array.from(c, (v) => Number(v)),
        a_gt_b: Uint8Array.from(a, (v, i) => (v > b[i]! ? 1 : 0)),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Small CNN classifier

export interface BuiltCnn {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  inputShape: number[];
  outputShape: number[];
  classes: number;
  /** Pure-JS reference: x is [1,1,8,8], returns the 10 logits. */
  forward(x: Float32Array): Float32Array;
}

/**
 * `image` [1,1,8,8] → Conv(8 filters 3×3, pad 1) → Relu → MaxPool 2×2 → GlobalAveragePool →
 * Flatten → Gemm(8 → 10) → `logits` [1,10].
 */
export function buildSmallCnn(opts: { seed?: number } = {}): BuiltCnn {
  const rand = mulberry32(opts.seed ?? 7);
  const C = 8;
  const K = 3;
  const H = 8;
  const classes = 10;
  const convW = uniformF32(rand, C * K * K, Math.sqrt(6 / (K * K + C)));
  const convB = uniformF32(rand, C, 0.1);
  const fcW = uniformF32(rand, C * classes, Math.sqrt(6 / (C + classes)));
  const fcB = uniformF32(rand, classes, 0.1);

  const g = new GraphBuilder("small_cnn");
  g.input("image", "float32", [1, 1, H, H]);
  const w = g.initializer("conv_w", "float32", [C, 1, K, K], convW);
  const b = g.initializer("conv_b", "float32", [C], convB);
  const conv = g.op("Conv", ["image", w, b], { kernel_shape: attr.ints([K, K]), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([1, 1]) });
  const relu = g.op("Relu", [conv]);
  const pool = g.op("MaxPool", [relu], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });
  const gap = g.op("GlobalAveragePool", [pool]);
  const flat = g.op("Flatten", [gap], { axis: attr.int(1) });
  const fw = g.initializer("fc_w", "float32", [C, classes], fcW);
  const fb = g.initializer("fc_b", "float32", [classes], fcB);
  g.op("Gemm", [flat, fw, fb], {}, "logits");
  g.output("logits", "float32", [1, classes]);

  return {
    bytes: g.build(),
    inputName: "image",
    outputName: "logits",
    inputShape: [1, 1, H, H],
    outputShape: [1, classes],
    classes,
    forward(x) {
      if (x.length !== H * H) throw new RangeError(`expected ${H * H} inputs, got ${x.length}`);
      const P = H / 2;
      const feat = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        // conv + relu
        const act = new Float64Array(H * H);
        for (let y = 0; y < H; y++) {
          for (let xx = 0; xx < H; xx++) {
            let s = convB[c]!;
            for (let ky = 0; ky < K; ky++) {
              for (let kx = 0; kx < K; kx++) {
                const iy = y + ky - 1;
                const ix = xx + kx - 1;
                if (iy < 0 || iy >= H || ix < 0 || ix >= H) continue;
                s += x[iy * H + ix]! * convW[c * K * K + ky * K + kx]!;
              }
            }
            act[y * H + xx] = Math.max(0, Math.fround(s));
          }
        }
        // maxpool 2x2 then global average
        let sum = 0;
        for (let py = 0; py < P; py++) {
          for (let px = 0; px < P; px++) {
            const i = 2 * py * H + 2 * px;
            sum += Math.max(act[i]!, act[i + 1]!, act[i + H]!, act[i + H + 1]!);
          }
        }
        feat[c] = sum / (P * P);
      }
      const out = new Float32Array(classes);
      for (let j = 0; j < classes; j++) {
        let s = fcB[j]!;
        for (let c = 0; c < C; c++) s += feat[c]! * fcW[c * classes + j]!;
        out[j] = s;
      }
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A deliberately slow model

export interface SlowModelOptions {
  /** Rough target run time on one CPU session; sets `steps` from MS_PER_STEP (default 300). */
  ms?: number;
  /** Matrix side (default 512). */
  size?: number;
  /** Number of MatMul+Tanh steps (overrides `ms`). */
  steps?: number;
}

export interface BuiltSlowModel {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  inputShape: number[];
  outputShape: number[];
  size: number;
  steps: number;
}

/**
 * Milliseconds one 512×512 MatMul+Tanh step took in onnxruntime-node (CPU, 2 cores, default
 * threads) where this was calibrated. Faster machines run the model faster: tests that need a task
 * to be in flight should wait for it to start rather than rely on exact timing.
 */
export const SLOW_MODEL_MS_PER_STEP = 6;

/**
 * `x` [1,size] float32 → h = A + x (broadcast to [size,size]) → `steps` × (h = Tanh(h·A)) →
 * ReduceMean over rows → `y` [1,size]. Everything depends on the input, so nothing is folded away
 * at load time; the single weight A is shared by all steps (the file stays ~1 MB).
 */
export function buildSlowModel(opts: number | SlowModelOptions = {}): BuiltSlowModel {
  const o: SlowModelOptions = typeof opts === "number" ? { ms: opts } : opts;
  const size = o.size ?? 512;
  const perStep = SLOW_MODEL_MS_PER_STEP * (size / 512) ** 3;
  const steps = o.steps ?? Math.max(1, Math.round((o.ms ?? 300) / perStep));
  const rand = mulberry32(12345);
  const A = uniformF32(rand, size * size, Math.sqrt(3 / size));

  const g = new GraphBuilder("slow");
  g.input("x", "float32", [1, size]);
  const a = g.initializer("A", "float32", [size, size], A);
  let h = g.op("Add", [a, "x"]);
  for (let i = 0; i < steps; i++) h = g.op("Tanh", [g.op("MatMul", [h, a])]);
  g.op("ReduceMean", [h], { axes: attr.ints([0]), keepdims: attr.int(1) }, "y");
  g.output("y", "float32", [1, size]);
  return { bytes: g.build(), inputName: "x", outputName: "y", inputShape: [1, size], outputShape: [1, size], size, steps };
}

// ---------------------------------------------------------------------------------------------
// Abusive models (security issue #12): tiny files that cost the server a lot to run

/**
 * `x` float32 [side,side] → Identity → `y`: ~130 bytes whose fixed input shape makes anyone who
 * generates an input for it (the server's upload calibration did) allocate and fill side² floats —
 * 25 M at the default 5000.
 */
export function buildLargeInputModel(side = 5000): Uint8Array {
  const g = new GraphBuilder("large_input");
  g.input("x", "float32", [side, side]);
  g.op("Identity", ["x"], {}, "y");
  g.output("y", "float32", [side, side]);
  return g.build();
}

/**
 * `x` float32 [1] + ConstantOfShape([side,side]) → `y` (shape undeclared): ~290 bytes that build
 * a side² float constant (8000² = 256 MB) — at load time where graph optimizations fold constants,
 * else at run time — and return a tensor as large.
 */
export function buildConstantBombModel(side = 8000): Uint8Array {
  const g = new GraphBuilder("constant_bomb");
  g.input("x", "float32", [1]);
  const shape = g.initializer("shape", "int64", [2], BigInt64Array.of(BigInt(side), BigInt(side)));
  const c = g.op("ConstantOfShape", [shape], { value: attr.tensor(tensorProto("value", "float32", [1], Float32Array.of(1))) });
  g.op("Add", ["x", c], {}, "y");
  g.output("y", "float32");
  return g.build();
}

// ---------------------------------------------------------------------------------------------
// Models shipped in npm packages

const require = createRequire(import.meta.url);

/** Absolute path of Silero VAD v5 shipped in @ricky0123/vad-web (~2.3 MB). */
export function sileroVadPath(): string {
  return require.resolve("@ricky0123/vad-web/dist/silero_vad_v5.onnx");
}

/**
 * A valid input set for Silero VAD v5, as wire tensors (raw little-endian bytes):
 * `input` float32 [1,512] (32 ms of 16 kHz audio: a deterministic tone plus noise),
 * `state` float32 [2,1,128] (zeros: the first chunk), `sr` int64 [] = 16000.
 * Outputs: `output` float32 [1,1] (speech probability), `stateN` float32 [2,1,128].
 */
export function sileroVadInputs(opts: { seed?: number; samples?: number } = {}): Record<"input" | "state" | "sr", WireTensor> {
  const n = opts.samples ?? 512;
  const rand = mulberry32(opts.seed ?? 3);
  const audio = new Float32Array(n);
  for (let i = 0; i < n; i++) audio[i] = 0.5 * Math.sin((2 * Math.PI * 220 * i) / 16000) + 0.05 * (rand() * 2 - 1);
  return {
    input: wireTensor("float32", [1, n], audio),
    state: wireTensor("float32", [2, 1, 128], new Float32Array(256)),
    sr: wireTensor("int64", [], BigInt64Array.of(16000n)),
  };
}

// ---------------------------------------------------------------------------------------------
// Tensors for tests

/** A wire tensor (raw little-endian bytes, or strings) from a typed array. */
export function wireTensor(dtype: Dtype, dims: number[], data: NumericArray | string[]): WireTensor {
  return { dtype, dims, data: Array.isArray(data) ? data : bytesOf(data).slice() };
}

/** float32 → IEEE half bits (round to nearest even); @stun/shared's `float32ToFloat16`. */
export const float32ToFloat16Bits = float32ToFloat16;

/** A deterministic wire tensor of any dtype with values that are valid for it (no NaN). */
export function sampleTensor(dtype: Dtype, dims: number[], seed = 1): WireTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const rand = mulberry32(seed);
  const int = (lo: number, hi: number) => Math.floor(lo + rand() * (hi - lo + 1));
  switch (dtype) {
    case "float32":
      return wireTensor(
        dtype,
        dims,
        Float32Array.from({ length: n }, () => rand() * 20 - 10),
      );
    case "float64":
      return wireTensor(
        dtype,
        dims,
        Float64Array.from({ length: n }, () => rand() * 2e6 - 1e6),
      );
    case "float16":
      return wireTensor(
        dtype,
        dims,
        Uint16Array.from({ length: n }, () => float32ToFloat16Bits(rand() * 200 - 100)),
      );
    case "int8":
      return wireTensor(
        dtype,
        dims,
        Int8Array.from({ length: n }, () => int(-128, 127)),
      );
    case "int16":
      return wireTensor(
        dtype,
        dims,
        Int16Array.from({ length: n }, () => int(-32768, 32767)),
      );
    case "int32":
      return wireTensor(
        dtype,
        dims,
        Int32Array.from({ length: n }, () => int(-2147483648, 2147483647)),
      );
    case "int64":
      return wireTensor(
        dtype,
        dims,
        BigInt64Array.from({ length: n }, (_, i) => (BigInt(int(-2147483648, 2147483647)) << 31n) ^ BigInt(i)),
      );
    case "uint8":
      return wireTensor(
        dtype,
        dims,
        Uint8Array.from({ length: n }, () => int(0, 255)),
      );
    case "uint16":
      return wireTensor(
        dtype,
        dims,
        Uint16Array.from({ length: n }, () => int(0, 65535)),
      );
    case "uint32":
      return wireTensor(
        dtype,
        dims,
        Uint32Array.from({ length: n }, () => int(0, 4294967295)),
      );
    case "uint64":
      return wireTensor(
        dtype,
        dims,
        BigUint64Array.from({ length: n }, () => (BigInt(int(0, 4294967295)) << 32n) | BigInt(int(0, 4294967295))),
      );
    case "bool":
      return wireTensor(
        dtype,
        dims,
        Uint8Array.from({ length: n }, () => (rand() < 0.5 ? 1 : 0)),
      );
    case "string":
      return wireTensor(
        dtype,
        dims,
        Array.from({ length: n }, (_, i) => (i % 3 === 0 ? "" : `s${i}-${int(0, 1e6)}-ünï`)),
      );
  }
}
