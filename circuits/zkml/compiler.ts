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
 *
 * The modules, in pipeline order: options.ts (k, A), linear.ts (linear forms), shapes.ts, value.ts
 * (constant or computed tensors), builder.ts (the constrained steps and the model hash's material),
 * ops/ (one file per operator family, registered in ops/index.ts), plan.ts (the graph walk),
 * model-hash.ts, emit.ts (circom text) and simulate.ts (the same arithmetic in JavaScript).
 */
import { spongeChunks } from "../lib/poseidon";
import { emitCircom } from "./emit";
import type { ModelCircuit } from "./model-circuit";
import { modelHashOfMaterial } from "./model-hash";
import type { ZkmlOptions } from "./options";
import { planModel } from "./plan";

export { SUPPORTED_OPS } from "./ops";
export { ZKML_COMPILER_VERSION, type ResolvedZkmlOptions, type ZkmlOptions } from "./options";
export type { ModelCircuit, OutputMeta, TensorMeta } from "./model-circuit";
export { MODEL_HASH_TAG, modelHashOfMaterial } from "./model-hash";
export { unsupportedOps } from "./plan";
export { type SimulatedOutputs, inputHashOf, quantizeInput, simulate, witnessInput } from "./simulate";

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
  const source = emitCircom(c, { modelHash, outForms, nIn, nChunks, onnxSha256: sha256, outputs, inputName, inShape });

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
      rescales: rescales.filter((s) => !s.relu).length,
      relus: rescales.filter((s) => s.relu).length,
      maxes: c.steps.length - rescales.length,
      estimatedConstraints: stepConstraints + (opts.commitInput ? 612 * nChunks - 3 : 0) + 1,
    },
    plan: { steps: c.steps, nInputs: nIn, outputs: outForms },
  };
}
