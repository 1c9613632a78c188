/**
 * Tasks per second and submit → result latency under load, against real processes: the server in
 * a process of its own (bench/support/bench-server.ts; PGlite with fsync on, or PostgreSQL),
 * `--providers` native `stun-provider` processes (onnxruntime-node, CPU) with `--slots` each, and
 * this process as the requesters (REST: POST /tasks, then GET /tasks/:id?wait=30). A tiny MLP
 * (64-128-10), as a throughput bench must: the marketplace's own cost per task is what is measured.
 *
 * - closed loop: C clients, each submitting its next task when the last one's result is in;
 * - open loop: tasks arrive at a fixed rate whatever the server does; latency from the scheduled
 *   arrival (no coordinated omission);
 * - flood: the closed loop again while another account floods invalid submits at `--flood-rate`.
 *
 * Each point also prints the server's CPU per task and, on PGlite, its statements and transactions per
 * task; `--cpu-prof DIR` writes the server's CPU profile of each point (bench/support/profile-summary.ts
 * reads them).
 *
 *   npx tsx bench/throughput.ts [--db pglite|postgres] [--providers 8] [--slots 1] [--modes none,redundant,auto]
 *                               [--clients 1,8,32] [--rates 100,200] [--seconds 10] [--flood-rate 500] [--cpu-prof DIR]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { spawnProviderProcess } from "@stun/provider-native";
import { buildMlp } from "@stun/testkit";
import pg from "pg";
import { percentiles } from "./stats";

const { values } = parseArgs({
  options: {
    db: { type: "string", default: "pglite" },
    providers: { type: "string", default: "8" },
    slots: { type: "string", default: "1" },
    modes: { type: "string", default: "none,redundant,auto" },
    clients: { type: "string", default: "1,8,32" },
    rates: { type: "string", default: "" },
    seconds: { type: "string", default: "10" },
    "flood-rate": { type: "string", default: "0" },
    "cpu-prof": { type: "string" },
  },
});
const MODES = values.modes.split(",").filter(Boolean) as Mode[];
const CLIENTS = values.clients.split(",").filter(Boolean).map(Number);
const RATES = values.rates.split(",").filter(Boolean).map(Number);
const SECONDS = Number(values.seconds);
const FLOOD_RATE = Number(values["flood-rate"]);
type Mode = "none" | "redundant" | "auto";

const benchDb = values.db === "postgres" ? await createBenchDatabase(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres") : undefined;
const serverProc = await startBenchServer();
const { url, requesterKey, providerKeys, db } = serverProc.info;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-bench-providers-"));
const providers = await Promise.all(
  providerKeys.map((apiKey, i) =>
    spawnProviderProcess({
      server: url,
      apiKey,
      args: ["--name", `bench-${i}`, "--price", "10", "--slots", values.slots, "--benchmark-ms", "0", "--cache-dir", path.join(dataDir, `cache-${i}`)],
    }),
  ),
);

const auth = { authorization: `Bearer ${requesterKey}` };
const headers = { ...auth, "content-type": "application/json" };
const mlp = buildMlp({ inputSize: 64, hidden: [128], outputSize: 10, batch: 1 });
const upload = await fetch(`${url}/api/v1/models?name=bench-mlp`, { method: "POST", headers: { ...auth, "content-type": "application/octet-stream" }, body: mlp.bytes });
if (!upload.ok) throw new Error(`model upload: HTTP ${upload.status} ${await upload.text()}`);
const modelId = ((await upload.json()) as { id: string }).id;
const x = Buffer.from(new Float32Array(64).map((_, i) => Math.sin(i)).buffer).toString("base64");
const bodyOf = (mode: Mode) => JSON.stringify({ modelId, inputs: { x: { dtype: "float32", dims: [1, 64], data: x } }, verification: { mode } });

/** One task, submit → completed result; its latency in ms from `t0`. */
async function oneTask(mode: Mode, t0 = performance.now()): Promise<number> {
  const sub = await fetch(`${url}/api/v1/tasks`, { method: "POST", headers, body: bodyOf(mode) });
  if (!sub.ok) throw new Error(`submit: HTTP ${sub.status} ${await sub.text()}`);
  const { id } = (await sub.json()) as { id: string };
  const res = await fetch(`${url}/api/v1/tasks/${id}?wait=30`, { headers: auth });
  const body = (await res.json()) as { status: string };
  if (body.status !== "completed") throw new Error(`task ${id} ended ${body.status}`);
  return performance.now() - t0;
}

interface Point {
  label: string;
  n: number;
  perSecond: number;
  p50: number;
  p99: number;
}
const points: Point[] = [];
interface ServerWindow {
  cpuMs: number;
  statements?: number;
  transactions?: number;
}

/** Runs one measured point: the server's CPU (and on PGlite its statements) counted over it, profiled with --cpu-prof. */
async function measure(label: string, run: () => Promise<{ ms: number[]; secs: number }>): Promise<Point> {
  const file = values["cpu-prof"] ? path.resolve(values["cpu-prof"], `${label.replace(/[^a-z0-9]+/gi, "-")}.cpuprofile`) : undefined;
  await serverProc.command(file ? "start profile" : "start");
  const { ms, secs } = await run();
  const server = (await serverProc.command(`stop${file ? ` ${file}` : ""}`)) as ServerWindow;
  const p = percentiles(ms);
  const point = { label, n: ms.length, perSecond: ms.length / secs, p50: p.p50, p99: p.p99 };
  points.push(point);
  const per = (x: number | undefined, digits: number) => (x === undefined ? "" : (x / ms.length).toFixed(digits));
  console.log(
    `${label.padEnd(36)} n=${String(ms.length).padStart(5)}  ${point.perSecond.toFixed(1).padStart(7)} tasks/s  p50 ${p.p50.toFixed(1).padStart(6)} ms  p99 ${p.p99.toFixed(1).padStart(6)} ms` +
      `  server CPU ${per(server.cpuMs, 2)} ms/task${server.statements !== undefined ? `, ${per(server.statements, 1)} statements, ${per(server.transactions, 2)} transactions/task` : ""}`,
  );
  return point;
}

/** C clients, each submitting its next task when the last one finished, for SECONDS. */
async function closedLoop(mode: Mode, clients: number): Promise<{ ms: number[]; secs: number }> {
  const ms: number[] = [];
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) ms.push(await oneTask(mode));
    }),
  );
  return { ms, secs: (performance.now() - t0) / 1000 };
}

/** Tasks arriving at `rate` per second for SECONDS; each one's latency from its scheduled arrival. */
async function openLoop(mode: Mode, rate: number): Promise<{ ms: number[]; secs: number }> {
  const ms: number[] = [];
  const t0 = performance.now();
  const total = Math.round(rate * SECONDS);
  const running: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    running.push(oneTask(mode, due).then((t) => void ms.push(t)));
  }
  await Promise.all(running);
  return { ms, secs: (performance.now() - t0) / 1000 };
}

/** Invalid submits at `rate` per second from another account until `stop` resolves: wrong dtype, unknown model, bad JSON. */
async function flood(rate: number, stop: Promise<void>): Promise<{ sent: number; statuses: Map<number, number> }> {
  const account = await fetch(`${url}/api/v1/accounts`, { method: "POST" }).then((r) => r.json() as Promise<{ apiKey: string }>);
  const h = { authorization: `Bearer ${account.apiKey}`, "content-type": "application/json" };
  const bad = [
    JSON.stringify({ modelId, inputs: { x: { dtype: "int64", dims: [1, 64], data: x } } }),
    JSON.stringify({ modelId: "mdl_nope", inputs: {} }),
    '{"modelId": ',
    JSON.stringify({ modelId, inputs: { x: { dtype: "float32", dims: [1, 65], data: x } } }),
  ];
  let stopped = false;
  void stop.then(() => (stopped = true));
  const statuses = new Map<number, number>();
  let sent = 0;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  while (!stopped) {
    const due = t0 + (sent * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const body = bad[sent++ % bad.length]!;
    inflight.push(
      fetch(`${url}/api/v1/tasks`, { method: "POST", headers: h, body }).then(
        async (r) => {
          await r.arrayBuffer();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        },
        () => void statuses.set(0, (statuses.get(0) ?? 0) + 1),
      ),
    );
  }
  await Promise.all(inflight);
  return { sent, statuses };
}

const slots = Number(values.slots);
console.log(`# throughput: ${os.cpus().length} cores, ${db}, ${providers.length} native providers × ${slots} slot(s), MLP 64-128-10, ${SECONDS} s per point`);
for (let i = 0; i < 50; i++) await oneTask("none");
console.log("warm-up done");
for (const mode of MODES) {
  for (const c of CLIENTS) {
    await measure(`closed, ${mode}, ${c} client${c === 1 ? "" : "s"}`, () => closedLoop(mode, c));
  }
  for (const rate of RATES) {
    await measure(`open, ${mode}, ${rate}/s offered`, () => openLoop(mode, rate));
  }
}
if (FLOOD_RATE > 0) {
  const c = Math.max(...CLIENTS);
  const base = points.find((p) => p.label === `closed, none, ${c} clients`) ?? (await measure(`closed, none, ${c} clients`, () => closedLoop("none", c)));
  let stop!: () => void;
  const flooding = flood(FLOOD_RATE, new Promise<void>((r) => (stop = r)));
  const under = await measure(`closed, none, ${c} clients + flood`, async () => {
    const r = await closedLoop("none", c);
    stop();
    return r;
  });
  const f = await flooding;
  console.log(`flood: ${f.sent} invalid submits (${(f.sent / SECONDS).toFixed(0)}/s offered), answers ${JSON.stringify(Object.fromEntries(f.statuses))}`);
  console.log(`valid throughput under flood: ${((100 * under.perSecond) / base.perSecond).toFixed(1)}% of without (goal ≥ 90%)`);
}

await Promise.all(providers.map((p) => p.stop(5000)));
await serverProc.stop();
await benchDb?.drop();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);

async function startBenchServer(): Promise<{ info: { url: string; requesterKey: string; providerKeys: string[]; db: string }; command(line: string): Promise<unknown>; stop(): Promise<void> }> {
  if (values["cpu-prof"]) mkdirSync(values["cpu-prof"], { recursive: true });
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", path.join(import.meta.dirname, "support/bench-server.ts"), "--providers", values.providers, ...(benchDb ? ["--database-url", benchDb.url] : [])],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error("the bench server exited");
    return JSON.parse(r.value) as unknown;
  };
  const info = (await next()) as { url: string; requesterKey: string; providerKeys: string[]; db: string };
  return {
    info,
    async command(line: string) {
      child.stdin!.write(`${line}\n`);
      return line.startsWith("stop") ? next() : undefined;
    },
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

async function createBenchDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `stun_bench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
