/**
 * Compiles circom sources with circom 2.2.3 (npm circom2: the compiler built to WASM, run under
 * Node's WASI shim in a child process) into R1CS + a WASM witness calculator, cached by a hash of
 * everything that decides the output: the main source, the templates in circuits/src, the circom2
 * version and the flags.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CACHE_DIR, CIRCOM2_VERSION, CIRCOMLIB_DIR, CIRCOM_CLI, SRC_DIR } from "./paths";

export interface CircuitInfo {
  /** Constraints in the R1CS (non-linear + linear; with --O2 the linear ones are folded away). */
  constraints: number;
  nonLinearConstraints: number;
  linearConstraints: number;
  publicInputs: number;
  privateInputs: number;
  publicOutputs: number;
  wires: number;
  labels: number;
  /** How long circom took when the circuit was first compiled (ms). */
  compileMs: number;
}

export interface CompiledCircuit {
  name: string;
  /** sha256 (hex) of the compiler inputs: names the cache folder. */
  hash: string;
  dir: string;
  sourcePath: string;
  r1csPath: string;
  wasmPath: string;
  info: CircuitInfo;
  /** True when this call found the circuit already compiled. */
  cached: boolean;
}

export class CircomCompileError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = "CircomCompileError";
  }
}

export interface CompileOptions {
  /** A short name for the cache folder and the files (letters, digits, _ and -). */
  name: string;
  /** circom source with a `component main`; includes resolve against circuits/src and circomlib. */
  source: string;
  /** circom's simplification level: 2 (default, --O2) folds linear constraints away; 1 keeps them. */
  optimize?: 1 | 2;
  log?: (line: string) => void;
}

let templatesDigest: string | undefined;
/** A digest of every hand-written template (they are included by name, so any change matters). */
function templatesHash(): string {
  if (!templatesDigest) {
    const h = createHash("sha256");
    const templates = readdirSync(SRC_DIR)
      .filter((f) => f.endsWith(".circom"))
      .sort();
    for (const f of templates) {
      h.update(f).update("\0");
      h.update(readFileSync(join(SRC_DIR, f))).update("\0");
    }
    templatesDigest = h.digest("hex");
  }
  return templatesDigest;
}

/** The cache key of a source: what `compileCircuit` would name its folder after. */
export function circuitHash(source: string, optimize: 1 | 2 = 2): string {
  return createHash("sha256")
    .update(JSON.stringify({ v: 1, circom2: CIRCOM2_VERSION, optimize, templates: templatesHash() }))
    .update(source)
    .digest("hex");
}

const ANSI = /\x1b\[[0-9;]*m/g;

function runCircom(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    // circom2's WASI shim cannot open paths with "..": run from / and pass absolute paths (the CLI
    // makes them relative to its working directory).
    const child = spawn(process.execPath, [CIRCOM_CLI, ...args], { cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output: output.replace(ANSI, "") }));
  });
}

function parseInfo(output: string, compileMs: number): CircuitInfo {
  const n = (label: string): number => {
    const m = new RegExp(`^${label}:\\s*(\\d+)`, "m").exec(output);
    return m ? Number(m[1]) : 0;
  };
  const nonLinear = n("non-linear constraints");
  const linear = n("linear constraints");
  return {
    constraints: nonLinear + linear,
    nonLinearConstraints: nonLinear,
    linearConstraints: linear,
    publicInputs: n("public inputs"),
    privateInputs: n("private inputs"),
    publicOutputs: n("public outputs"),
    wires: n("wires"),
    labels: n("labels"),
    compileMs,
  };
}

const inflight = new Map<string, Promise<CompiledCircuit>>();

/**
 * Compiles a circuit (or returns the cached build): `<cache>/circuits/<name>-<hash16>/` holds
 * circuit.circom, circuit.r1cs, circuit_js/circuit.wasm and info.json. Safe to call concurrently,
 * from several processes too (each builds in a temporary folder renamed into place).
 */
export function compileCircuit(opts: CompileOptions): Promise<CompiledCircuit> {
  if (!/^[A-Za-z0-9_-]+$/.test(opts.name)) throw new RangeError(`circuit name "${opts.name}" must be letters, digits, _ or -`);
  const optimize = opts.optimize ?? 2;
  const hash = circuitHash(opts.source, optimize);
  const dir = join(CACHE_DIR, "circuits", `${opts.name}-${hash.slice(0, 16)}`);
  const key = dir;
  let p = inflight.get(key);
  if (!p) {
    p = doCompile(opts, optimize, hash, dir).finally(() => inflight.delete(key));
    inflight.set(key, p);
  }
  return p;
}

function artifactsIn(name: string, hash: string, dir: string, cached: boolean): CompiledCircuit {
  return {
    name,
    hash,
    dir,
    sourcePath: join(dir, "circuit.circom"),
    r1csPath: join(dir, "circuit.r1cs"),
    wasmPath: join(dir, "circuit_js", "circuit.wasm"),
    info: JSON.parse(readFileSync(join(dir, "info.json"), "utf8")) as CircuitInfo,
    cached,
  };
}

async function doCompile(opts: CompileOptions, optimize: 1 | 2, hash: string, dir: string): Promise<CompiledCircuit> {
  if (existsSync(join(dir, "info.json"))) return artifactsIn(opts.name, hash, dir, true);
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  mkdirSync(tmp, { recursive: true });
  try {
    const src = join(tmp, "circuit.circom");
    writeFileSync(src, opts.source);
    opts.log?.(`circom: compiling ${opts.name} (${(opts.source.length / 1024).toFixed(0)} KiB of source)…`);
    const t0 = performance.now();
    const { code, output } = await runCircom([src, "--r1cs", "--wasm", optimize === 2 ? "--O2" : "--O1", "-l", SRC_DIR, "-l", CIRCOMLIB_DIR, "-o", tmp]);
    const ms = Math.round(performance.now() - t0);
    if (code !== 0 || !existsSync(join(tmp, "circuit.r1cs"))) {
      const errors = output
        .split("\n")
        .filter((l) => /error|Error|panicked/.test(l))
        .slice(0, 5)
        .join("\n");
      throw new CircomCompileError(`circom failed on ${opts.name} (exit ${code}): ${errors || output.slice(-2000)}`, output);
    }
    const info = parseInfo(output, ms);
    writeFileSync(join(tmp, "info.json"), `${JSON.stringify(info, null, 2)}\n`);
    opts.log?.(`circom: ${opts.name}: ${info.constraints} constraints, ${info.wires} wires in ${(ms / 1000).toFixed(1)} s`);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process finished first: use its build.
      if (!existsSync(join(dir, "info.json"))) throw e;
    }
    return artifactsIn(opts.name, hash, dir, false);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
