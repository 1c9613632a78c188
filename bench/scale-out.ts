/**
 * Scale-out: 1, 2 and 3 server instances (processes) on one PostgreSQL database and one Redis, the
 * native providers and the requesters spread over them (provider i and client j on instance i mod N,
 * j mod N). For each N: tasks/s and p50/p99 of a closed loop, the servers' CPU-seconds per task
 * (summed over instances: the goal is within 10% of one instance's), and from PostgreSQL the
 * transactions per task and the lock waits seen (pg_locks sampled every 20 ms during the run).
 *
 * `--requesters K` spreads the clients over K requester accounts (client j is account j mod K): with
 * one, every submit and settlement locks that one Account row, the hot row a single heavy
 * requester is.
 *
 * This machine has 2 cores: N instances share them, so tasks/s cannot grow with N here; CPU per
 * task is what shows whether an instance costs more work per task as the network grows.
 *
 * An instance's CPU per task depends on its own load: a group-commit batch's BEGIN, COMMIT and
 * statements, an event-loop turn's socket writes, a claim pass are shared by the tasks that arrive
 * together, and N instances splitting one load each see 1/N of it. `--same-load` (default on) also
 * runs, for each N above 1, one instance with what each of the N carried — clients/N clients (the
 * same concurrency, at a higher rate), and the N instances' tasks/s over N arriving evenly (an open
 * loop: the same rate, less batching) — and prints N instances' CPU per task against both: what
 * instances cost beyond the thinner load each one sees lies between the two.
 *
 *   npx tsx bench/scale-out.ts [--instances 1,2,3] [--providers 6] [--slots 2] [--clients 24] [--requesters 1] [--seconds 10] [--mode none] [--same-load true|false] [--cpu-prof DIR]
 * `--cpu-prof DIR`: each instance's CPU profile of each point (bench/support/profile-summary.ts reads them).
 * Instances share blobs through BLOB_STORE when set (e.g. BLOB_STORE=postgres), else one data directory.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { percentiles } from "./stats";
import { benchRequester, closedLoop, createBenchDatabase, openLoop, fundedRequester, spawnBenchProviders, startBenchServer, type Mode } from "./support/load";

const { values } = parseArgs({
  options: {
    instances: { type: "string", default: "1,2,3" },
    providers: { type: "string", default: "6" },
    slots: { type: "string", default: "2" },
    clients: { type: "string", default: "24" },
    requesters: { type: "string", default: "1" },
    seconds: { type: "string", default: "10" },
    mode: { type: "string", default: "none" },
    "same-load": { type: "string", default: "true" },
    "cpu-prof": { type: "string" },
  },
});
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
/** A task slower than this has its timeline printed after its point. */
const SLOW_MS = 3000;
const mode = values.mode as Mode;
const clients = Number(values.clients);

console.log(
  `# scale-out: ${os.cpus().length} cores, PostgreSQL + Redis, ${values.providers} native providers × ${values.slots} slots, ${clients} clients of ${values.requesters} requester account(s), mode ${mode}, ${values.seconds} s per point`,
);
let points = 0;
/**
 * One point: n instances, loaded by `clients` closed-loop clients or, with `rate`, by tasks arriving
 * at `rate` per second (open loop); prints its line and returns the servers' CPU ms per task and tasks/s.
 */
async function point(n: number, load: { clients: number } | { rate: number }, label: string, against: (cpu: number) => string): Promise<{ cpu: number; tasksPerSecond: number }> {
  const db = await createBenchDatabase();
  const shared = mkdtempSync(path.join(os.tmpdir(), "stun-scale-"));
  const common = ["--database-url", db.url, "--redis-url", REDIS_URL, "--redis-prefix", `stun-bench-${process.pid}-${++points}`, "--data-dir", shared];
  const first = await startBenchServer(["--providers", values.providers, ...common]);
  const servers = [first, ...(await Promise.all(Array.from({ length: n - 1 }, () => startBenchServer(["--no-accounts", ...common]))))];
  const providers = await spawnBenchProviders(first.info.providerKeys, (i) => servers[i % n]!.info.url, shared, ["--slots", values.slots]);
  const one = await benchRequester(first.info.url, first.info.requesterKey);
  // Client j: account j mod K on instance j mod N.
  const keys = [first.info.requesterKey, ...(await Promise.all(Array.from({ length: Number(values.requesters) - 1 }, () => fundedRequester(first.info.url))))];
  const requesters = await Promise.all(Array.from({ length: Math.max(n, keys.length) }, (_, j) => benchRequester(servers[j % n]!.info.url, keys[j % keys.length]!, one.modelId)));
  // Warm-up at the full load: every provider fetches and loads the model on its first task (hundreds
  // of ms), which sequential warm-up tasks (one provider's) left to the measured window's tail.
  await closedLoop(clients, 3, (c) => requesters[c % requesters.length]!.oneTask(mode));

  const stats = new pg.Client({ connectionString: db.url });
  await stats.connect();
  const commits = async () => Number((await stats.query("SELECT xact_commit + xact_rollback AS x FROM pg_stat_database WHERE datname = current_database()")).rows[0].x);
  const x0 = await commits();
  let lockSamples = 0;
  let waiting = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      waiting += Number((await stats.query("SELECT count(*) AS c FROM pg_locks WHERE NOT granted")).rows[0].c);
      lockSamples++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const profileDir = values["cpu-prof"] ? path.resolve(values["cpu-prof"]) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  await Promise.all(servers.map((s) => s.start(profileDir !== undefined)));
  // A task far slower than the rest (a lost announcement or assignment waits out a 30 s long-poll or
  // lease): its timeline is printed after the point, from the database.
  const slow: Array<{ id: string; sent: number; answered: number; client: number }> = [];
  const timed = async (c: number, t0?: number) => {
    const t = await requesters[c % requesters.length]!.timedTask(mode);
    if (t.answered - t.sent > SLOW_MS) slow.push({ ...t, client: c });
    return t.answered - (t0 ?? t.sent);
  };
  let arrivals = 0;
  const { ms, secs } =
    "rate" in load
      ? await openLoop(load.rate, Number(values.seconds), (t0) => timed(arrivals++, performance.timeOrigin + t0))
      : await closedLoop(load.clients, Number(values.seconds), (c) => timed(c));
  const windows = await Promise.all(servers.map((s, i) => s.stop(profileDir && path.join(profileDir, `instances-${n}-server-${i}.cpuprofile`))));
  sampling = false;
  await sampler;
  // pg_stat_database is updated when a backend reports; give the last ones a moment.
  await new Promise((r) => setTimeout(r, 700));
  const xacts = (await commits()) - x0 - lockSamples - 2;
  for (const t of slow.slice(0, 5)) {
    const task = (await stats.query(`SELECT status, "createdAt", "completedAt" FROM "Task" WHERE id = $1`, [t.id])).rows[0];
    const executions = (
      await stats.query(`SELECT a.status, a."createdAt", a."completedAt", p.name FROM "Assignment" a JOIN "Provider" p ON p.id = a."providerId" WHERE a."taskId" = $1 ORDER BY a."createdAt"`, [t.id])
    ).rows;
    console.log(`  slow task: ${JSON.stringify({ ...t, ms: Math.round(t.answered - t.sent), clientInstance: t.client % n, sentAt: new Date(t.sent).toISOString(), task, executions })}`);
  }
  await stats.end();

  const p = percentiles(ms);
  const cpu = windows.reduce((s, w) => s + w.cpuMs, 0) / ms.length;
  console.log(
    `${label}  n=${String(ms.length).padStart(5)}  ${(ms.length / secs).toFixed(1).padStart(6)} tasks/s  p50 ${p.p50.toFixed(1).padStart(6)} ms  p99 ${p.p99.toFixed(1).padStart(6)} ms  max ${p.max.toFixed(0)} ms` +
      `  server CPU ${cpu.toFixed(2)} ms/task (${against(cpu)}; per instance ${windows.map((w) => (w.cpuMs / ms.length).toFixed(2)).join(" / ")})` +
      `  ${(xacts / ms.length).toFixed(2)} transactions/task, ${(waiting / lockSamples).toFixed(2)} lock waiters on average` +
      `  ${(windows.reduce((s, w) => s + w.groupCommit.batches, 0) / ms.length).toFixed(2)} group-commit batches/task (${(windows.reduce((s, w) => s + (w.groupCommit.autocommits ?? 0), 0) / ms.length).toFixed(2)} lone leads committed by themselves)` +
      `  claims/task: ${["placed", "unplaced", "empty", "probed", "skipped"].map((o) => `${o} ${(windows.reduce((s, w) => s + (w.claims[o] ?? 0), 0) / ms.length).toFixed(2)}`).join(", ")}`,
  );

  await Promise.all(providers.map((pr) => pr.stop(5000)));
  await Promise.all(servers.map((s) => s.close()));
  await db.drop();
  rmSync(shared, { recursive: true, force: true });
  return { cpu, tasksPerSecond: ms.length / secs };
}

const pct = (cpu: number, of: number | undefined) => (of === undefined ? "–" : `${((100 * cpu) / of).toFixed(0)}%`);
let oneCpu: number | undefined;
for (const n of values.instances.split(",").map(Number)) {
  const { cpu, tasksPerSecond } = await point(n, { clients }, `${String(n)} instance${n === 1 ? " " : "s"}`, (c) => `${pct(c, oneCpu ?? (n === 1 ? c : undefined))} of 1 instance`);
  if (n === 1) oneCpu ??= cpu;
  // One instance carrying what each of the n carried — as many clients (the same concurrency, so
  // as much batching, at a higher rate), and the same rate arriving evenly (less batching): the two
  // references what instances add beyond a thinner load is judged against.
  if (n > 1 && values["same-load"] !== "false") {
    const share = Math.max(1, Math.round(clients / n));
    const byClients = await point(1, { clients: share }, `1 instance, ${share} clients`, () => `the clients each of ${n} served`);
    const rate = Math.round(tasksPerSecond / n);
    const byRate = await point(1, { rate }, `1 instance at ${rate} tasks/s`, () => `the rate each of ${n} carried`);
    console.log(
      `  → ${n} instances: ${pct(cpu, oneCpu)} of 1 instance at the full load; ${pct(cpu, byClients.cpu)} of 1 instance with the clients each served, ${pct(cpu, byRate.cpu)} of 1 instance at the rate each carried`,
    );
  }
}
process.exit(0);
