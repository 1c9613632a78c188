/**
 * The simulated workload: a tiny pure-TS model (y = tanh(W·x + b), 8 inputs → 16 outputs), its
 * true answers, and what each kind of provider returns for a task. Outputs are real RawTensors
 * (float32, little-endian bytes), compared by the real comparator.
 */
import { fromTypedArray, type Backend, type RawTensor } from "@stun/shared";

export const IN = 8;
export const OUT = 16;
export const OUTPUT_NAME = "y";

export type Rng = () => number;
export type Outputs = Record<string, RawTensor>;

/** Standard normal draw (Box–Muller). */
export function gauss(rng: Rng): number {
  const u = 1 - rng(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** A dense layer with tanh, its weights drawn from `rng`. */
export class TinyModel {
  private readonly w: Float64Array;
  private readonly b: Float64Array;
  constructor(rng: Rng) {
    this.w = Float64Array.from({ length: OUT * IN }, () => gauss(rng) / Math.sqrt(IN));
    this.b = Float64Array.from({ length: OUT }, () => 0.1 * gauss(rng));
  }
  /** The float64 evaluation of the model (the exact answer before float32 rounding). */
  run(x: Float32Array): Float64Array {
    const y = new Float64Array(OUT);
    for (let o = 0; o < OUT; o++) {
      let s = this.b[o]!;
      for (let i = 0; i < IN; i++) s += this.w[o * IN + i]! * x[i]!;
      y[o] = Math.tanh(s);
    }
    return y;
  }
}

export const toOutputs = (values: ArrayLike<number>): Outputs => ({
  [OUTPUT_NAME]: fromTypedArray({ dtype: "float32", dims: [1, OUT], data: Float32Array.from(values) }),
});

/**
 * Honest numeric noise per backend: each element is multiplied by (1 + σ·N(0,1)). Real kernels
 * differ by reduction order, fused ops and (webgpu) relaxed precision; the spread is heterogeneous
 * but well within the default float32 tolerance (abs 1e-4 + rel 1e-3).
 */
export const BACKEND_NOISE: Readonly<Record<Backend, number>> = { cpu: 1e-7, wasm: 1e-7, cuda: 1e-6, webgpu: 1e-4 };

export function honestOutput(truth: Float64Array, backend: Backend, rng: Rng): Outputs {
  const sigma = BACKEND_NOISE[backend];
  return toOutputs(Array.from(truth, (v) => v * (1 + sigma * gauss(rng))));
}

/** A subtly broken run (wrong weights, a skipped op): every element off by ~2% (tolerance is 0.1%). */
export function brokenOutput(truth: Float64Array, rng: Rng): Outputs {
  return toOutputs(Array.from(truth, (v) => v * (1 + 0.02 * gauss(rng)) + 0.01 * gauss(rng)));
}

/** A lazy provider's answer: plausible-looking random values in tanh's range, no model run. */
export function randomOutput(rng: Rng): Outputs {
  return toOutputs(Array.from({ length: OUT }, () => 2 * rng() - 1));
}
