/**
 * Simulation: the circuit's integer arithmetic in JavaScript, step for step, so a caller learns the
 * outputs a proof will publish (and whether a witness exists) without running circom or snarkjs.
 */
import { zkWitnessInput } from "@stun/shared";
import { FIELD_P, quantize } from "../lib/field";
import { poseidonSponge, spongeChunks } from "../lib/poseidon";
import { ZkmlRangeError } from "./errors";
import { evalLin } from "./linear";
import type { ModelCircuit } from "./model-circuit";

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
  q.forEach((v, i) => {
    vals[i] = v;
  });
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
