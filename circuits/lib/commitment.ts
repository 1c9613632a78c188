/**
 * Result commitments (src/result_commitment.circom): a provider commits to its outputs for a task
 * and proves, without revealing them, that it knows outputs and a salt behind the commitment —
 * bound to the task id and to its own address.
 *
 *   commitment = Poseidon(taskId, provider, salt, PoseidonSponge(outputs padded to 16·nChunks))
 *
 * One circuit per output-vector length class: ResultCommitment(nChunks) takes 16·nChunks values
 * (16 → 906 constraints, 32 → 1,518). Longer outputs (e.g. 1,000 logits: 63 chunks) need a bigger
 * powers of tau; `proveCommitment` compiles and sets up the class it needs on first use.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CompiledCircuit, compileCircuit } from "./circom";
import { addressToField, taskIdToField, toField } from "./field";
import { type CircuitKeys, type SetupOptions, setupKeys } from "./keys";
import { BUILD_DIR } from "./paths";
import { SPONGE_CHUNK, poseidon, poseidonSponge, spongeChunks } from "./poseidon";
import { type Groth16Proof, type VerificationKey, groth16Prove, groth16Verify, solidityVerifier } from "./snark";

/** Outputs per chunk, and the size of the default commitment circuit. */
export const COMMITMENT_OUTPUTS = SPONGE_CHUNK;

export interface CommitmentStatement {
  /** Task id: a Stun id string (hashed into the field), or a field element. */
  taskId: string | bigint | number;
  /** Provider address: an 0x EVM address (its integer), any other id string (hashed), or a field element. */
  provider: string | bigint | number;
}

export interface CommitmentOpening extends CommitmentStatement {
  /** Output values as field elements (integers; use `quantizeToField` for float tensors). */
  outputs: readonly (bigint | number | string)[];
  /** A secret field element (`randomSalt()`). */
  salt: bigint | number | string;
}

export interface CommitmentProof {
  proof: Groth16Proof;
  /** [taskId, provider, commitment] as decimal strings. */
  publicSignals: string[];
  /** The commitment (decimal string of a field element). */
  commitment: string;
  /** Output capacity of the circuit that proved it (16·nChunks). */
  capacity: number;
  proveMs: number;
}

/** A random 248-bit salt (always a field element). */
export function randomSalt(): bigint {
  return BigInt(`0x${randomBytes(31).toString("hex")}`);
}

function checkOutputs(outputs: readonly (bigint | number | string)[]): bigint[] {
  return outputs.map((v, i) => {
    if (typeof v === "number" && !Number.isInteger(v)) throw new TypeError(`outputs[${i}] = ${v} is not an integer: quantize float outputs first (quantizeToField)`);
    return toField(v);
  });
}

/** The commitment of an opening, computed in JavaScript (what the circuit checks). */
export async function computeCommitment(o: CommitmentOpening, capacity = chunkCapacity(o.outputs.length)): Promise<bigint> {
  const digest = await poseidonSponge(checkOutputs(o.outputs), capacity / SPONGE_CHUNK);
  return poseidon([taskIdToField(o.taskId), addressToField(o.provider), toField(o.salt), digest]);
}

/** 16·nChunks for the fewest chunks that hold n outputs. */
export function chunkCapacity(n: number): number {
  return spongeChunks(n) * SPONGE_CHUNK;
}

/** The circom source of the ResultCommitment circuit for 16·nChunks outputs. */
export function commitmentSource(nChunks = 1): string {
  return `pragma circom 2.1.0;\n\ninclude "result_commitment.circom";\n\ncomponent main {public [taskId, provider, commitment]} = ResultCommitment(${nChunks});\n`;
}

export interface CommitmentCircuit {
  capacity: number;
  circuit: CompiledCircuit;
  keys: CircuitKeys;
}

/** Compiles and sets up (cached) the commitment circuit for `capacity` outputs (a multiple of 16). */
export async function commitmentCircuit(capacity = COMMITMENT_OUTPUTS, opts: SetupOptions = {}): Promise<CommitmentCircuit> {
  if (capacity < SPONGE_CHUNK || capacity % SPONGE_CHUNK !== 0) throw new RangeError(`capacity must be a positive multiple of ${SPONGE_CHUNK}, got ${capacity}`);
  const nChunks = capacity / SPONGE_CHUNK;
  const circuit = await compileCircuit({ name: `result_commitment_${capacity}`, source: commitmentSource(nChunks), log: opts.log });
  const keys = await setupKeys(circuit, opts);
  return { capacity, circuit, keys };
}

/**
 * Proves knowledge of an opening of its commitment (outputs padded with zeros to the next multiple
 * of 16). The proof's public signals are [taskId, provider, commitment].
 */
export async function proveCommitment(o: CommitmentOpening, opts: SetupOptions = {}): Promise<CommitmentProof> {
  const outputs = checkOutputs(o.outputs);
  const capacity = chunkCapacity(outputs.length);
  const { circuit, keys } = await commitmentCircuit(capacity, opts);
  const commitment = await computeCommitment(o, capacity);
  const input = {
    taskId: taskIdToField(o.taskId).toString(),
    provider: addressToField(o.provider).toString(),
    commitment: commitment.toString(),
    outputs: Array.from({ length: capacity }, (_, i) => (outputs[i] ?? 0n).toString()),
    salt: toField(o.salt).toString(),
  };
  const { proof, publicSignals, proveMs } = await groth16Prove(circuit.wasmPath, keys.zkeyPath, input);
  return { proof, publicSignals, commitment: commitment.toString(), capacity, proveMs };
}

/**
 * Checks a commitment proof against the statement the verifier expects: the public signals are
 * rebuilt from `taskId`, `provider` and `commitment` (never taken from the prover), so a proof made
 * for another task, another provider or another commitment fails. `vkey` defaults to the
 * development key of the circuit for `capacity` outputs (16).
 */
export async function verifyCommitment(
  statement: CommitmentStatement & { commitment: string | bigint; proof: Groth16Proof },
  opts: { vkey?: VerificationKey; capacity?: number } & SetupOptions = {},
): Promise<boolean> {
  const vkey = opts.vkey ?? (await commitmentCircuit(opts.capacity ?? COMMITMENT_OUTPUTS, opts)).keys.vkey;
  let signals: string[];
  try {
    signals = [taskIdToField(statement.taskId), addressToField(statement.provider), toField(statement.commitment)].map(String);
  } catch {
    return false;
  }
  return groth16Verify(vkey, signals, statement.proof);
}

/**
 * Writes the commitment circuit's Solidity verifier (contract `ResultCommitmentVerifier`, or
 * `ResultCommitment<capacity>Verifier` for other sizes) and its verification key to circuits/build/.
 * Returns the paths.
 */
export async function exportCommitmentVerifier(capacity = COMMITMENT_OUTPUTS, opts: SetupOptions & { outDir?: string } = {}): Promise<{ solPath: string; vkeyPath: string; contractName: string }> {
  const { keys } = await commitmentCircuit(capacity, opts);
  const contractName = capacity === COMMITMENT_OUTPUTS ? "ResultCommitmentVerifier" : `ResultCommitment${capacity}Verifier`;
  const outDir = opts.outDir ?? BUILD_DIR;
  mkdirSync(outDir, { recursive: true });
  const solPath = join(outDir, `${contractName}.sol`);
  const vkeyPath = join(outDir, `${contractName}.vkey.json`);
  writeFileSync(solPath, await solidityVerifier(keys.zkeyPath, contractName));
  writeFileSync(vkeyPath, `${JSON.stringify(keys.vkey, null, 1)}\n`);
  return { solPath, vkeyPath, contractName };
}
