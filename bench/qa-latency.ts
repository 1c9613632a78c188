/**
 * What checking every new provider's result costs a requester, with real processes (issue 11): the
 * real server (embedded PGlite, fsync on) and `--honest` real `stun-provider` processes
 * (onnxruntime-node, CPU, one slot each, each its own operator), optionally a cheater written from
 * PROTOCOL.md (test/support/scripted-provider.ts: `--cheater-slots` slots, a fast claimed benchmark,
 * every output + 0.5). `--tasks` tasks of a small MLP, `--in-flight` submitted at a time, in three
 * rounds: mode `none` (one unchecked execution: the floor), `auto` (the default: checked before
 * delivery, waiting for a checker of another operator when all are busy), and `redundant`.
 * Prints p50/p90/p99/max submit → result, tasks/s, how each round's results were checked, and how
 * many wrong results were delivered.
 *
 *   npx tsx bench/qa-latency.ts [--tasks 200] [--in-flight 8] [--honest 2] [--cheater-slots 8]   (--cheater-slots 0: no cheater)
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { spawnProviderProcess } from "@stun/provider-native";
import { buildMlp } from "@stun/testkit";
import type { WireTensorMap } from "@stun/shared";
import { parseConfig } from "../apps/server/src/env";
import { startServer } from "../apps/server/src/server";
import { createAccount, faucet } from "../apps/server/src/services/accounts";
import { stakeFunds } from "../apps/server/src/services/stake";
import { float32Tensor, float32sOf, startScriptedProvider } from "../apps/server/test/support/scripted-provider";
import { percentiles } from "./stats";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "200" },
    "in-flight": { type: "string", default: "8" },
    honest: { type: "string", default: "2" },
    "cheater-slots": { type: "string", default: "8" },
  },
});
const N = Number(values.tasks);
const IN_FLIGHT = Number(values["in-flight"]);
const HONEST = Number(values.honest);
const CHEATER_SLOTS = Number(values["cheater-slots"]);

const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-qa-bench-"));
// One requester key sends every task: the per-key rate limit is lifted (RATE_LIMIT_PER_KEY 0).
const server = await startServer(parseConfig({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "error", CANARY_RATE: "0", RATE_LIMIT_PER_KEY: "0", STUN_FSYNC: process.env.STUN_FSYNC ?? "true" }));
const requester = await createAccount(server.app);
await faucet(server.app, requester.accountId, 10n ** 15n);
async function operator() {
  const account = await createAccount(server.app);
  await faucet(server.app, account.accountId, 10_000_000n);
  await stakeFunds(server.app, account.accountId, 10_000_000n);
  return account;
}
const honest = [];
for (let i = 0; i < HONEST; i++) {
  const account = await operator();
  honest.push(
    await spawnProviderProcess({ server: server.url, apiKey: account.apiKey, args: ["--name", `honest-${i}`, "--price", "10", "--threads", "1", "--cache-dir", path.join(dataDir, `cache-${i}`)] }),
  );
}
const mlp = buildMlp({ inputSize: 16, hidden: [32], outputSize: 4, batch: 1 });
const cheater =
  CHEATER_SLOTS > 0
    ? await startScriptedProvider({
        url: server.url,
        apiKey: (await operator()).apiKey,
        name: "cheater",
        price: "10",
        slots: CHEATER_SLOTS,
        benchmarkIps: 1e6,
        answer: (inputs: WireTensorMap) => ({
          y: float32Tensor(
            [1, 4],
            mlp.forward(float32sOf(inputs.x!), 1).map((v) => v + 0.5),
          ),
        }),
      })
    : undefined;

const headers = { authorization: `Bearer ${requester.apiKey}`, "content-type": "application/json" };
const upload = await fetch(`${server.url}/api/v1/models?name=qa-bench-mlp`, {
  method: "POST",
  headers: { authorization: headers.authorization, "content-type": "application/octet-stream" },
  body: new Uint8Array(mlp.bytes),
});
const modelId = ((await upload.json()) as { id: string }).id;
const inputOf = (i: number) => Float32Array.from({ length: 16 }, (_, j) => Math.sin(i + j));

interface Done {
  ms: number;
  check: string;
  wrong: boolean;
}

async function oneTask(i: number, mode: string): Promise<Done> {
  const x = inputOf(i);
  const t0 = performance.now();
  const sub = await fetch(`${server.url}/api/v1/tasks`, {
    method: "POST",
    headers,
    body: JSON.stringify({ modelId, inputs: { x: { dtype: "float32", dims: [1, 16], data: Buffer.from(x.buffer).toString("base64") } }, verification: { mode }, maxPrice: "10" }),
  });
  const { id } = (await sub.json()) as { id: string };
  let body: { status: string; outputs?: { y: { data: string } }; receipt?: { qa: { check: string } } };
  do body = (await (await fetch(`${server.url}/api/v1/tasks/${id}?wait=30`, { headers })).json()) as typeof body;
  while (!["completed", "failed", "expired"].includes(body.status));
  const ms = performance.now() - t0;
  if (body.status !== "completed") throw new Error(`task ${id} ended ${body.status}`);
  const b = Buffer.from(body.outputs!.y.data, "base64");
  const y = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const wrong = mlp.forward(x, 1).some((v, k) => Math.abs(v - y[k]!) > 1e-3 + 1e-3 * Math.abs(v));
  return { ms, check: body.receipt!.qa.check, wrong };
}

async function round(mode: string): Promise<void> {
  const done: Done[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < N) done.push(await oneTask(next++, mode));
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const p = percentiles(done.map((d) => d.ms));
  const checks = new Map<string, number>();
  for (const d of done) checks.set(d.check, (checks.get(d.check) ?? 0) + 1);
  console.log(
    `${mode.padEnd(10)} n=${done.length}  p50 ${p.p50.toFixed(1)} ms  p90 ${p.p90.toFixed(1)} ms  p99 ${p.p99.toFixed(1)} ms  max ${p.max.toFixed(1)} ms  ` +
      `${(done.length / secs).toFixed(1)} tasks/s  wrong delivered ${done.filter((d) => d.wrong).length}  checks ${[...checks].map(([k, v]) => `${k}:${v}`).join(" ")}`,
  );
}

console.log(
  `# submit → verified result, ${os.cpus().length} cores, ${server.app.db.kind}: ${HONEST} honest one-slot providers` +
    `${cheater ? `, a cheater with ${CHEATER_SLOTS} slots and a fast claimed benchmark` : ""}; ${N} tasks per mode, ${IN_FLIGHT} in flight`,
);
for (let i = 0; i < 10; i++) await oneTask(10_000 + i, "redundant"); // warm-up: models cached, pairs past their first checks
for (const mode of ["auto", "redundant", "none"]) await round(mode);
if (cheater) {
  const row = await server.app.db.prisma.provider.findUnique({ where: { id: cheater.providerId } });
  console.log(`cheater: ${cheater.assigned.length} assignments, ${row!.tasksRejected} rejected, ${row!.tasksCompleted} accepted, slashed ${row!.slashed}`);
}

cheater?.close();
await Promise.all(honest.map((p) => p.stop(5000)));
await server.close();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
