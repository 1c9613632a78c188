/**
 * Submit → verified result latency on loopback: the real server (embedded PGlite, fsync on, as
 * `npm start` runs it) and two real `stun-provider` processes (onnxruntime-node, CPU), a small MLP.
 * Prints p50/p90/p99/max for sequential tasks in `none` and `redundant` mode, and the throughput of
 * 8 concurrent clients. Goal: p99 ≤ 50 ms (the seed promises < 100 ms).
 *
 *   npx tsx bench/e2e-latency.ts [--tasks 300]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { spawnProviderProcess } from "@stun/provider-native";
import { buildMlp } from "@stun/testkit";
import { parseConfig } from "../apps/server/src/env";
import { startServer } from "../apps/server/src/server";
import { createAccount, faucet } from "../apps/server/src/services/accounts";
import { stakeFunds } from "../apps/server/src/services/stake";
import { percentiles } from "./stats";
import { createBenchDatabase } from "./support/load";

const { values } = parseArgs({ options: { tasks: { type: "string", default: "300" } } });
const N = Number(values.tasks);

const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-bench-"));
// On PostgreSQL the bench runs in a database of its own (created here, dropped at the end), so no
// earlier run's rows — tasks whose blobs are gone with that run's temp dir — are in the way.
const benchDb = process.env.DATABASE_URL ? await createBenchDatabase(process.env.DATABASE_URL) : undefined;
// One requester key sends every task here: the per-key rate limit (1,200 a minute by default,
// docs/SECURITY.md) is lifted, or the concurrent round meets 429 RATE_LIMITED.
const server = await startServer(
  parseConfig({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "warn", RATE_LIMIT_PER_KEY: "0", STUN_FSYNC: process.env.STUN_FSYNC ?? "true", ...(benchDb ? { DATABASE_URL: benchDb.url } : {}) }),
);
const requester = await createAccount(server.app);
await faucet(server.app, requester.accountId, 10n ** 15n);
// Each provider under an account of its own (QA never lets one operator check itself); paid work
// needs stake (slashMultiple × the price of each live execution).
const providerAccounts = await Promise.all(
  [1, 2].map(async () => {
    const account = await createAccount(server.app);
    await faucet(server.app, account.accountId, 1_000_000n);
    await stakeFunds(server.app, account.accountId, 1_000_000n);
    return account;
  }),
);
const providers = await Promise.all(
  [1, 2].map((i) =>
    spawnProviderProcess({
      server: server.url,
      apiKey: providerAccounts[i - 1]!.apiKey,
      args: ["--name", `bench-${i}`, "--price", "10", "--cache-dir", path.join(dataDir, `cache-${i}`)],
    }),
  ),
);

const headers = { authorization: `Bearer ${requester.apiKey}`, "content-type": "application/json" };
const mlp = buildMlp({ inputSize: 64, hidden: [128], outputSize: 10, batch: 1 });
const upload = await fetch(`${server.url}/api/v1/models?name=bench-mlp`, {
  method: "POST",
  headers: { authorization: headers.authorization, "content-type": "application/octet-stream" },
  body: new Uint8Array(mlp.bytes),
});
const modelId = ((await upload.json()) as { id: string }).id;
const x = Buffer.from(new Float32Array(64).map((_, i) => Math.sin(i)).buffer).toString("base64");

async function oneTask(mode: "none" | "redundant"): Promise<number> {
  const t0 = performance.now();
  const sub = await fetch(`${server.url}/api/v1/tasks`, {
    method: "POST",
    headers,
    body: JSON.stringify({ modelId, inputs: { x: { dtype: "float32", dims: [1, 64], data: x } }, verification: { mode } }),
  });
  const { id } = (await sub.json()) as { id: string };
  const res = await fetch(`${server.url}/api/v1/tasks/${id}?wait=30`, { headers });
  const body = (await res.json()) as { status: string };
  if (body.status !== "completed") throw new Error(`task ${id} ended ${body.status}`);
  return performance.now() - t0;
}

function report(label: string, ms: number[]) {
  const p = percentiles(ms);
  console.log(`${label.padEnd(28)} n=${ms.length}  p50 ${p.p50.toFixed(2)} ms  p90 ${p.p90.toFixed(2)} ms  p99 ${p.p99.toFixed(2)} ms  max ${p.max.toFixed(2)} ms`);
  return p;
}

console.log(`# submit → result on loopback: ${os.cpus().length} cores, ${server.app.db.kind}, 2 native providers, MLP 64-128-10`);
for (let i = 0; i < 30; i++) await oneTask("none");
const none: number[] = [];
for (let i = 0; i < N; i++) none.push(await oneTask("none"));
const pNone = report("sequential, mode none", none);
const red: number[] = [];
for (let i = 0; i < N; i++) red.push(await oneTask("redundant"));
report("sequential, mode redundant", red);

const CONCURRENCY = 8;
const total = N;
let next = 0;
const t0 = performance.now();
const conc: number[] = [];
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < total) conc.push(await oneTask("none"));
  }),
);
const secs = (performance.now() - t0) / 1000;
report(`${CONCURRENCY} concurrent clients, none`, conc);
console.log(`throughput: ${(total / secs).toFixed(0)} tasks/s with ${CONCURRENCY} concurrent clients`);
console.log(`goal: p99 ≤ 50 ms (sequential, none): ${pNone.p99 <= 50 ? "MET" : "NOT MET"} (${pNone.p99.toFixed(2)} ms)`);

await Promise.all(providers.map((p) => p.stop(5000)));
await server.close();
await benchDb?.drop();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
