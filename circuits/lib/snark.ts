/// <reference path="../types/modules.d.ts" />
/**
 * The snarkjs calls @stun/circuits makes, typed. snarkjs keeps one bn128 curve (with worker
 * threads) per process once it has proven or verified; `shutdownZk()` stops them so that a script
 * can exit.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as snarkjsModule from "snarkjs";
import { stopSnarkjsWorkers } from "@stun/shared";
import { FIELD_P } from "./field";
import { CIRCUITS_DIR } from "./paths";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const snarkjs: any = snarkjsModule;

/** A Groth16 proof as snarkjs writes it (decimal strings of field/curve coordinates). */
export interface Groth16Proof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: "groth16";
  curve: "bn128";
}

/** snarkjs' verification key JSON (vk_alpha_1, vk_beta_2, …, IC). */
export interface VerificationKey {
  protocol: "groth16";
  curve: "bn128";
  nPublic: number;
  [key: string]: unknown;
}

export interface ProofResult {
  proof: Groth16Proof;
  /** Public signals, decimal strings of field elements, in the circuit's order. */
  publicSignals: string[];
  /** Witness + proof time (ms). */
  proveMs: number;
}

/** Witness (circom WASM) and Groth16 proof in one call. */
export async function groth16Prove(wasmPath: string, zkeyPath: string, input: Record<string, unknown>): Promise<ProofResult> {
  const t0 = performance.now();
  const { proof, publicSignals } = (await snarkjs.groth16.fullProve(input, wasmPath, zkeyPath)) as { proof: Groth16Proof; publicSignals: string[] };
  return { proof, publicSignals, proveMs: performance.now() - t0 };
}

/** A canonical field element: a decimal integer 0 ≤ v < p (so that v and v + p are not both accepted). */
function canonical(s: string | bigint): boolean {
  if (typeof s === "bigint") return s >= 0n && s < FIELD_P;
  return /^(0|[1-9][0-9]{0,76})$/.test(s) && BigInt(s) < FIELD_P;
}

/**
 * True when the proof verifies for these public signals; false (never a throw) for a malformed
 * proof, a wrong number of signals, or a signal that is not a canonical field element.
 */
export async function groth16Verify(vkey: VerificationKey, publicSignals: readonly (string | bigint)[], proof: Groth16Proof): Promise<boolean> {
  if (publicSignals.length !== vkey.nPublic || !publicSignals.every(canonical)) return false;
  try {
    return (await snarkjs.groth16.verify(
      vkey,
      publicSignals.map((s) => s.toString()),
      proof,
    )) as boolean;
  } catch {
    return false;
  }
}

const require = createRequire(join(CIRCUITS_DIR, "package.json"));

/**
 * The Solidity Groth16 verifier of a proving key (snarkjs' template), with its contract renamed
 * from Groth16Verifier to `contractName`. Its `verifyProof(uint[2] pA, uint[2][2] pB, uint[2] pC,
 * uint[nPublic] pubSignals) returns (bool)` costs ~305k gas (see docs).
 */
export async function solidityVerifier(zkeyPath: string, contractName: string): Promise<string> {
  const templates = { groth16: readFileSync(join(dirname(require.resolve("snarkjs")), "..", "templates", "verifier_groth16.sol.ejs"), "utf8") };
  const sol = (await snarkjs.zKey.exportSolidityVerifier(zkeyPath, templates)) as string;
  return sol.replace(/contract Groth16Verifier\b/, `contract ${contractName}`);
}

/** Calldata for the Solidity verifier: [pA, pB, pC, pubSignals] as hex strings. */
export async function solidityCalldata(proof: Groth16Proof, publicSignals: readonly string[]): Promise<unknown[]> {
  const text = (await snarkjs.groth16.exportSolidityCallData(proof, publicSignals)) as string;
  return JSON.parse(`[${text}]`) as unknown[];
}

/** Stops snarkjs' curve worker threads (call before a script exits; proving again restarts them). */
export const shutdownZk = stopSnarkjsWorkers;
