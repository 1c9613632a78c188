/**
 * Tasks per second and submit → result latency under load, against real processes: the server in
 * a process of its own (bench/support/bench-server.ts; PGlite with fsync on, or PostgreSQL),
 * `--providers` native `stun-provider` processes (onnxruntime-node, CPU) with `--slots` each, and
 * this process as the requesters (REST: POST /tasks, then GET /tasks/:id?wait=30; with `--run`, one
 * POST /tasks/run per task). A tiny MLP
 * (64-128-10), as a throughput bench must: the marketplace's own cost per task is what is measured.
 *
 * - closed loop: C clients, each submitting its next task when the last one's result is in;
 * - open loop: tasks arrive at a fixed rate whatever the server does; latency from the scheduled
 *   arrival (no coordinated omission);
 * - flood: the closed loop again while another account floods invalid submits at `--flood-rate`,
 *   from a process of its own (support/flood-client.ts).
 *
 * Each point also prints the server's CPU per task and, on PGlite, its statements and transactions per
 * task; `--cpu-prof DIR` writes the server's CPU profile of each point (bench/support/profile-summary.ts
 * reads them).
 *
 *   npx tsx bench/throughput.ts [--db pglite|postgres] [--providers 8] [--slots 1] [--max-batch N] [--modes none,redundant,auto]
 *                               [--clients 1,8,32] [--rates 100,200] [--seconds 10] [--flood-rate 500] [--cpu-prof DIR] [--run]
 *                               [--history 100000 [--history-unanalyzed]] [--warm-up 30]
 *
 * Before the first point, `--warm-up` seconds of 8 clients running the measured modes in turn: the
 * server's and the providers' code is compiled by V8 as it runs, and with a few seconds only, the
 * points measured first ran on code still being compiled (server CPU per task 7.1 ms at the first
 * sequential point, 3.5 ms at the fourth; docs/BENCHMARKS.md, twenty-second round).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { percentiles } from "./stats";
import { cpuBetween, snapshotCpu } from "./support/machine-cpu";
import { benchChild, benchRequester, closedLoop, createBenchDatabase, openLoop, spawnBenchProviders, startBenchServer, type Mode } from "./support/load";

const { values } = parseArgs({
  options: {
    db: { type: "string", default: "pglite" },
    providers: { type: "string", default: "8" },
    slots: { type: "string", default: "1" },
    "max-batch": { type: "string" },
    modes: { type: "string", default: "none,redundant,auto" },
    clients: { type: "string", default: "1,8,32" },
    rates: { type: "string", default: "" },
    seconds: { type: "string", default: "10" },
    "flood-rate": { type: "string", default: "0" },
    "cpu-prof": { type: "string" },
    /** Finished executions seeded before the measured points (spread over the providers): a network that has run a while. */
    history: { type: "string", default: "0" },
    /** Leave the seeded history unanalyzed (what PGlite, which has no autovacuum, kept before the server's own maintenance). */
    "history-unanalyzed": { type: "boolean", default: false },
    /** One request per task (`POST /tasks/run`) instead of a submit and a long-poll. */
    run: { type: "boolean", default: false },
    "warm-up": { type: "string", default: "30" },
  },
});
const MODES = values.modes.split(",").filter(Boolean) as Mode[];
const CLIENTS = values.clients.split(",").filter(Boolean).map(Number);
const RATES = values.rates.split(",").filter(Boolean).map(Number);
const SECONDS = Number(values.seconds);
const FLOOD_RATE = Number(values["flood-rate"]);
const PROFILE_DIR = values["cpu-prof"] ? path.resolve(values["cpu-prof"]) : undefined;
if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });

const benchDb = values.db === "postgres" ? await createBenchDatabase() : undefined;
const server = await startBenchServer(["--providers", values.providers, ...(benchDb ? ["--database-url", benchDb.url] : [])]);
const { url, requesterKey, providerKeys, db } = server.info;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-bench-providers-"));
const providers = await spawnBenchProviders(providerKeys, () => url, dataDir, ["--slots", values.slots, ...(values["max-batch"] ? ["--max-batch", values["max-batch"]] : [])]);
const requester = await benchRequester(url, requesterKey, undefined, { run: values.run });

interface Point {
  label: string;
  n: number;
  perSecond: number;
  p50: number;
  p99: number;
}
const points: Point[] = [];

/** Runs one measured point: the server's CPU (and on PGlite its statements) counted over it, profiled with --cpu-prof. */
async function measure(label: string, run: () => Promise<{ ms: number[]; secs: number }>): Promise<Point> {
  const file = PROFILE_DIR ? path.join(PROFILE_DIR, `${label.replace(/[^a-z0-9]+/gi, "-")}.cpuprofile`) : undefined;
  await server.start(file !== undefined);
  const before = snapshotCpu();
  const { ms, secs } = await run();
  const after = snapshotCpu();
  const w = await server.stop(file);
  const p = percentiles(ms);
  const gc = w.groupCommit;
  const point = { label, n: ms.length, perSecond: ms.length / secs, p50: p.p50, p99: p.p99 };
  points.push(point);
  const per = (x: number | undefined, digits: number) => (x === undefined ? "" : (x / ms.length).toFixed(digits));
  console.log(
    `${label.padEnd(36)} n=${String(ms.length).padStart(5)}  ${point.perSecond.toFixed(1).padStart(7)} tasks/s  p50 ${p.p50.toFixed(1).padStart(6)} ms  p99 ${p.p99.toFixed(1).padStart(6)} ms` +
      `  server CPU ${per(w.cpuMs, 2)} ms/task${w.statements !== undefined ? `, ${per(w.statements, 1)} statements, ${per(w.transactions, 2)} transactions/task` : ""}` +
      `  group commit ${((100 * gc.busyMs) / (secs * 1000)).toFixed(0)}% busy (${((100 * gc.unitMs) / Math.max(1, gc.busyMs)).toFixed(0)}% in units), ${(gc.units / Math.max(1, gc.batches)).toFixed(1)} units/batch, ${(gc.busyMs / Math.max(1, gc.batches)).toFixed(1)} ms/batch, ${per(gc.sharedLeads, 2)} leads shared a statement/task, ${per(gc.autocommits, 2)} committed by themselves/task, ${per(gc.statements, 1)} statements/task in batches at ${(gc.statementMs / Math.max(1, gc.statements)).toFixed(2)} ms each, ${per(gc.roundTrips, 2)} round trips/task` +
      (Object.keys(gc.failed).length > 0 ? `, units that threw (batch run again): ${JSON.stringify(gc.failed)}` : ""),
  );
  if (before && after) {
    const m = cpuBetween(before, after);
    const roles = Object.entries(m.ms).map(([role, cpu]) => `${role} ${(cpu / ms.length).toFixed(2)}`);
    console.log(`${"".padEnd(36)} machine ${(100 * m.busy).toFixed(0)}% busy; CPU ms/task: ${roles.join(", ")}`);
  }
  return point;
}

/** Invalid submits at `rate` per second from another account until `stop` resolves: wrong dtype, unknown model, bad JSON, wrong shape. */
/** Starts the flood of invalid submits at `rate` per second, from a process of its own (support/flood-client.ts); resolves once it runs, with its `stop`. */
async function startFlood(rate: number): Promise<{ stop(): Promise<{ sent: number; statuses: Record<string, number> }> }> {
  const { child, next } = benchChild("flood-client.ts", [url, requester.modelId, String(rate)], "flood");
  await next("READY");
  return {
    async stop() {
      child.stdin!.write("stop\n");
      return JSON.parse(await next("FLOOD "));
    },
  };
}

console.log(
  `# throughput: ${os.cpus().length} cores, ${db}, ${providers.length} native providers × ${values.slots} slot(s), MLP 64-128-10, ${SECONDS} s per point, ${values.run ? "POST /tasks/run" : "submit + long-poll"}`,
);
// Warm-up, sequential then concurrent: the first canaries start the server's ONNX worker processes
// (seconds of CPU on two cores), which must not land in a measured point.
for (let i = 0; i < 50; i++) await requester.oneTask("none");
for (const mode of MODES) await closedLoop(8, Number(values["warm-up"]) / MODES.length, () => requester.oneTask(mode));
const HISTORY = Number(values.history);
if (HISTORY > 0) {
  const analyze = !values["history-unanalyzed"];
  const { seconds } = await server.history(HISTORY, analyze);
  console.log(`# history: ${HISTORY} finished executions seeded over the providers (${seconds.toFixed(1)} s)${analyze ? ", then ANALYZE" : ", not analyzed"}`);
  await closedLoop(8, 3, () => requester.oneTask("none"));
}
for (const mode of MODES) {
  for (const c of CLIENTS) await measure(`closed, ${mode}, ${c} client${c === 1 ? "" : "s"}`, () => closedLoop(c, SECONDS, () => requester.oneTask(mode)));
  for (const rate of RATES) await measure(`open, ${mode}, ${rate}/s offered`, () => openLoop(rate, SECONDS, (t0) => requester.oneTask(mode, t0)));
}
if (FLOOD_RATE > 0) {
  const c = Math.max(...CLIENTS);
  const label = `closed, none, ${c} clients`;
  const base = points.find((p) => p.label === label) ?? (await measure(label, () => closedLoop(c, SECONDS, () => requester.oneTask("none"))));
  const flooding = await startFlood(FLOOD_RATE);
  const under = await measure(`${label} + flood`, () => closedLoop(c, SECONDS, () => requester.oneTask("none")));
  const f = await flooding.stop();
  console.log(`flood: ${f.sent} invalid submits (${FLOOD_RATE}/s offered), answers by HTTP status ${JSON.stringify(f.statuses)}`);
  console.log(`valid throughput under the flood: ${((100 * under.perSecond) / base.perSecond).toFixed(1)}% of without (goal ≥ 90%)`);
}

await Promise.all(providers.map((p) => p.stop(5000)));
await server.close();
await benchDb?.drop();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
