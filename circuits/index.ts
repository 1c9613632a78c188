/**
 * @stun/circuits — Stun's zero-knowledge proofs (circom circuits, Groth16 with snarkjs), for Node.
 *
 * Result commitments (src/result_commitment.circom): a provider proves it knows outputs whose
 * Poseidon commitment is public, bound to the task id and its own address.
 *   proveCommitment({ taskId, provider, outputs, salt }) → { proof, publicSignals, commitment }
 *   verifyCommitment({ taskId, provider, commitment, proof }) → boolean
 *   computeCommitment(opening) → bigint (no proof; what the server recomputes from revealed outputs)
 *
 * zkML (zkml/): an ONNX model compiled to a fixed-point circuit proving output = model(input).
 *   zkmlSupported(onnx) → { supported } | { supported: false, code: "MODEL_NOT_PROVABLE", unsupported, message }
 *   compileModelCircuit(onnx) → { model, circuit, keys, modelHash, vkey }
 *   proveInference(artifacts, input, { taskId, provider }) → { proof, publicSignals, outputs, … }
 *   verifyInference(vkey, proof, publicSignals, expectedModelHash, { expectedInputHash, taskId, provider })
 *
 * Building blocks: compileCircuit (circom2 → r1cs + wasm, cached by source hash), setupKeys (Groth16
 * keys on the development powers of tau — INSECURE, reproducible — or a public ceremony's file via
 * STUN_PTAU), solidityVerifier / exportCommitmentVerifier / exportModelVerifier (Solidity to
 * circuits/build/), shutdownZk (stop snarkjs' worker threads before a script exits).
 */
export { CircomCompileError, circuitHash, compileCircuit } from "./lib/circom";
export type { CircuitInfo, CompileOptions, CompiledCircuit } from "./lib/circom";
export { FIELD_P, addressToField, dequantize, fromFieldSigned, quantize, quantizeToField, taskIdToField, textToField, toField } from "./lib/field";
export { SPONGE_CHUNK, poseidon, poseidonSponge, spongeChunks } from "./lib/poseidon";
export { DEV_CEREMONY_SEED, TEST_PTAU_POWER, devPtau, devPtauPath, ptauPower, requiredPower, resolvePtau } from "./lib/ptau";
export type { Logger, PtauFile } from "./lib/ptau";
export { setupKeys } from "./lib/keys";
export type { CircuitKeys, SetupOptions } from "./lib/keys";
export { groth16Prove, groth16Verify, shutdownZk, solidityCalldata, solidityVerifier } from "./lib/snark";
export type { Groth16Proof, ProofResult, VerificationKey } from "./lib/snark";
export {
  COMMITMENT_OUTPUTS,
  chunkCapacity,
  commitmentCircuit,
  commitmentSource,
  computeCommitment,
  exportCommitmentVerifier,
  proveCommitment,
  randomSalt,
  verifyCommitment,
} from "./lib/commitment";
export type { CommitmentCircuit, CommitmentOpening, CommitmentProof, CommitmentStatement } from "./lib/commitment";
export * from "./zkml/index";
