/**
 * Powers of tau (Groth16 phase 1) for development and tests: a local, reproducible ceremony.
 *
 * INSECURE FOR PRODUCTION. Every "contribution" here is a snarkjs *beacon* whose randomness comes
 * from a fixed public string (DEV_CEREMONY_SEED): anyone can recompute the toxic waste (tau, alpha,
 * beta) and forge proofs for any circuit set up on this file. That is the point for development —
 * the same inputs give byte-identical keys on every machine, so caches, committed verifiers and
 * tests agree — and the reason it must never back real money.
 *
 * Steps (snarkjs' API): powersOfTau.newAccumulator(bn128, power) → beacon "contribution" (stands in
 * for `contribute`, which always mixes in OS randomness, so it cannot be reproduced) → beacon
 * "final" → preparePhase2 (95% of the time: 2^10 ≈ 25 s, 2^11 ≈ 50 s, 2^12 73 s, 2^16 ≈ 16 min on
 * 2 cores). The result is cached in `<cache>/ptau/` under a name keyed by a hash of
 * (power, seed, snarkjs version, scheme).
 *
 * Production: use a prepared file from a public multi-party ceremony — the Hermez / Polygon
 * "perpetual powers of tau" files `powersOfTau28_hez_final_<power>.ptau` (they are already through
 * preparePhase2) — by pointing `STUN_PTAU` at it (or passing `ptauPath`). Its header says its power;
 * circuits up to 2^power constraints can use it. Check it once with `npx snarkjs powersoftau verify`.
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync, createReadStream } from "node:fs";
import { join, resolve } from "node:path";
import { snarkjs } from "./snark";
import { CACHE_DIR, SNARKJS_VERSION } from "./paths";

/** The public, fixed seed of the development ceremony (every dev key derives from it). */
export const DEV_CEREMONY_SEED = "stun development ceremony v1 — INSECURE: this entropy is public";
/** Iterations of the beacon's hash (2^n SHA-256 rounds); low because the seed is public anyway. */
const BEACON_ITERATIONS_EXP = 10;
/** The powers-of-tau size tests use (2^11 = 2048 constraints): built once, about 50 s. */
export const TEST_PTAU_POWER = 11;

export interface PtauFile {
  path: string;
  power: number;
  /** "dev": this module's insecure local ceremony; "file": a file given by STUN_PTAU / ptauPath. */
  source: "dev" | "file";
  /** Identifies the file for key caches: the dev ceremony's parameter hash, or sha256 of the file. */
  id: string;
}

export type Logger = (line: string) => void;

/** A 32-byte hex beacon hash derived from the seed and a label. */
export function devBeaconHash(label: string, seed = DEV_CEREMONY_SEED): string {
  return createHash("sha256").update(`${seed}\0${label}`).digest("hex");
}

function devPtauId(power: number, seed: string): string {
  return createHash("sha256")
    .update(JSON.stringify({ scheme: 1, power, seed, snarkjs: SNARKJS_VERSION, beaconIterationsExp: BEACON_ITERATIONS_EXP }))
    .digest("hex");
}

/** Where the dev ceremony of 2^power is (or will be) cached. */
export function devPtauPath(power: number, seed = DEV_CEREMONY_SEED): string {
  return join(CACHE_DIR, "ptau", `dev_${power}_${devPtauId(power, seed).slice(0, 16)}.ptau`);
}

/** snarkjs logger: warnings and errors, section starts, and at most one progress line per 30 s. */
function snarkLogger(log?: Logger) {
  const fwd = (msg: string) => log?.(`  snarkjs: ${msg}`);
  let last = 0;
  const progress = (msg: string) => {
    if (/^Starting section/.test(msg) || performance.now() - last > 30_000) {
      last = performance.now();
      fwd(msg);
    }
  };
  return { debug: progress, info: () => {}, warn: fwd, error: fwd };
}

const building = new Map<string, Promise<PtauFile>>();

/**
 * The development powers of tau of size 2^power: from the cache, or built now (deterministically;
 * see the module comment for what it costs). Concurrent callers share one build.
 */
export function devPtau(power: number, opts: { seed?: string; log?: Logger } = {}): Promise<PtauFile> {
  if (!Number.isInteger(power) || power < 1 || power > 28) throw new RangeError(`power must be 1..28, got ${power}`);
  const seed = opts.seed ?? DEV_CEREMONY_SEED;
  const path = devPtauPath(power, seed);
  let p = building.get(path);
  if (!p) {
    p = buildDevPtau(power, seed, path, opts.log).finally(() => building.delete(path));
    building.set(path, p);
  }
  return p;
}

async function buildDevPtau(power: number, seed: string, path: string, log?: Logger): Promise<PtauFile> {
  const id = devPtauId(power, seed);
  if (existsSync(path)) return { path, power, source: "dev", id };
  mkdirSync(join(CACHE_DIR, "ptau"), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  mkdirSync(tmp, { recursive: true });
  const logger = snarkLogger(log);
  const t0 = performance.now();
  const step = async (what: string, f: () => Promise<unknown>) => {
    const t = performance.now();
    log?.(`ptau 2^${power}: ${what}…`);
    await f();
    log?.(`ptau 2^${power}: ${what} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  };
  try {
    const curve = await snarkjs.curves.getCurveFromName("bn128");
    const [p0, p1, p2, pf] = ["0.ptau", "1.ptau", "2.ptau", "final.ptau"].map((f) => join(tmp, f)) as [string, string, string, string];
    await step("new accumulator", () => snarkjs.powersOfTau.newAccumulator(curve, power, p0, logger));
    await step("contribution (deterministic beacon)", () => snarkjs.powersOfTau.beacon(p0, p1, "stun dev contribution", devBeaconHash("ptau contribution", seed), BEACON_ITERATIONS_EXP, logger));
    await step("final beacon", () => snarkjs.powersOfTau.beacon(p1, p2, "stun dev beacon", devBeaconHash("ptau beacon", seed), BEACON_ITERATIONS_EXP, logger));
    await step("prepare phase 2", () => snarkjs.powersOfTau.preparePhase2(p2, pf, logger));
    const ms = Math.round(performance.now() - t0);
    writeFileSync(`${path}.json`, `${JSON.stringify({ power, seed, snarkjs: SNARKJS_VERSION, id, buildMs: ms, insecure: true }, null, 2)}\n`);
    try {
      renameSync(pf, path);
    } catch (e) {
      if (!existsSync(path)) throw e;
    }
    log?.(`ptau 2^${power}: ready in ${(ms / 1000).toFixed(1)} s → ${path}`);
    return { path, power, source: "dev", id };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Reads a .ptau file's header: its power (2^power constraints at most). */
export function ptauPower(path: string): number {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(64);
    readSync(fd, buf, 0, 64, 0);
    if (buf.toString("latin1", 0, 4) !== "ptau") throw new Error(`${path} is not a .ptau file`);
    // magic, version u32, nSections u32, then section 1 (header): type u32, size u64, n8 u32, q (n8 bytes), power u32.
    const type = buf.readUInt32LE(12);
    if (type !== 1) throw new Error(`${path}: unexpected first section ${type}`);
    const n8 = buf.readUInt32LE(24);
    return buf.readUInt32LE(28 + n8);
  } finally {
    closeSync(fd);
  }
}

const fileIds = new Map<string, Promise<string>>();
function fileSha256(path: string): Promise<string> {
  const key = `${path}:${statSync(path).mtimeMs}`;
  let p = fileIds.get(key);
  if (!p) {
    p = new Promise<string>((res, rej) => {
      const h = createHash("sha256");
      createReadStream(path)
        .on("data", (d) => h.update(d))
        .on("end", () => res(h.digest("hex")))
        .on("error", rej);
    });
    fileIds.set(key, p);
  }
  return p;
}

/**
 * The powers of tau for a circuit that needs 2^minPower: `ptauPath`, else `STUN_PTAU` (a public
 * ceremony's file — it must be at least that large), else the development ceremony of
 * max(minPower, TEST_PTAU_POWER) (built on demand, cached).
 */
export async function resolvePtau(minPower: number, opts: { ptauPath?: string; log?: Logger } = {}): Promise<PtauFile> {
  const given = opts.ptauPath ?? process.env.STUN_PTAU;
  if (given) {
    const path = resolve(given);
    if (!existsSync(path)) throw new Error(`powers of tau file ${path} (STUN_PTAU) does not exist`);
    const power = ptauPower(path);
    if (power < minPower) throw new Error(`${path} holds 2^${power} powers of tau; this circuit needs 2^${minPower} (use powersOfTau28_hez_final_${minPower}.ptau or larger)`);
    return { path, power, source: "file", id: await fileSha256(path) };
  }
  return devPtau(Math.max(minPower, TEST_PTAU_POWER), { log: opts.log });
}

/**
 * The smallest power of tau a circuit fits: snarkjs' Groth16 domain is the least 2^p greater than
 * constraints + public signals (it adds one constraint per public signal and one for the constant).
 */
export function requiredPower(constraints: number, nPublic: number): number {
  return Math.floor(Math.log2(constraints + nPublic)) + 1;
}
