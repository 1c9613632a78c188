/**
 * Submit → result latency, one task at a time, with the SDK's wait hearing the end pushed on the
 * `/requester` socket versus long-polling `GET /tasks/:id?wait=`: the real server (embedded PGlite,
 * fsync as `npm start`) and one real `stun-provider` (onnxruntime-node, CPU), a small MLP, mode
 * `none`. The two ways alternate task by task, so both see the same machine.
 *
 *   npx tsx bench/push-latency.ts [--tasks 200]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { spawnProviderProcess } from "@stun/provider-native";
import { StunClient, type WaitPath } from "@stun/sdk";
import { buildMlp } from "@stun/testkit";
import { parseConfig } from "../apps/server/src/env";
import { startServer } from "../apps/server/src/server";
import { createAccount, faucet } from "../apps/server/src/services/accounts";
import { stakeFunds } from "../apps/server/src/services/stake";
import { percentiles } from "./stats";

const { values } = parseArgs({ options: { tasks: { type: "string", default: "200" } } });
const N = Number(values.tasks);

const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-bench-"));
const server = await startServer(parseConfig({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "warn", RATE_LIMIT_PER_KEY: "0", STUN_FSYNC: process.env.STUN_FSYNC ?? "true" }));
const requester = await createAccount(server.app);
await faucet(server.app, requester.accountId, 10n ** 15n);
const providerAccount = await createAccount(server.app);
await faucet(server.app, providerAccount.accountId, 1_000_000n);
await stakeFunds(server.app, providerAccount.accountId, 1_000_000n);
const provider = await spawnProviderProcess({ server: server.url, apiKey: providerAccount.apiKey, args: ["--name", "bench", "--price", "10", "--cache-dir", path.join(dataDir, "cache")] });

const clients: Record<WaitPath, StunClient> = {
  push: new StunClient({ baseUrl: server.url, apiKey: requester.apiKey }),
  "long-poll": new StunClient({ baseUrl: server.url, apiKey: requester.apiKey, push: false }),
};
const mlp = buildMlp({ inputSize: 64, hidden: [128], outputSize: 10, batch: 1 });
const { id: modelId } = await clients.push.uploadModel(mlp.bytes, { name: "bench-mlp" });
const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));

async function once(way: WaitPath): Promise<number> {
  const started = performance.now();
  const task = await clients[way].submitTask({ modelId, inputs: { x: { dims: [1, 64], data: x } }, verification: { mode: "none" } });
  let used: WaitPath | undefined;
  const info = await task.wait({ onPath: (p) => (used = p) });
  if (info.status !== "completed" || used !== way) throw new Error(`task ${task.id}: ${info.status} via ${used}`);
  return performance.now() - started;
}

try {
  for (let i = 0; i < 10; i++) await once(i % 2 ? "push" : "long-poll"); // warm-up: model cached, sessions open
  const ms: Record<WaitPath, number[]> = { push: [], "long-poll": [] };
  for (let i = 0; i < N; i++) {
    const way: WaitPath = i % 2 ? "push" : "long-poll";
    ms[way].push(await once(way));
  }
  for (const way of ["push", "long-poll"] as const) {
    const p = percentiles(ms[way]);
    console.log(`${way.padEnd(9)} n=${ms[way].length} p50=${p.p50.toFixed(1)} ms p90=${p.p90.toFixed(1)} ms p99=${p.p99.toFixed(1)} ms max=${p.max.toFixed(1)} ms`);
  }
} finally {
  await provider.kill();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
