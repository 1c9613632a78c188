/**
 * What the load benches share (bench/throughput.ts, bench/scale-out.ts, bench/latency-stages.ts): a
 * bench server process (bench-server.ts) driven over stdin, a PostgreSQL database of the bench's own,
 * native providers, the tiny MLP every task runs, and closed- and open-loop requesters over REST.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { type ProviderProcess, spawnProviderProcess } from "@stun/provider-native";
import { buildMlp } from "@stun/testkit";
import pg from "pg";
import type { GroupCommitStats } from "../../apps/server/src/db/group-commit";

export type Mode = "none" | "redundant" | "auto";

export interface BenchServerInfo {
  url: string;
  requesterKey: string;
  providerKeys: string[];
  db: string;
}

/** The server's CPU (and on PGlite its statements) over one measured window. */
export interface ServerWindow {
  cpuMs: number;
  /** The group commit's batches, units and milliseconds in flight over the window. */
  groupCommit: GroupCommitStats;
  /** The dispatcher's claims (placed, unplaced, empty) and probes (probed, skipped) by outcome: stun_dispatch_claims_total. */
  claims: Record<string, number>;
  statements?: number;
  transactions?: number;
}

export interface BenchServer {
  info: BenchServerInfo;
  /** Starts a measured window (`profile`: with the CPU profiler). */
  start(profile?: boolean): Promise<void>;
  /** Ends it; the profile is written to `profileFile` when one was started. */
  stop(profileFile?: string): Promise<ServerWindow>;
  /** Seeds `executions` finished tasks, each completed and accepted on one of the providers, as a marketplace that has run a while has. */
  history(executions: number, analyze?: boolean): Promise<{ seconds: number }>;
  close(): Promise<void>;
}

/**
 * A bench script (a file beside this one) in a process of its own, spoken to by lines: `next(prefix)`
 * is the rest of its next stdout line starting with `prefix`; its other lines go to stderr, marked
 * `label`.
 */
export function benchChild(script: string, args: string[], label: string, env: NodeJS.ProcessEnv = {}): { child: ChildProcess; next(prefix: string): Promise<string> } {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, script), ...args], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    async next(prefix) {
      for (;;) {
        const r = await lines.next();
        if (r.done) throw new Error(`${label} exited before its ${prefix.trim()} line`);
        if (r.value.startsWith(prefix)) return r.value.slice(prefix.length);
        process.stderr.write(`${label}: ${r.value}\n`);
      }
    },
  };
}

/** Starts bench/support/bench-server.ts with `args`; resolves once it printed its JSON line. */
export async function startBenchServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<BenchServer> {
  // Its answers are the stdout lines starting "BENCH "; the rest is the server's own log.
  const { child, next: line } = benchChild("bench-server.ts", args, "server", env);
  const next = async (): Promise<unknown> => JSON.parse(await line("BENCH "));
  const info = (await next()) as BenchServerInfo;
  return {
    info,
    async start(profile = false) {
      child.stdin!.write(profile ? "start profile\n" : "start\n");
    },
    async stop(profileFile) {
      child.stdin!.write(`stop${profileFile ? ` ${profileFile}` : ""}\n`);
      return (await next()) as ServerWindow;
    },
    async history(executions, analyze = true) {
      child.stdin!.write(`history ${executions}${analyze ? "" : " unanalyzed"}\n`);
      return (await next()) as { seconds: number };
    },
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** A database of the bench's own on the PostgreSQL server at `adminUrl` (dropped by `drop`). */
export async function createBenchDatabase(adminUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres"): Promise<{ url: string; drop: () => Promise<void> }> {
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

/** One task's wall-clock instants (ms with a fraction, Date.now()'s epoch): submit sent, its 201 in, the completed result in. */
export interface TaskTimes {
  id: string;
  sent: number;
  accepted: number;
  answered: number;
}

export interface BenchRequester {
  modelId: string;
  /** One task, submit → completed result (REST long-poll); its latency in ms from `t0`. */
  oneTask(mode: Mode, t0?: number): Promise<number>;
  /** The same task, with its instants. */
  timedTask(mode: Mode): Promise<TaskTimes>;
}

/** Wall-clock milliseconds with a fraction (Date.now()'s epoch, performance.now()'s resolution): comparable with the database's timestamps. */
const wallClock = () => performance.timeOrigin + performance.now();

/**
 * A requester of one server: uploads the bench MLP (64-128-10), then runs tasks submit → result:
 * a submit and a long-poll, or with `run` one `POST /tasks/run` (then `accepted` is when its
 * answer came, as `answered`).
 */
export async function benchRequester(url: string, key: string, modelId?: string, opts: { run?: boolean } = {}): Promise<BenchRequester> {
  const auth = { authorization: `Bearer ${key}` };
  const headers = { ...auth, "content-type": "application/json" };
  if (!modelId) {
    const mlp = buildMlp({ inputSize: 64, hidden: [128], outputSize: 10, batch: 1 });
    const upload = await fetch(`${url}/api/v1/models?name=bench-mlp`, { method: "POST", headers: { ...auth, "content-type": "application/octet-stream" }, body: new Uint8Array(mlp.bytes) });
    if (!upload.ok) throw new Error(`model upload: HTTP ${upload.status} ${await upload.text()}`);
    modelId = ((await upload.json()) as { id: string }).id;
  }
  const x = Buffer.from(new Float32Array(64).map((_, i) => Math.sin(i)).buffer).toString("base64");
  // A submit's body, or with `wait` a run's, one string per mode.
  const bodies = new Map<string, string>();
  const bodyOf = (mode: Mode, wait?: number) => {
    const key = `${mode}:${wait ?? ""}`;
    return bodies.get(key) ?? bodies.set(key, JSON.stringify({ modelId, inputs: { x: { dtype: "float32", dims: [1, 64], data: x } }, verification: { mode }, wait })).get(key)!;
  };
  const runTask = async (mode: Mode): Promise<TaskTimes> => {
    const sent = wallClock();
    const res = await fetch(`${url}/api/v1/tasks/run`, { method: "POST", headers, body: bodyOf(mode, 30) });
    if (!res.ok) throw new Error(`run: HTTP ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { id: string; status: string };
    if (body.status !== "completed") throw new Error(`task ${body.id} ended ${body.status}`);
    const answered = wallClock();
    return { id: body.id, sent, accepted: answered, answered };
  };
  const submitAndWait = async (mode: Mode): Promise<TaskTimes> => {
    const sent = wallClock();
    const sub = await fetch(`${url}/api/v1/tasks`, { method: "POST", headers, body: bodyOf(mode) });
    if (!sub.ok) throw new Error(`submit: HTTP ${sub.status} ${await sub.text()}`);
    const { id } = (await sub.json()) as { id: string };
    const accepted = wallClock();
    const res = await fetch(`${url}/api/v1/tasks/${id}?wait=30`, { headers: auth });
    const body = (await res.json()) as { status: string };
    if (body.status !== "completed") throw new Error(`task ${id} ended ${body.status}`);
    return { id, sent, accepted, answered: wallClock() };
  };
  const timedTask = opts.run ? runTask : submitAndWait;
  return {
    modelId,
    async oneTask(mode, t0 = performance.now()) {
      await timedTask(mode);
      return performance.now() - t0;
    },
    timedTask,
  };
}

/**
 * `keys.length` native `stun-provider` processes as the load benches run them: price 10, no start-up
 * benchmark, a model cache each under `dataDir`; provider i connects to `serverOf(i)`.
 */
export function spawnBenchProviders(keys: string[], serverOf: (i: number) => string, dataDir: string, args: string[] = []): Promise<ProviderProcess[]> {
  return Promise.all(
    keys.map((apiKey, i) =>
      spawnProviderProcess({
        server: serverOf(i),
        apiKey,
        args: ["--name", `bench-${i}`, "--price", "10", "--benchmark-ms", "0", "--cache-dir", path.join(dataDir, `cache-${i}`), ...args],
      }),
    ),
  );
}

/** A new requester account on the server at `url` (local mode's faucet funds it); its API key. */
export async function fundedRequester(url: string, amount = 10n ** 12n): Promise<string> {
  const { apiKey } = (await (await fetch(`${url}/api/v1/accounts`, { method: "POST" })).json()) as { apiKey: string };
  const funded = await fetch(`${url}/api/v1/faucet`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ amount: amount.toString() }),
  });
  if (!funded.ok) throw new Error(`faucet: HTTP ${funded.status} ${await funded.text()}`);
  return apiKey;
}

/** `clients` requesters, each running its next task when the last one finished, for `seconds`. Client i runs `task(i)`. */
export async function closedLoop(clients: number, seconds: number, task: (client: number) => Promise<number>): Promise<{ ms: number[]; secs: number }> {
  const ms: number[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      while (performance.now() < end) ms.push(await task(i));
    }),
  );
  return { ms, secs: (performance.now() - t0) / 1000 };
}

/** Tasks arriving at `rate` per second for `seconds`, whatever the server does; each one's latency from its scheduled arrival. */
export async function openLoop(rate: number, seconds: number, task: (t0: number) => Promise<number>): Promise<{ ms: number[]; secs: number }> {
  const ms: number[] = [];
  const t0 = performance.now();
  const total = Math.round(rate * seconds);
  const running: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    running.push(task(due).then((t) => void ms.push(t)));
  }
  await Promise.all(running);
  return { ms, secs: (performance.now() - t0) / 1000 };
}
