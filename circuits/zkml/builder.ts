/**
 * The circuit under construction: the constrained steps (rescales, ReLUs, maxes, each a component
 * with one new output signal), the quantized constants the model hash covers, and the scale
 * bookkeeping every operator shares.
 */
import { quantize } from "../lib/field";
import { type Lin, linConst, linScale, linSig } from "./linear";
import type { ResolvedZkmlOptions } from "./options";
import type { DynValue } from "./value";

/** One constrained step: a component whose output is a new signal. */
export type Step = { kind: "rescale"; input: Lin; nBits: number; shift: number; relu: boolean; out: number; node: string } | { kind: "max"; a: Lin; b: Lin; nBits: number; out: number; node: string };

type StepWithoutOut = Step extends infer S ? (S extends Step ? Omit<S, "out"> : never) : never;

export class CircuitBuilder {
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
  toE1(v: DynValue, node: string): DynValue {
    if (v.e === 1) return v;
    return { kind: "dyn", shape: v.shape, e: 1, data: v.data.map((l) => this.rescale(l, v.e, false, node)) };
  }

  relu(v: DynValue, node: string): DynValue {
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
