/**
 * The Python SDK (sdks/python) against the real marketplace: the real server (PGlite) and a real
 * native provider running onnxruntime. Vitest starts the network and writes the models and the
 * reference outputs (the models' pure-JS forward pass); pytest (in the venv that
 * scripts/ensure-python.mjs keeps) runs sdks/python/tests against it.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNetwork } from "../../../apps/server/test/support/network";
import { tempDir } from "./support/cli";
import { ensurePython, runPython, writePythonFixture, type PythonFixture } from "./support/python";

type Network = Awaited<ReturnType<typeof startTestNetwork>>;

let net: Network;
let dir: { path: string; remove(): Promise<void> };
let fixture: PythonFixture;
let python: string;
let env: Record<string, string>;

beforeAll(async () => {
  python = ensurePython();
  net = await startTestNetwork({ providers: 1 });
  dir = await tempDir();
  fixture = await writePythonFixture(dir.path);
  env = { ...fixture.env, STUN_URL: net.url, STUN_API_KEY: net.apiKey };
}, 300_000);

afterAll(async () => {
  await net?.close();
  await dir?.remove();
});

describe("Python SDK", () => {
  it("passes its pytest suite (sync, async, push and long-poll, errors, retries, CLI, README, types)", async () => {
    const r = await runPython(python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], env);
    expect(r.code, `pytest failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/\d+ passed/);
    expect(r.stdout).not.toMatch(/skipped|xfail/);
  }, 600_000);

  it("runs the conformance scenario and prints one JSON line of the agreed shape", async () => {
    const r = await runPython(python, ["tests/conformance_scenario.py", "--url", net.url, "--model", fixture.mlpPath, "--inputs", fixture.conformanceInputs], {});
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!);
    const sha = createHash("sha256")
      .update(await readFile(fixture.mlpPath))
      .digest("hex");
    expect(Object.keys(out).sort()).toEqual(["balanceAfterFaucet", "errorCode", "modelSha256", "outputs", "receiptKeys", "receiptModelSha256", "taskStatus"]);
    expect(out).toMatchObject({ balanceAfterFaucet: "5000", modelSha256: sha, taskStatus: "completed", receiptModelSha256: sha, errorCode: "TASK_NOT_FOUND" });
    expect(out.receiptKeys).toEqual([...out.receiptKeys].sort());
    expect(out.receiptKeys).toEqual(expect.arrayContaining(["taskId", "modelSha256", "inputDigest", "outputDigest", "providers", "cost", "split", "completedAt"]));
    expect(Object.keys(out.outputs)).toEqual(["y"]);
    expect(out.outputs.y.dtype).toBe("float32");
    expect(out.outputs.y.dims).toEqual([1, 3]);
    fixture.conformanceExpected.forEach((want, i) => {
      const got = out.outputs.y.data[i] as number;
      expect(Math.abs(got - want), `y[${i}]`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want)));
      expect(Number(got.toPrecision(6))).toBe(got); // rounded to 6 significant digits
    });
  }, 180_000);
});
