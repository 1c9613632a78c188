/**
 * zkML: prove that `output = model(input)` for an ONNX model, with Groth16 (circom + snarkjs).
 *
 *   zkmlSupported(onnx)            → can this model be proven? (else the unsupported ops)
 *   compileModelCircuit(onnx)      → circuit + proving/verification keys (cached by content)
 *   proveInference(model, input)   → { proof, publicSignals, outputs }
 *   verifyInference(vkey, proof, publicSignals, expectedModelHash, …) → boolean
 *
 * See compiler.ts for the fixed-point scheme and the public signals' layout.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CompiledCircuit, compileCircuit } from "../lib/circom";
import { FIELD_P, addressToField, fromFieldSigned, taskIdToField, toField } from "../lib/field";
import { type CircuitKeys, type SetupOptions, setupKeys } from "../lib/keys";
import { BUILD_DIR } from "../lib/paths";
import { type Groth16Proof, type VerificationKey, groth16Prove, groth16Verify, solidityVerifier } from "../lib/snark";
import { type ModelCircuit, type ZkmlOptions, SUPPORTED_OPS, buildModelCircuit, checkModel, simulate, unsupportedOps, witnessInput } from "./compiler";
import { type UnsupportedOp, ZkmlError, ZkmlModelError, ZkmlUnsupportedError } from "./errors";

export * from "./errors";
export { SUPPORTED_OPS, ZKML_COMPILER_VERSION, buildModelCircuit, checkModel, inputHashOf, modelHashOfMaterial, quantizeInput, simulate, witnessInput } from "./compiler";
export type { ModelCircuit, OutputMeta, ResolvedZkmlOptions, SimulatedOutputs, TensorMeta, ZkmlOptions } from "./compiler";

export type ZkmlSupport = { supported: true } | { supported: false; code: "MODEL_NOT_PROVABLE" | "MODEL_INVALID"; unsupported: UnsupportedOp[]; message: string };

/**
 * Whether the compiler can prove this model: every operator supported, and used in a supported way
 * (weights that are constants, one float input, 2-D convolutions, …). Runs the compiler's front end
 * (no hashing, no circom: milliseconds for an MLP, ~0.5 s for 44k parameters). The server answers
 * 400 MODEL_NOT_PROVABLE with `message` (and `unsupported` as details) when it is not.
 */
export function zkmlSupported(onnxBytes: Uint8Array, opts: ZkmlOptions = {}): ZkmlSupport {
  try {
    const bad = unsupportedOps(onnxBytes);
    if (bad.length > 0) return { supported: false, code: "MODEL_NOT_PROVABLE", unsupported: bad, message: new ZkmlUnsupportedError(bad, SUPPORTED_OPS).message };
    checkModel(onnxBytes, opts);
    return { supported: true };
  } catch (e) {
    if (e instanceof ZkmlUnsupportedError) return { supported: false, code: "MODEL_NOT_PROVABLE", unsupported: e.unsupported, message: e.message };
    if (e instanceof ZkmlModelError) return { supported: false, code: "MODEL_INVALID", unsupported: [], message: e.message };
    throw e;
  }
}

/** A model compiled to a circuit with its keys: everything needed to prove and verify. */
export interface ModelArtifacts {
  model: ModelCircuit;
  circuit: CompiledCircuit;
  keys: CircuitKeys;
  /** The public model hash (decimal string): publicSignals[0] of every proof. */
  modelHash: string;
  /** The verification key (JSON): what a verifier stores for this model. */
  vkey: VerificationKey;
}

/** Recently compiled models, by ONNX hash and options (compiling again costs ~2 s for 44k parameters). */
const recent = new Map<string, Promise<ModelArtifacts>>();
const RECENT_MAX = 16;

/**
 * Compiles an ONNX model into a circuit (circom --O2) and makes its Groth16 keys; both are cached
 * on disk by content, and the result is kept in memory for the last 16 models, so calling this
 * again for a model (e.g. once per task to verify) is cheap.
 */
export function compileModelCircuit(onnxBytes: Uint8Array, opts: ZkmlOptions & SetupOptions & { name?: string } = {}): Promise<ModelArtifacts> {
  const key = JSON.stringify([
    createHash("sha256").update(onnxBytes).digest("hex"),
    opts.scaleBits,
    opts.activationBits,
    opts.commitInput,
    opts.ptauPath ?? process.env.STUN_PTAU,
    opts.zkeyPath,
    opts.name,
  ]);
  let p = recent.get(key);
  if (!p) {
    p = compileUncached(onnxBytes, opts);
    recent.set(key, p);
    p.catch(() => recent.delete(key));
    if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value!);
  }
  return p;
}

async function compileUncached(onnxBytes: Uint8Array, opts: ZkmlOptions & SetupOptions & { name?: string }): Promise<ModelArtifacts> {
  const model = await buildModelCircuit(onnxBytes, opts);
  const name = opts.name ?? `model_${model.onnxSha256.slice(0, 12)}`;
  const circuit = await compileCircuit({ name, source: model.source, log: opts.log });
  const keys = await setupKeys(circuit, opts);
  return { model, circuit, keys, modelHash: model.modelHash, vkey: keys.vkey };
}

export interface InferenceProof {
  proof: Groth16Proof;
  /** [modelHash, inputHash, out…, taskId, provider] as decimal strings. */
  publicSignals: string[];
  /** The proven outputs, dequantized (value / 2^2k), per graph output. */
  outputs: { name: string; shape: number[]; data: Float32Array }[];
  modelHash: string;
  inputHash: string;
  proveMs: number;
}

/**
 * Proves one inference: the input (flattened row-major floats of the model's input shape, batch 1)
 * is quantized, the witness computed by the circuit's WASM, and a Groth16 proof made. `taskId` and
 * `provider` (default 0) are bound into the proof.
 */
export async function proveInference(
  artifacts: ModelArtifacts,
  input: ArrayLike<number>,
  bind: { taskId?: string | bigint | number; provider?: string | bigint | number } = {},
): Promise<InferenceProof> {
  const { model } = artifacts;
  simulate(model, input); // throws a ZkmlRangeError naming the node when no witness exists
  const witness = witnessInput(model, input, taskIdToField(bind.taskId ?? 0), addressToField(bind.provider ?? 0));
  const { proof, publicSignals, proveMs } = await groth16Prove(artifacts.circuit.wasmPath, artifacts.keys.zkeyPath, witness);
  return { proof, publicSignals, outputs: decodeOutputs(model, publicSignals), modelHash: publicSignals[0]!, inputHash: publicSignals[1]!, proveMs };
}

/** The outputs a proof publishes, dequantized, per graph output. */
export function decodeOutputs(model: Pick<ModelCircuit, "outputs" | "outputScaleBits">, publicSignals: readonly string[]): InferenceProof["outputs"] {
  const scale = 2 ** model.outputScaleBits;
  return model.outputs.map((o) => ({
    name: o.name,
    shape: o.shape,
    data: Float32Array.from(publicSignals.slice(o.offset, o.offset + o.size), (s) => Number(fromFieldSigned(s)) / scale),
  }));
}

export interface VerifyInferenceOptions {
  /** Require this inputHash (the verifier recomputes it from the task's input with `inputHashOf`). */
  expectedInputHash?: string | bigint;
  /** Require the proof to be bound to this task id / provider. */
  taskId?: string | bigint | number;
  provider?: string | bigint | number;
}

/**
 * Verifies an inference proof: the Groth16 proof against the model's verification key (which only
 * accepts proofs of that model's circuit), and the public model hash against `expectedModelHash`
 * (which names the weights), plus the input hash, task and provider when asked. Never throws on
 * bad proofs: false.
 */
export async function verifyInference(
  vkey: VerificationKey,
  proof: Groth16Proof,
  publicSignals: readonly string[],
  expectedModelHash: string | bigint,
  opts: VerifyInferenceOptions = {},
): Promise<boolean> {
  const n = publicSignals.length;
  if (n < 4 || n !== vkey.nPublic) return false;
  const eq = (signal: string | undefined, want: bigint) => {
    try {
      return signal !== undefined && BigInt(signal) < FIELD_P && toField(signal) === want;
    } catch {
      return false;
    }
  };
  try {
    if (!eq(publicSignals[0], toField(expectedModelHash))) return false;
    if (opts.expectedInputHash !== undefined && !eq(publicSignals[1], toField(opts.expectedInputHash))) return false;
    if (opts.taskId !== undefined && !eq(publicSignals[n - 2], taskIdToField(opts.taskId))) return false;
    if (opts.provider !== undefined && !eq(publicSignals[n - 1], addressToField(opts.provider))) return false;
  } catch {
    return false;
  }
  return groth16Verify(vkey, publicSignals, proof);
}

/** Writes the model's Solidity verifier (contract `<contractName>`) to circuits/build/<contractName>.sol. */
export async function exportModelVerifier(artifacts: ModelArtifacts, contractName = `Model${artifacts.model.onnxSha256.slice(0, 8)}Verifier`, outDir = BUILD_DIR): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, `${contractName}.sol`);
  writeFileSync(path, await solidityVerifier(artifacts.keys.zkeyPath, contractName));
  return path;
}

export { ZkmlError };
