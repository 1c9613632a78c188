import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS } from "../src/cli/run";
import { closedServerUrl, runStun, tempDir } from "./support/cli";

let dir: { path: string; remove(): Promise<void> };
let server: string;
beforeAll(async () => {
  dir = await tempDir();
  server = await closedServerUrl();
});
afterAll(async () => {
  await dir.remove();
});

/** Runs with a server nobody listens on and a key, so anything that gets past parsing ends in NETWORK_ERROR. */
const stun = (...argv: string[]) => runStun(argv, { cwd: dir.path, env: { STUN_SERVER: server, STUN_API_KEY: "test-key" } });

describe("help", () => {
  it("no arguments: usage on stderr, exit 2", async () => {
    const r = await stun();
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("usage: stun <command>");
  });

  it("--help, -h and `help` list every command on stdout, exit 0", async () => {
    for (const argv of [["--help"], ["-h"], ["help"]]) {
      const r = await stun(...argv);
      expect(r.code).toBe(0);
      for (const c of COMMANDS) expect(r.stdout).toContain(`stun ${c.path.join(" ")}`);
    }
  });

  it("help for a group and for one command", async () => {
    const group = await stun("tasks", "--help");
    expect(group.code).toBe(0);
    expect(group.stdout).toContain("usage: stun tasks <command>");
    expect(group.stdout).toContain("stun tasks submit --model ID");
    const one = await stun("help", "tasks", "submit");
    expect(one.code).toBe(0);
    expect(one.stdout).toContain("usage: stun tasks submit --model ID --input NAME=SPEC");
    expect(one.stdout).toContain("--output-dir DIR");
    // --help wins over anything else on the line, even a broken one.
    expect((await stun("faucet", "--help", "--no-such-flag")).code).toBe(0);
  });
});

describe("usage errors exit 2 with `error USAGE: …` before any request", () => {
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /unknown command "frobnicate"/],
    [["tasks", "frobnicate"], /unknown command "tasks frobnicate" \(tasks has: submit, get, list\)/],
    [["tasks"], /"tasks" needs a command: submit, get, list/],
    [["account"], /"account" needs a command/],
    [["stats", "--bogus"], /Unknown option '--bogus'/],
    [["stats", "extra"], /unexpected argument "extra"/],
    [["faucet"], /missing argument: stun faucet <amount>/],
    [["faucet", "1", "2"], /unexpected argument "2"/],
    [["faucet", "ten"], /amount must be a non-negative integer/],
    [["faucet", "1.5"], /amount must be a non-negative integer/],
    [["faucet", "-5"], /Unknown option '-5'/],
    [["stake"], /missing argument: stun stake <amount>/],
    [["unstake", "1.5"], /amount must be a non-negative integer/],
    [["models", "upload"], /missing argument/],
    [["models", "upload", "a.onnx", "--name"], /--name/],
    [["models", "get"], /missing argument/],
    [["tasks", "get"], /missing argument/],
    [["tasks", "get", "t1", "--wait", "soon"], /--wait must be a number of seconds/],
    [["tasks", "get", "t1", "--wait", "-1"], /--wait/],
    [["tasks", "list", "--status", "done"], /--status must be one of queued, assigned/],
    [["tasks", "list", "--limit", "0"], /--limit must be between 1 and 200/],
    [["tasks", "submit", "--input", "x=@[1]"], /--model ID is required/],
    [["tasks", "submit", "--model", "m1"], /at least one --input NAME=SPEC is required/],
    [["tasks", "submit", "--model", "m1", "--input", "x"], /--input "x": expected NAME=FILE.npy, NAME=FILE.json or NAME=@JSON/],
    [["tasks", "submit", "--model", "m1", "--input", "=@[1]"], /expected NAME=/],
    [["tasks", "submit", "--model", "m1", "--input", "x="], /nothing after "="/],
    [["tasks", "submit", "--model", "m1", "--input", "x=@[1,2"], /--input x=@…: not valid JSON/],
    [["tasks", "submit", "--model", "m1", "-i", "x=@[1]", "-i", "x=@[2]"], /--input x is given twice/],
    [["tasks", "submit", "--model", "m1", "--input", "x=@[1]", "--verification", "triple"], /--verification must be one of none, redundant, auto/],
    [["tasks", "submit", "--model", "m1", "--input", "x=@[1]", "--replicas", "two"], /--replicas must be an integer/],
    [["tasks", "submit", "--model", "m1", "--input", "x=@[1]", "--dtype", "float8"], /--dtype "float8" is not a dtype/],
    [["tasks", "submit", "--model", "m1", "--input", "x=@[1]", "--max-price", "1.5"], /--max-price must be an integer/],
    [["tasks", "submit", "--model", "m1", "--input", "x=@[1]", "--priority", "10"], /--priority must be between 0 and 9/],
    [["tasks", "submit", "--model", "m1", "--input", "x=@[1]", "--deadline", "0"], /--deadline must be between 1 and 86400/],
    [["tasks", "submit", "--model", "m1", "--input", "x=@[1]", "--timeout", "x"], /--timeout must be a number of seconds/],
    [["tasks", "submit", "--model"], /--model/],
    [["stats", "--server", "ftp://example.com"], /--server must be an http\(s\) URL/],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(" "), async () => {
      const r = await stun(...argv);
      expect(r.stderr).toMatch(/^error USAGE: /);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain("NETWORK_ERROR");
      expect(r.stdout).toBe("");
      expect(r.code).toBe(2);
    });
  }
});

describe("runtime errors exit 1 with `error CODE: message`", () => {
  it("an unreachable server is NETWORK_ERROR", async () => {
    const r = await stun("providers");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error NETWORK_ERROR: GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/providers failed: ECONNREFUSED\n$/);
  });

  it("global flags go before or after the command words", async () => {
    for (const argv of [
      ["--server", server, "--api-key", "k", "--json", "account", "show"],
      ["account", "--json", "show", "--server", server, "--api-key=k"],
      ["account", "show", "--server", server, "--api-key", "k"],
    ]) {
      const r = await runStun(argv, { cwd: dir.path });
      expect(r.stderr, argv.join(" ")).toMatch(/^error NETWORK_ERROR: GET .*\/api\/v1\/accounts\/me/);
      expect(r.code).toBe(1);
    }
  });

  it("no API key anywhere is NO_API_KEY; commands without auth do not need one", async () => {
    const r = await runStun(["models", "list", "--server", server], { cwd: dir.path });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error NO_API_KEY: no API key for http:\/\/127\.0\.0\.1:\d+: run `stun account create`/);
    const health = await runStun(["health", "--server", server], { cwd: dir.path });
    expect(health.stderr).toMatch(/^error NETWORK_ERROR/);
  });

  it("a missing input or model file is FILE_ERROR", async () => {
    const input = await stun("tasks", "submit", "--model", "m1", "--input", "x=missing.npy");
    expect(input.code).toBe(1);
    expect(input.stderr).toBe('error FILE_ERROR: input "x": cannot read missing.npy: no such file\n');
    const model = await stun("models", "upload", "missing.onnx");
    expect(model.code).toBe(1);
    expect(model.stderr).toMatch(/^error FILE_ERROR: cannot read model file .*missing\.onnx: ENOENT/);
  });

  it("an input that does not fit its dtype is TENSOR_INVALID, before any request", async () => {
    await writeFile(join(dir.path, "bad.json"), JSON.stringify({ dtype: "uint8", dims: [2], data: [1, 256] }));
    const r = await stun("tasks", "submit", "--model", "m1", "--input", "x=bad.json");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error TENSOR_INVALID: tensor "x": element 1 (256) is out of range [0, 255] for dtype uint8\n');
  });
});

describe("bin/stun.mjs", () => {
  const bin = fileURLToPath(new URL("../bin/stun.mjs", import.meta.url));
  const exec = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, ...args], { cwd: dir.path, env: { ...process.env, HOME: dir.path, STUN_CONFIG: "" } }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
      );
    });

  it("runs the CLI as a process and exits with its status", async () => {
    const help = await exec("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: stun <command>");
    const usage = await exec("faucet");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^error USAGE: missing argument/);
  }, 30_000);
});
