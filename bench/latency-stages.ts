/**
 * Where a task's time goes, stage by stage (PostgreSQL): one client (or `--clients C`, each in a
 * closed loop) submits tasks one after another through REST (POST, then GET ?wait=30) against the bench server and 8 native
 * providers, then reads each task's timestamps back from the database — all from this machine's one
 * clock — and prints the median and p90 of each stage:
 *
 *   submit     client sends POST                → the submit handler stamps the Task (createdAt): HTTP,
 *                                                   auth, validation, the storage-room read
 *   hold       createdAt                        → the client has the POST's answer (the submit's
 *                                                   group-commit unit committed, 201 written)
 *   dispatch   createdAt                        → the claim's transaction begins (Assignment.createdAt, PostgreSQL's
 *                                                   now(): the start of the transaction that inserted it)
 *   execute    claim begins                     → the result reaches its transaction (Assignment.completedAt):
 *                                                   the claim's commit, socket.io both ways, the inference
 *   settle     Assignment.completedAt           → Task.completedAt (the judge and ledger statements)
 *   answer     Task.completedAt                 → the client has the long-poll's answer (COMMIT, the
 *                                                   event, the task read, the HTTP response)
 *
 * With `--clients` above 1 the stages show where queueing under load sits, and p99 where the tail does.
 *
 * `--worst N` also prints the N slowest tasks stage by stage, with when each was sent (ms into the run).
 *
 *   npx tsx bench/latency-stages.ts [--tasks 300] [--providers 8] [--clients 1] [--slots 1] [--worst 0]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { percentiles } from "./stats";
import { benchRequester, closedLoop, createBenchDatabase, spawnBenchProviders, startBenchServer, type TaskTimes } from "./support/load";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "300" },
    providers: { type: "string", default: "8" },
    clients: { type: "string", default: "1" },
    slots: { type: "string", default: "1" },
    worst: { type: "string", default: "0" },
  },
});
const TASKS = Number(values.tasks);
const CLIENTS = Number(values.clients);

const benchDb = await createBenchDatabase();
const server = await startBenchServer(["--providers", values.providers, "--database-url", benchDb.url]);
const { url, requesterKey, providerKeys } = server.info;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-bench-stages-"));
const providers = await spawnBenchProviders(providerKeys, () => url, dataDir, ["--slots", values.slots]);
const requester = await benchRequester(url, requesterKey);
// The first 50 warm the server (its ONNX workers start with the first canaries); under load, 3 s
// at the full concurrency warm every provider too (one that never ran the model fetches and loads it
// on its first task: hundreds of ms, which a cold start would put into the figures' tail).
for (let i = 0; i < 50; i++) await requester.timedTask("none");
if (CLIENTS > 1) await closedLoop(CLIENTS, 3, () => requester.oneTask("none"));
const seen: TaskTimes[] = [];
await Promise.all(
  Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = c; i < TASKS; i += CLIENTS) seen.push(await requester.timedTask("none"));
  }),
);

const client = new pg.Client({ connectionString: benchDb.url });
await client.connect();
const { rows } = await client.query<{ id: string; created: number; dispatched: number; resulted: number; completed: number }>(
  `SELECT t.id, extract(epoch FROM t."createdAt") * 1000 AS created, extract(epoch FROM a."createdAt") * 1000 AS dispatched,
          extract(epoch FROM a."completedAt") * 1000 AS resulted, extract(epoch FROM t."completedAt") * 1000 AS completed
   FROM "Task" t JOIN "Assignment" a ON a."taskId" = t.id WHERE t.id = ANY($1::text[])`,
  [seen.map((s) => s.id)],
);
// Executions that did not complete (a provider's BUSY, a lost ack): each is a task's extra wait.
const { rows: other } = await client.query<{ status: string; errorCode: string | null; n: number }>(
  `SELECT status, "errorCode", count(*)::int AS n FROM "Assignment" WHERE status <> 'completed' GROUP BY 1, 2`,
);
await client.end();
const byId = new Map(rows.map((r) => [r.id, r]));
const stages: Record<string, number[]> = { submit: [], hold: [], dispatch: [], execute: [], settle: [], answer: [], total: [] };
/** The tasks the stages hold, in their order (a task without its rows is left out of both). */
const measured: TaskTimes[] = [];
for (const s of seen) {
  const r = byId.get(s.id);
  if (!r) continue;
  measured.push(s);
  stages.submit!.push(Number(r.created) - s.sent);
  stages.hold!.push(s.accepted - Number(r.created));
  stages.dispatch!.push(Number(r.dispatched) - Number(r.created));
  stages.execute!.push(Number(r.resulted) - Number(r.dispatched));
  stages.settle!.push(Number(r.completed) - Number(r.resulted));
  stages.answer!.push(s.answered - Number(r.completed));
  stages.total!.push(s.answered - s.sent);
}
console.log(
  `# latency stages: ${os.cpus().length} cores, PostgreSQL, ${providers.length} native providers, MLP 64-128-10, ${seen.length} tasks from ${CLIENTS} client(s) (ms; timestamps at ms resolution)`,
);
if (other.length) console.log(`executions not completed: ${other.map((o) => `${o.status}${o.errorCode ? ` ${o.errorCode}` : ""} ${o.n}`).join(", ")}`);
if (Number(values.worst) > 0) {
  const order = stages
    .total!.map((t, i) => [t, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, Number(values.worst));
  const t0 = Math.min(...measured.map((x) => x.sent));
  for (const [, i] of order)
    console.log(
      "worst",
      `at ${(measured[i]!.sent - t0).toFixed(0)}`,
      Object.entries(stages)
        .map(([n, v]) => `${n} ${v[i]!.toFixed(0)}`)
        .join(" "),
    );
}
for (const [name, ms] of Object.entries(stages)) {
  const p = percentiles(ms);
  console.log(`${name.padEnd(9)} p50 ${p.p50.toFixed(1).padStart(6)}   p90 ${p.p90.toFixed(1).padStart(6)}   p99 ${p.p99.toFixed(1).padStart(6)}`);
}

await Promise.all(providers.map((p) => p.stop(5000)));
await server.close();
await benchDb.drop();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
