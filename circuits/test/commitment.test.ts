/**
 * The result-commitment circuit (src/result_commitment.circom) with real Groth16 proofs on the
 * development keys: honest proofs verify; another task, another provider, other outputs or a
 * damaged proof do not; a prover cannot prove a commitment it cannot open.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BUILD_DIR_FOR_TESTS,
  FIELD_P,
  addressToField,
  commitmentCircuit,
  computeCommitment,
  exportCommitmentVerifier,
  groth16Prove,
  poseidon,
  poseidonSponge,
  proveCommitment,
  quantizeToField,
  randomSalt,
  shutdownZk,
  taskIdToField,
  verifyCommitment,
  type CommitmentProof,
} from "./support/api";

const PROVIDER = "0x8ba1f109551bD432803012645Ac136ddd64DBA72";
const OTHER_PROVIDER = "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B";
const TASK = "tsk_01JDZK5V3Q8X9Y";
const outputs = quantizeToField([0.125, -2.5, 3.75, 0, 1e-3, -7, 42, 0.5, 1, 2, 3, 4, 5, 6, 7, 8]);
const salt = 0x1234567890abcdefn;

let honest: CommitmentProof;

beforeAll(async () => {
  honest = await proveCommitment({ taskId: TASK, provider: PROVIDER, outputs, salt });
});
afterAll(() => shutdownZk());

describe("result commitment", () => {
  it("is Poseidon(taskId, provider, salt, sponge(outputs)), computed the same in JS and in the circuit", async () => {
    const digest = await poseidonSponge(outputs);
    const expected = await poseidon([taskIdToField(TASK), addressToField(PROVIDER), salt, digest]);
    expect(honest.commitment).toBe(expected.toString());
    expect(await computeCommitment({ taskId: TASK, provider: PROVIDER, outputs, salt })).toBe(expected);
    expect(honest.publicSignals).toEqual([taskIdToField(TASK).toString(), addressToField(PROVIDER).toString(), expected.toString()]);
    // A 20-byte EVM address is its own integer (case-insensitive); other ids are hashed.
    expect(addressToField(PROVIDER)).toBe(BigInt(PROVIDER.toLowerCase()));
    expect(addressToField("prv_42")).toBeLessThan(FIELD_P);
  });

  it("an honest proof verifies", async () => {
    expect(await verifyCommitment({ taskId: TASK, provider: PROVIDER, commitment: honest.commitment, proof: honest.proof })).toBe(true);
    expect(honest.capacity).toBe(16);
  });

  it("rejects the proof for another task id, another provider, or another commitment (tampered outputs)", async () => {
    const { proof, commitment } = honest;
    expect(await verifyCommitment({ taskId: "tsk_01JDZK5V3Q8X9Z", provider: PROVIDER, commitment, proof })).toBe(false);
    expect(await verifyCommitment({ taskId: TASK, provider: OTHER_PROVIDER, commitment, proof })).toBe(false);
    const tampered = [...outputs];
    tampered[3] = 1n;
    const otherCommitment = await computeCommitment({ taskId: TASK, provider: PROVIDER, outputs: tampered, salt });
    expect(await verifyCommitment({ taskId: TASK, provider: PROVIDER, commitment: otherCommitment, proof })).toBe(false);
  });

  it("rejects a damaged proof and malformed statements without throwing", async () => {
    const proof = structuredClone(honest.proof);
    proof.pi_a[0] = (BigInt(proof.pi_a[0]!) + 1n).toString();
    expect(await verifyCommitment({ taskId: TASK, provider: PROVIDER, commitment: honest.commitment, proof })).toBe(false);
    const swapped = { ...honest.proof, pi_a: honest.proof.pi_c, pi_c: honest.proof.pi_a };
    expect(await verifyCommitment({ taskId: TASK, provider: PROVIDER, commitment: honest.commitment, proof: swapped })).toBe(false);
    expect(await verifyCommitment({ taskId: TASK, provider: PROVIDER, commitment: FIELD_P + 5n, proof: honest.proof })).toBe(false);
  });

  it("a prover cannot prove a commitment it cannot open (no witness exists)", async () => {
    const { circuit, keys } = await commitmentCircuit(16);
    const input = {
      taskId: taskIdToField(TASK).toString(),
      provider: addressToField(PROVIDER).toString(),
      commitment: honest.commitment,
      outputs: outputs.map((v, i) => (i === 0 ? v + 1n : v).toString()),
      salt: salt.toString(),
    };
    await expect(groth16Prove(circuit.wasmPath, keys.zkeyPath, input)).rejects.toThrow(/Assert Failed/);
  });

  it("chunks longer outputs by 16 (ResultCommitment(2) for 17–32 values) and pads with zeros", async () => {
    const long = Array.from({ length: 20 }, (_, i) => BigInt(i * 3 - 10));
    const s = randomSalt();
    const p = await proveCommitment({ taskId: TASK, provider: PROVIDER, outputs: long, salt: s });
    expect(p.capacity).toBe(32);
    expect(p.commitment).toBe((await computeCommitment({ taskId: TASK, provider: PROVIDER, outputs: [...long, 0n, 0n], salt: s })).toString());
    expect(await verifyCommitment({ taskId: TASK, provider: PROVIDER, commitment: p.commitment, proof: p.proof }, { capacity: 32 })).toBe(true);
    // The 16-output key does not accept it.
    expect(await verifyCommitment({ taskId: TASK, provider: PROVIDER, commitment: p.commitment, proof: p.proof })).toBe(false);
  });

  it("refuses float outputs (quantize them first)", async () => {
    await expect(computeCommitment({ taskId: TASK, provider: PROVIDER, outputs: [0.5], salt })).rejects.toThrow(/quantize/);
  });

  // The committed verifier is made from the development keys; with STUN_PTAU set, keys differ.
  it.skipIf(Boolean(process.env.STUN_PTAU))("circuits/build/ResultCommitmentVerifier.sol is the verifier of the current circuit and dev keys", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stun-verifier-"));
    try {
      const fresh = await exportCommitmentVerifier(16, { outDir: dir });
      const committed = readFileSync(join(BUILD_DIR_FOR_TESTS, "ResultCommitmentVerifier.sol"), "utf8");
      expect(readFileSync(fresh.solPath, "utf8"), "stale verifier: run `npx tsx circuits/scripts/setup.ts`").toBe(committed);
      expect(committed).toMatch(/contract ResultCommitmentVerifier/);
      expect(committed).toMatch(/uint\[3\] calldata _pubSignals/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
