/**
 * Security issue #12, "the API keeps answering whatever any client sends": the real server in its
 * own process (embedded PGlite, default limits unless flags say otherwise) while this process
 * runs the abuse mix against it, all at once, for `--seconds`:
 *
 * - nested JSON: 16 MB of `[` to the unauthenticated routes (POST /accounts, the SIWE nonce, tRPC);
 * - oversized unauthenticated uploads: 200 MB `POST /models` with no key, streamed;
 * - huge-shape models: a ~130-byte model with a fixed [5000,5000] input and a ~250-byte model that
 *   builds an 8000×8000 constant, uploaded with a valid key, over and over;
 * - a request flood: `--flood` concurrent loops of authenticated GET /accounts/me (one key), which
 *   meet the per-key rate limit.
 *
 * A worker thread (its own event loop, so the attackers' I/O cannot delay its clock) calls
 * GET /api/v1/health back to back the whole time. Prints /health p50/p99/max and the answers each
 * attack got (status counts, 429s among them). Goal: /health p99 and max ≤ 100 ms (DESIGN.md).
 *
 *   npx tsx bench/abuse.ts [--seconds 20] [--flood 16] [--per-key 300]
 *
 * `--per-key` sets the server's RATE_LIMIT_PER_KEY (per minute; the default config's 1,200 is more
 * than this process can send in a short run while it also builds the other attacks).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { buildConstantBombModel, buildLargeInputModel } from "@stun/testkit";
import { freePort } from "../apps/server/test/support/network";
import { percentiles } from "./stats";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "20" }, flood: { type: "string", default: "16" }, "per-key": { type: "string", default: "300" } },
});
const seconds = Number(values.seconds);
const floodLoops = Number(values.flood);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// ---------------------------------------------------------------- the server, in its own process
const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-abuse-"));
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, [path.join(root, "apps/server/bin/stun-server.mjs")], {
  cwd: dataDir,
  env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: "error", RATE_LIMIT_PER_KEY: values["per-key"] },
  stdio: ["ignore", "inherit", "inherit"],
});
const until = Date.now() + 120_000;
for (;;) {
  const ok = await fetch(`${url}/api/v1/health`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) break;
  if (Date.now() > until || server.exitCode !== null) throw new Error("the server did not come up");
  await new Promise((r) => setTimeout(r, 200));
}
const account = (await (await fetch(`${url}/api/v1/accounts`, { method: "POST" })).json()) as { apiKey: string };
const auth = { authorization: `Bearer ${account.apiKey}` };

// ---------------------------------------------------------------- /health from a worker thread
const healthWorker = new Worker(
  `const { parentPort, workerData } = require("node:worker_threads");
   const ms = []; let stop = false;
   parentPort.on("message", () => { stop = true; });
   (async () => {
     while (!stop) {
       const t0 = performance.now();
       let status = 0;
       try { const r = await fetch(workerData.url + "/api/v1/health"); await r.arrayBuffer(); status = r.status; } catch {}
       ms.push(status === 200 ? performance.now() - t0 : Infinity);
     }
     parentPort.postMessage(ms);
   })();`,
  { eval: true, workerData: { url } },
);
const healthDone = new Promise<number[]>((resolve) => healthWorker.once("message", resolve));

// ---------------------------------------------------------------- the attacks
const deadline = Date.now() + seconds * 1000;
type Tally = Map<string, number>;
const tallies = new Map<string, Tally>();
const count = (attack: string, outcome: string) => {
  const t = tallies.get(attack) ?? new Map<string, number>();
  t.set(outcome, (t.get(outcome) ?? 0) + 1);
  tallies.set(attack, t);
};
const outcome = async (res: Response): Promise<string> => {
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
  return `${res.status}${body.error?.code ? ` ${body.error.code}` : ""}`;
};
const repeat = async (attack: string, once: () => Promise<string>) => {
  while (Date.now() < deadline) count(attack, await once().catch((e: Error) => `error ${e.message.slice(0, 40)}`));
};

const nested = new TextEncoder().encode("[".repeat(16 * 1024 * 1024));
const nestedTo = (p: string) => () => fetch(`${url}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: nested }).then(outcome);

/** 200 MB of zeros, streamed in 1 MiB chunks, without a key. */
const bigUpload = () => {
  let sent = 0;
  const chunk = new Uint8Array(1024 * 1024);
  const body = new Readable({
    read() {
      if (sent >= 200) return this.push(null);
      sent++;
      this.push(chunk);
    },
  });
  return fetch(`${url}/api/v1/models`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream", "content-length": String(200 * 1024 * 1024) },
    body: Readable.toWeb(body) as ReadableStream,
    duplex: "half",
  } as RequestInit).then(outcome);
};

const bombs = [buildLargeInputModel(), buildConstantBombModel()];
let bomb = 0;
const bombUpload = () =>
  fetch(`${url}/api/v1/models`, { method: "POST", headers: { ...auth, "content-type": "application/octet-stream" }, body: new Uint8Array(bombs[bomb++ % bombs.length]!) }).then(outcome);

const flood = () => fetch(`${url}/api/v1/accounts/me`, { headers: auth }).then(async (r) => `${r.status}${r.status === 429 ? ` retry-after ${r.headers.get("retry-after") ? "set" : "missing"}` : ""}`);

console.log(`# /health while the abuse mix runs: ${os.cpus().length} cores, PGlite, ${seconds} s, ${floodLoops} flood loops`);
await Promise.all([
  repeat("nested JSON → POST /accounts", nestedTo("/api/v1/accounts")),
  repeat("nested JSON → SIWE nonce", nestedTo("/api/v1/auth/siwe/nonce")),
  repeat("nested JSON → tRPC", nestedTo("/trpc/accounts.create")),
  repeat("200 MB upload, no key", bigUpload),
  repeat("huge-shape models", bombUpload),
  ...Array.from({ length: floodLoops }, () => repeat("flood GET /accounts/me", flood)),
]);
healthWorker.postMessage("stop");
const health = await healthDone;
await healthWorker.terminate();

for (const [attack, t] of tallies) {
  const total = [...t.values()].reduce((a, b) => a + b, 0);
  console.log(`  ${attack.padEnd(30)} ${String(total).padStart(6)} requests: ${[...t].map(([k, v]) => `${k} ×${v}`).join(", ")}`);
}
const failed = health.filter((v) => !Number.isFinite(v)).length;
const p = percentiles(health.filter(Number.isFinite));
const limited = [...(tallies.get("flood GET /accounts/me") ?? new Map<string, number>())].filter(([k]) => k.startsWith("429")).reduce((a, [, v]) => a + v, 0);
console.log(`  /health: n=${health.length}, failed ${failed}, p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms, max ${p.max.toFixed(2)} ms`);
console.log(`  429 RATE_LIMITED answers to the flood: ${limited}`);
console.log(`goal: /health p99 and max ≤ 100 ms: ${failed === 0 && p.max <= 100 ? "MET" : "NOT MET"} (load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)`);

server.kill("SIGTERM");
await new Promise((r) => server.once("exit", r));
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
