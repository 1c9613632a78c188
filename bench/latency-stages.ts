/**
 * Where a sequential task's time goes, stage by stage (PostgreSQL): one client submits tasks one
 * after another through REST (POST, then GET ?wait=30) against the bench server and 8 native
 * providers, then reads each task's timestamps back from the database — all from this machine's one
 * clock — and prints the median and p90 of each stage:
 *
 *   submit     client sends POST                → the submit handler stamps the Task (createdAt): HTTP,
 *                                                   auth, validation, the storage-room read
 *   hold       createdAt                        → the client has the POST's answer (the submit's
 *                                                   group-commit unit committed, 201 written)
 *   dispatch   createdAt                        → the dispatcher stamps the Assignment (leaseUntil − LEASE_MS)
 *   execute    dispatch stamp                   → the result reaches its transaction (Assignment.completedAt):
 *                                                   the claim's commit, socket.io both ways, the inference
 *   settle     Assignment.completedAt           → Task.completedAt (the judge and ledger statements)
 *   answer     Task.completedAt                 → the client has the long-poll's answer (COMMIT, the
 *                                                   event, the task read, the HTTP response)
 *
 *   npx tsx bench/latency-stages.ts [--tasks 300] [--providers 8]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { percentiles } from "./stats";
import { benchRequester, createBenchDatabase, spawnBenchProviders, startBenchServer, type TaskTimes } from "./support/load";

const { values } = parseArgs({ options: { tasks: { type: "string", default: "300" }, providers: { type: "string", default: "8" } } });
const TASKS = Number(values.tasks);
const LEASE_MS = 30_000;

const benchDb = await createBenchDatabase();
const server = await startBenchServer(["--providers", values.providers, "--database-url", benchDb.url], { LEASE_MS: String(LEASE_MS) });
const { url, requesterKey, providerKeys } = server.info;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-bench-stages-"));
const providers = await spawnBenchProviders(providerKeys, () => url, dataDir);
const requester = await benchRequester(url, requesterKey);
const seen: TaskTimes[] = [];
for (let i = 0; i < TASKS + 50; i++) {
  const t = await requester.timedTask("none");
  // The first 50 warm the server (its ONNX workers start with the first canaries).
  if (i >= 50) seen.push(t);
}

const client = new pg.Client({ connectionString: benchDb.url });
await client.connect();
const { rows } = await client.query<{ id: string; created: number; dispatched: number; resulted: number; completed: number }>(
  `SELECT t.id, extract(epoch FROM t."createdAt") * 1000 AS created, extract(epoch FROM a."leaseUntil") * 1000 - $2 AS dispatched,
          extract(epoch FROM a."completedAt") * 1000 AS resulted, extract(epoch FROM t."completedAt") * 1000 AS completed
   FROM "Task" t JOIN "Assignment" a ON a."taskId" = t.id WHERE t.id = ANY($1::text[])`,
  [seen.map((s) => s.id), LEASE_MS],
);
await client.end();
const byId = new Map(rows.map((r) => [r.id, r]));
const stages: Record<string, number[]> = { submit: [], hold: [], dispatch: [], execute: [], settle: [], answer: [], total: [] };
for (const s of seen) {
  const r = byId.get(s.id);
  if (!r) continue;
  stages.submit!.push(Number(r.created) - s.sent);
  stages.hold!.push(s.accepted - Number(r.created));
  stages.dispatch!.push(Number(r.dispatched) - Number(r.created));
  stages.execute!.push(Number(r.resulted) - Number(r.dispatched));
  stages.settle!.push(Number(r.completed) - Number(r.resulted));
  stages.answer!.push(s.answered - Number(r.completed));
  stages.total!.push(s.answered - s.sent);
}
console.log(`# latency stages: ${os.cpus().length} cores, PostgreSQL, ${providers.length} native providers, MLP 64-128-10, ${seen.length} sequential tasks (ms; timestamps at ms resolution)`);
for (const [name, ms] of Object.entries(stages)) {
  const p = percentiles(ms);
  console.log(`${name.padEnd(9)} p50 ${p.p50.toFixed(1).padStart(6)}   p90 ${p.p90.toFixed(1).padStart(6)}`);
}

await Promise.all(providers.map((p) => p.stop(5000)));
await server.close();
await benchDb.drop();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
