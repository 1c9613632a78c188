/**
 * The Python SDK's tests (sdks/python/tests) run from Vitest: this writes the files they read (ONNX
 * models built with @stun/testkit, reference outputs computed here by the models' pure-JS forward
 * pass), makes the venv (scripts/ensure-python.mjs) and runs its python.
 */
import { execFile, execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { buildMlp } from "@stun/testkit";

export const repoRoot = resolve(import.meta.dirname, "../../../..");
export const pythonSdk = join(repoRoot, "sdks/python");

/** The venv's python (made or refreshed first; ~20 s cold, instant when up to date). */
export function ensurePython(): string {
  const out = execFileSync(process.execPath, [join(repoRoot, "scripts/ensure-python.mjs"), "--quiet"], { encoding: "utf8" });
  return out.trim().split("\n").at(-1)!;
}

export interface PythonFixture {
  /** Model files and inputs/reference JSON, by the env names the pytest suite reads. */
  env: Record<string, string>;
  mlpPath: string;
  conformanceInputs: string;
  /** The reference forward pass of mlp.onnx for the conformance input. */
  conformanceExpected: number[];
}

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 21 });
const cliMlp = buildMlp({ inputSize: 4, hidden: [5], outputSize: 3, seed: 22 });

/** Writes the models and JSON files into `dir`. */
export async function writePythonFixture(dir: string): Promise<PythonFixture> {
  const mlpPath = join(dir, "mlp.onnx");
  const cliPath = join(dir, "cli-mlp.onnx");
  await writeFile(mlpPath, mlp.bytes);
  await writeFile(cliPath, cliMlp.bytes);
  const x = [0.5, -1, 2, 0.25, 1, 1, -0.5, 3];
  const reference = {
    mlp: { input: "x", output: "y", dims: [2, 4], x, y: Array.from(mlp.forward(new Float32Array(x), 2)) },
    cli: { input: "x", output: "y", dims: [1, 4], x: x.slice(0, 4), y: Array.from(cliMlp.forward(new Float32Array(x.slice(0, 4)), 1)) },
  };
  const referencePath = join(dir, "reference.json");
  await writeFile(referencePath, JSON.stringify(reference));
  const conformanceInputs = join(dir, "conformance-inputs.json");
  await writeFile(conformanceInputs, JSON.stringify({ x: { dtype: "float32", dims: [1, 4], data: x.slice(0, 4) } }));
  return {
    env: { STUN_MLP_PATH: mlpPath, STUN_CLI_MLP_PATH: cliPath, STUN_REFERENCE: referencePath, STUN_CONFORMANCE_INPUTS: conformanceInputs },
    mlpPath,
    conformanceInputs,
    conformanceExpected: Array.from(mlp.forward(new Float32Array(x.slice(0, 4)), 1)),
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the venv's python with `args` in sdks/python (never throws for a non-zero exit). */
export function runPython(python: string, args: string[], env: Record<string, string>, timeoutMs = 600_000): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(python, args, { cwd: pythonSdk, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}
