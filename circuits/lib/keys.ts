/**
 * Groth16 phase 2 (per-circuit keys): snarkjs zKey.newZKey on a powers-of-tau file, one contribution,
 * then the verification key. Cached in `<cache>/keys/<name>-<hash16>/` keyed by the circuit's R1CS
 * and the powers-of-tau file.
 *
 * Development (default): the contribution is a deterministic beacon derived from the circuit hash and
 * DEV_CEREMONY_SEED — reproducible and INSECURE (the seed is public: anyone who knows it can forge
 * proofs), like the dev powers of tau. Production: the phase-2 contributions must come from
 * independent parties (`npx snarkjs zkey contribute` each, then `zkey beacon` with a public
 * random beacon, e.g. a future block hash) and the result must be checked with `npx snarkjs zkey
 * verify`; `setupKeys({ zkeyPath })` then adopts that finished .zkey instead of making one.
 */
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CompiledCircuit } from "./circom";
import { type Logger, type PtauFile, DEV_CEREMONY_SEED, devBeaconHash, requiredPower, resolvePtau } from "./ptau";
import { CACHE_DIR } from "./paths";
import { type VerificationKey, snarkjs } from "./snark";

export interface CircuitKeys {
  dir: string;
  zkeyPath: string;
  vkeyPath: string;
  vkey: VerificationKey;
  ptau: PtauFile | { source: "zkey"; path: string };
  /** Time to make the keys when they were first made (ms). */
  setupMs: number;
  cached: boolean;
  /** sha256 of the verification key JSON: names the keys (e.g. for a registry of models' keys). */
  vkeyId: string;
}

export interface SetupOptions {
  /** A powers-of-tau file (else STUN_PTAU, else the dev ceremony). */
  ptauPath?: string;
  /** Adopt a finished .zkey made elsewhere (a production phase-2 ceremony) for this circuit. */
  zkeyPath?: string;
  log?: Logger;
}

function snarkLogger(log?: Logger) {
  const fwd = (msg: string) => log?.(`  snarkjs: ${msg}`);
  return { debug: () => {}, info: () => {}, warn: fwd, error: fwd };
}

function vkeyIdOf(vkey: VerificationKey): string {
  return createHash("sha256").update(JSON.stringify(vkey)).digest("hex");
}

function r1csDigest(circuit: CompiledCircuit): string {
  return createHash("sha256").update(readFileSync(circuit.r1csPath)).digest("hex");
}

const inflight = new Map<string, Promise<CircuitKeys>>();

/** The proving and verification keys of a compiled circuit (made once, then cached). */
export async function setupKeys(circuit: CompiledCircuit, opts: SetupOptions = {}): Promise<CircuitKeys> {
  const r1cs = r1csDigest(circuit);
  if (opts.zkeyPath) return adoptZkey(circuit, r1cs, opts.zkeyPath);
  const ptau = await resolvePtau(requiredPower(circuit.info.constraints, circuit.info.publicInputs + circuit.info.publicOutputs), opts);
  const key = createHash("sha256")
    .update(JSON.stringify({ v: 1, r1cs, ptau: ptau.id, seed: DEV_CEREMONY_SEED }))
    .digest("hex");
  const dir = join(CACHE_DIR, "keys", `${circuit.name}-${key.slice(0, 16)}`);
  let p = inflight.get(dir);
  if (!p) {
    p = makeKeys(circuit, r1cs, ptau, dir, opts.log).finally(() => inflight.delete(dir));
    inflight.set(dir, p);
  }
  return p;
}

function keysIn(dir: string, ptau: CircuitKeys["ptau"], cached: boolean): CircuitKeys {
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as { setupMs: number };
  const vkey = JSON.parse(readFileSync(join(dir, "verification_key.json"), "utf8")) as VerificationKey;
  return { dir, zkeyPath: join(dir, "circuit_final.zkey"), vkeyPath: join(dir, "verification_key.json"), vkey, ptau, setupMs: meta.setupMs, cached, vkeyId: vkeyIdOf(vkey) };
}

async function makeKeys(circuit: CompiledCircuit, r1cs: string, ptau: PtauFile, dir: string, log?: Logger): Promise<CircuitKeys> {
  if (existsSync(join(dir, "meta.json"))) return keysIn(dir, ptau, true);
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  mkdirSync(tmp, { recursive: true });
  try {
    const t0 = performance.now();
    const z0 = join(tmp, "circuit_0.zkey");
    const zf = join(tmp, "circuit_final.zkey");
    const logger = snarkLogger(log);
    log?.(`keys: ${circuit.name}: groth16 setup on ${ptau.source} ptau 2^${ptau.power}…`);
    const r0 = await snarkjs.zKey.newZKey(circuit.r1csPath, ptau.path, z0, logger);
    if (r0 === -1 || !existsSync(z0)) throw new Error(`snarkjs groth16 setup failed for ${circuit.name} (${circuit.info.constraints} constraints, ptau 2^${ptau.power})`);
    await snarkjs.zKey.beacon(z0, zf, "stun dev phase 2", devBeaconHash(`phase2 ${r1cs}`), 10, logger);
    const vkey = (await snarkjs.zKey.exportVerificationKey(zf, logger)) as VerificationKey;
    rmSync(z0);
    const setupMs = Math.round(performance.now() - t0);
    writeFileSync(join(tmp, "verification_key.json"), `${JSON.stringify(vkey, null, 1)}\n`);
    writeFileSync(
      join(tmp, "meta.json"),
      `${JSON.stringify({ circuit: circuit.name, r1cs, ptau: { source: ptau.source, power: ptau.power, id: ptau.id }, setupMs, insecure: ptau.source === "dev" }, null, 2)}\n`,
    );
    log?.(`keys: ${circuit.name}: ready in ${(setupMs / 1000).toFixed(1)} s`);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(join(dir, "meta.json"))) throw e;
    }
    return keysIn(dir, ptau, false);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function adoptZkey(circuit: CompiledCircuit, r1cs: string, zkeyPath: string): Promise<CircuitKeys> {
  const id = createHash("sha256").update(readFileSync(zkeyPath)).digest("hex");
  const dir = join(CACHE_DIR, "keys", `${circuit.name}-zkey-${id.slice(0, 16)}`);
  if (!existsSync(join(dir, "meta.json"))) {
    mkdirSync(dir, { recursive: true });
    copyFileSync(zkeyPath, join(dir, "circuit_final.zkey"));
    const vkey = (await snarkjs.zKey.exportVerificationKey(zkeyPath)) as VerificationKey;
    writeFileSync(join(dir, "verification_key.json"), `${JSON.stringify(vkey, null, 1)}\n`);
    writeFileSync(join(dir, "meta.json"), `${JSON.stringify({ circuit: circuit.name, r1cs, zkey: zkeyPath, setupMs: 0 }, null, 2)}\n`);
  }
  return keysIn(dir, { source: "zkey", path: zkeyPath }, true);
}
