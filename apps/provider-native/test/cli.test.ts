import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import { API_KEY_ARGV_WARNING, UsageError, parseCli } from "../src/cli";

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/stun-provider.mjs");
const base = ["--server", "http://127.0.0.1:3000", "--api-key", "k"];

describe("parseCli", () => {
  it("parses every option", () => {
    const r = parseCli(
      [
        ...base,
        "--backend",
        "cuda",
        "--price",
        "120",
        "--stake",
        "5000",
        "--region",
        "eu-west",
        "--slots",
        "4",
        "--max-batch",
        "16",
        "--name",
        "box-1",
        "--cache-dir",
        "/tmp/c",
        "--cache-mb",
        "512",
        "--threads",
        "1",
        "--log-level",
        "warn",
        "--heartbeat-ms",
        "1000",
        "--drain-timeout-ms",
        "0",
        "--benchmark-ms",
        "0",
        "--fault",
        "perturb",
      ],
      {},
    );
    expect(r).toEqual({
      help: false,
      options: {
        server: "http://127.0.0.1:3000",
        apiKey: "k",
        backend: "cuda",
        price: "120",
        stake: "5000",
        region: "eu-west",
        slots: 4,
        maxBatch: 16,
        name: "box-1",
        cacheDir: "/tmp/c",
        cacheMb: 512,
        threads: 1,
        logLevel: "warn",
        heartbeatMs: 1000,
        drainTimeoutMs: 0,
        benchmarkMs: 0,
        fault: "perturb",
      },
      warnings: [API_KEY_ARGV_WARNING],
    });
  });

  it("falls back to STUN_SERVER / STUN_API_KEY / STUN_PROVIDER_FAULT; flags win", () => {
    const env = { STUN_SERVER: "https://stun.example", STUN_API_KEY: "envkey", STUN_PROVIDER_FAULT: "perturb" };
    expect(parseCli([], env)).toMatchObject({ options: { server: "https://stun.example", apiKey: "envkey", backend: "cpu", fault: "perturb" } });
    expect(parseCli(["--api-key", "flag"], env)).toMatchObject({ options: { apiKey: "flag" } });
    expect(parseCli([], { STUN_SERVER: "http://x", STUN_API_KEY: "k" })).not.toHaveProperty("options.fault");
  });

  it("--help", () => {
    expect(parseCli(["--help"], {})).toEqual({ help: true });
  });

  it("parses per-unit prices and following the index (flat price 0 unless given)", () => {
    const optionsOf = (argv: string[]) => {
      const r = parseCli(argv, {});
      if (r.help) throw new Error("help");
      return r.options;
    };
    const perUnit = optionsOf([...base, "--price-per-unit", "4"]);
    expect(perUnit).toMatchObject({ price: "0", pricePerUnit: "4" });
    expect(perUnit).not.toHaveProperty("followIndex");
    expect(optionsOf([...base, "--price", "2", "--price-per-unit", "4", "--price-follow-index", "--price-floor", "3", "--price-follow-s", "30"])).toMatchObject({
      price: "2",
      pricePerUnit: "4",
      followIndex: { floor: 3n, everyMs: 30_000 },
    });
    expect(optionsOf([...base, "--price-per-unit", "4", "--price-follow-index"])).toMatchObject({ followIndex: { floor: 4n, everyMs: 60_000 } });
  });

  it.each([
    [[], /--server is required/],
    [["--server", "http://x"], /an API key is required: set STUN_API_KEY or give --api-key-file PATH/],
    [[...base, "--api-key-file", "/k"], /--api-key-file or --api-key, not both/],
    [["--server", "not a url", "--api-key", "k"], /--server must be a URL/],
    [["--server", "ftp://x", "--api-key", "k"], /http\(s\)/],
    [["--server", "http://a:4000,ftp://x", "--api-key", "k"], /http\(s\) URL, got "ftp:\/\/x"/],
    [["--server", " , ", "--api-key", "k"], /--server must be a URL/],
    [[...base, "--backend", "tpu"], /--backend must be one of cpu, cuda, auto/],
    [[...base, "--price", "1.5"], /--price/],
    [[...base, "--price", "-3"], /--price/],
    [[...base, "--stake", "1.5"], /--stake must be a non-negative integer/],
    [[...base, "--price-per-unit", "0.5"], /--price-per-unit must be a non-negative integer/],
    [[...base, "--price-follow-index", "--price-floor", "x"], /--price-floor must be a non-negative integer/],
    [[...base, "--price-floor", "3"], /go with --price-follow-index/],
    [[...base, "--price-follow-index", "--price-follow-s", "0"], /--price-follow-s must be an integer from 1/],
    [[...base, "--region", "EU West"], /--region/],
    [[...base, "--slots", "0"], /--slots must be an integer from 1 to 64/],
    [[...base, "--slots", "65"], /--slots/],
    [[...base, "--slots", "two"], /--slots/],
    [[...base, "--max-batch", "0"], /--max-batch must be an integer from 1 to 1024/],
    [[...base, "--cache-mb", "-1"], /--cache-mb/],
    [[...base, "--threads", "0"], /--threads/],
    [[...base, "--fault", "lie"], /--fault must be one of perturb/],
    [[...base, "--log-level", "loud"], /--log-level/],
    [[...base, "--bogus"], /Unknown option '--bogus'/],
    [[...base, "extra"], /positional/i],
    [[...base, "--slots"], /argument missing/i],
  ])("rejects %j", (argv, message) => {
    expect(() => parseCli(argv as string[], {})).toThrow(UsageError);
    expect(() => parseCli(argv as string[], {})).toThrow(message);
  });
});

describe("the API key's sources", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "stun-key-"));
  const keyFile = (name: string, text: string, mode: number): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    chmodSync(file, mode);
    return file;
  };
  const server = ["--server", "http://127.0.0.1:3000"];

  it("takes STUN_API_KEY without a warning, and --api-key with one (the command line is public in ps)", () => {
    expect(parseCli(server, { STUN_API_KEY: "envkey" })).toMatchObject({ options: { apiKey: "envkey" }, warnings: [] });
    const flagged = parseCli([...server, "--api-key", "flagkey"], { STUN_API_KEY: "envkey" });
    expect(flagged).toMatchObject({ options: { apiKey: "flagkey" }, warnings: [API_KEY_ARGV_WARNING] });
    expect(API_KEY_ARGV_WARNING).toMatch(/ps/);
  });

  it("reads --api-key-file (first line, trimmed) of a file only its owner can read; it wins over STUN_API_KEY", () => {
    const file = keyFile("ok", "stun_secret \nsecond line\n", 0o600);
    expect(parseCli([...server, "--api-key-file", file], { STUN_API_KEY: "envkey" })).toMatchObject({ options: { apiKey: "stun_secret" }, warnings: [] });
    expect(parseCli([...server, "--api-key-file", keyFile("ro", "stun_ro", 0o400)], {})).toMatchObject({ options: { apiKey: "stun_ro" } });
  });

  it.skipIf(process.platform === "win32")("refuses a key file the group or others can read or write, saying how to fix it", () => {
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      const file = keyFile(`open-${mode.toString(8)}`, "stun_secret", mode);
      expect(() => parseCli([...server, "--api-key-file", file], {})).toThrow(UsageError);
      expect(() => parseCli([...server, "--api-key-file", file], {})).toThrow(`the API key file ${file} is accessible to other users (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
    }
  });

  it("refuses a missing or empty key file", () => {
    expect(() => parseCli([...server, "--api-key-file", path.join(dir, "absent")], {})).toThrow(/cannot read the API key file .*absent: ENOENT/);
    expect(() => parseCli([...server, "--api-key-file", keyFile("empty", "\n", 0o600)], {})).toThrow(/is empty/);
  });

  it.skipIf(process.platform === "win32")("the binary exits 2 with the reason for a world-readable key file", () => {
    const file = keyFile("bin-open", "stun_secret", 0o644);
    const r = spawnSync(process.execPath, [BIN, ...server, "--api-key-file", file], { encoding: "utf8", env: { ...process.env, STUN_API_KEY: "" } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^stun-provider: the API key file .* is accessible to other users \(mode 644\); run: chmod 600 /);
  });
});

describe("stun-provider binary", () => {
  it("exits 2 with a usage message on bad arguments", () => {
    const r = spawnSync(process.execPath, [BIN, "--server", "http://127.0.0.1:1", "--api-key", "k", "--slots", "zero"], {
      encoding: "utf8",
      env: { ...process.env, STUN_SERVER: "", STUN_API_KEY: "" },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^stun-provider: --slots must be an integer/);
    expect(r.stderr).toMatch(/Usage: stun-provider --server URL \[options\] {3}\(API key: env STUN_API_KEY or --api-key-file\)/);
  });

  it("exits 2 when the server is missing, 0 with usage on --help", () => {
    const missing = spawnSync(process.execPath, [BIN], { encoding: "utf8", env: { ...process.env, STUN_SERVER: "", STUN_API_KEY: "" } });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--server is required/);
    const help = spawnSync(process.execPath, [BIN, "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: stun-provider/);
  });
});
