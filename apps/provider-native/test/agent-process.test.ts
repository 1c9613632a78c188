// stun-provider as a child process: what the server's end-to-end tests will do.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildFileReadingModel, buildMlp, buildSlowModel, wireTensor } from "@stun/testkit";
import { PROVIDER_BIN, type ProviderProcess, spawnProviderProcess } from "../src/process";
import { type FakeMarketplace, startFakeMarketplace } from "./support/fake-marketplace";
import { f32, maxAbsDiff } from "./support/tensors";

let market: FakeMarketplace;
let dir: string;
let proc: ProviderProcess | undefined;

beforeEach(async () => {
  market = await startFakeMarketplace("proc-key");
  dir = await mkdtemp(path.join(os.tmpdir(), "stun-proc-"));
});

afterEach(async () => {
  await proc?.kill();
  proc = undefined;
  await market.close();
  await rm(dir, { recursive: true, force: true });
});

describe("stun-provider process", () => {
  it("logs its set-up first, registers, runs work, and on SIGTERM drains the running task and exits 0", async () => {
    proc = await spawnProviderProcess({
      server: market.url,
      apiKey: market.apiKey,
      args: ["--name", "proc-1", "--cache-dir", dir, "--benchmark-ms", "50", "--heartbeat-ms", "200", "--log-level", "debug"],
    });
    expect(proc.providerId).toBe("prv_proc-1");
    expect(proc.lines.every((l) => !l.raw)).toBe(true); // JSON lines only
    expect(proc.lines[0]).toMatchObject({ level: "info", msg: "starting", backend: "cpu", executionProviders: ["cpu"] });
    expect(proc.lines[0]!.hardware).toMatchObject({ cores: expect.any(Number), gpus: [] });
    expect((proc.lines[0]!.benchmark as { ips: number }).ips).toBeGreaterThan(0);

    const mlp = buildMlp({ inputSize: 784, hidden: [512, 256], outputSize: 10, seed: 8 });
    const model = market.models.add("mlp", mlp.bytes);
    const x = Float32Array.from({ length: 784 }, (_, i) => (i % 17) / 17);
    await market.assign(model, { x: wireTensor("float32", [1, 784], x) }, { assignmentId: "asg_p1" });
    const r = await market.waitFor(() => market.results[0]);
    expect(maxAbsDiff(f32(r.outputs.y!), mlp.forward(x, 1))).toBeLessThan(1e-5);

    const slow = buildSlowModel(400);
    const slowModel = market.models.add("slow", slow.bytes);
    await market.assign(slowModel, { x: wireTensor("float32", [1, slow.size], new Float32Array(slow.size)) }, { assignmentId: "asg_p2" });
    await proc.waitForLine((l) => l.msg === "task assigned" && l.assignmentId === "asg_p2");
    const code = await proc.stop();
    expect(code).toBe(0);
    expect(market.drains).toBe(1);
    expect(market.results.map((x) => x.assignmentId)).toEqual(["asg_p1", "asg_p2"]);
    expect(proc.lines.at(-1)).toMatchObject({ msg: "stopped" });
    // Each task's lines are debug (asked for here); the info summaries count both tasks.
    expect(proc.lines.find((l) => l.msg === "task done")).toMatchObject({ level: "debug", assignmentId: "asg_p1" });
    const summaries = proc.lines.filter((l) => l.msg === "tasks");
    expect(summaries.reduce((n, l) => n + Number(l.ran), 0)).toBe(2);
    expect(summaries.every((l) => l.level === "info")).toBe(true);
  });

  it("runs from a fresh private empty directory and refuses a model that reads a file through external data (MODEL_EXTERNAL_DATA)", async () => {
    // Started from a directory holding a "secret" and with a relative --cache-dir, as an operator would.
    await writeFile(path.join(dir, "secret.txt"), "hunter2-hunter2-");
    proc = await spawnProviderProcess({ server: market.url, apiKey: market.apiKey, cwd: dir, args: ["--name", "proc-ext", "--cache-dir", "cache", "--benchmark-ms", "0"] });
    const cwd = String(proc.lines.find((l) => l.msg === "starting")!.cwd);
    expect(cwd).not.toBe(dir);
    expect(readdirSync(cwd)).toEqual([]);
    expect(statSync(cwd).mode & 0o777).toBe(0o700);
    if (process.platform === "linux") expect(readlinkSync(`/proc/${proc.child.pid}/cwd`)).toBe(cwd);
    expect(proc.lines.find((l) => l.msg === "starting")!.cacheDir).toBe(path.join(dir, "cache")); // resolved before leaving

    // The model is served as is: this marketplace has no upload check, like a server bypassed or out of date.
    const attack = market.models.add("reader", buildFileReadingModel("secret.txt", 16).bytes);
    await market.assign(attack, { x: wireTensor("float32", [1], new Float32Array([1])) }, { assignmentId: "asg_ext" });
    const error = await market.waitFor(() => market.errors[0]);
    expect(error).toMatchObject({ assignmentId: "asg_ext", code: "MODEL_EXTERNAL_DATA", message: expect.stringContaining('location "secret.txt"') });
    expect(market.results).toEqual([]);
    expect(readdirSync(cwd)).toEqual([]);

    expect(await proc.stop()).toBe(0);
    expect(existsSync(cwd)).toBe(false); // removed at exit
  });

  it("a SIGKILLed provider simply disappears (the server's lease timeout handles its work)", async () => {
    proc = await spawnProviderProcess({ server: market.url, apiKey: market.apiKey, args: ["--name", "proc-2", "--cache-dir", dir, "--benchmark-ms", "0"] });
    const sockets = market.io.of("/provider").sockets;
    expect(sockets.size).toBe(1);
    // The key travelled in the environment: the command line (`ps`) does not show it.
    expect(proc.child.spawnargs.join(" ")).not.toContain(market.apiKey);
    await proc.kill();
    await market.waitFor(() => sockets.size === 0);
  });

  it("exits 1 with a clear message when the API key is refused", async () => {
    const err = await spawnProviderProcess({ server: market.url, apiKey: "wrong", args: ["--cache-dir", dir, "--benchmark-ms", "0"] }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/exited \(1\)/);
    expect(String(err)).toMatch(/UNAUTHORIZED/);
  });

  it.skipIf(process.platform !== "linux")("exits 1 with 'CUDA not available on this machine' for --backend cuda here", () => {
    const r = spawnSync(process.execPath, [PROVIDER_BIN, "--server", market.url, "--backend", "cuda", "--cache-dir", dir], { encoding: "utf8", env: { ...process.env, STUN_API_KEY: "k" } });
    if (/"msg":"starting"/.test(r.stderr)) return; // a machine with CUDA installed
    expect(r.status).toBe(1);
    const first = JSON.parse(r.stderr.split("\n")[0]!) as { level: string; msg: string };
    expect(first.level).toBe("error");
    expect(first.msg).toMatch(/^CUDA not available on this machine: /);
  });
});
