/** What the compiler hands back: the circom source, the public signals' layout, and the plan `simulate` replays. */
import type { Step } from "./builder";
import type { Lin } from "./linear";
import type { ResolvedZkmlOptions } from "./options";

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
