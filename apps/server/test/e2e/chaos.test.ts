import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { buildSlowModel } from "@stun/testkit";
import { spawnProviderProcess, type ProviderProcess } from "@stun/provider-native";
import { checkLedgerInvariants } from "../../src/ledger";
import { describeDb, openTestDatabase, testDbKind, type TestDatabase } from "../support/database";
import { eventually, freePort } from "../support/network";
import { api, toJsonTensor, uploadModel } from "../support/api";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
const REDIS_URL = "redis://127.0.0.1:6379";
const INSTANCES = 3;
const PROVIDERS = 4;
/** Requester accounts, each a client of one instance (client c of instance c % 3). */
const CLIENTS = 6;
/** Tasks submitted before the kill (to all three instances) and after it (to the two left). */
const BEFORE_KILL = 48;
const AFTER_KILL = 24;
const TERMINAL = ["completed", "failed", "expired"];

interface Instance {
  id: string;
  url: string;
  child: ChildProcess;
  out: string;
  exited: Promise<unknown>;
}

/** A real `stun-server` process (so SIGKILL is real), on the shared database, Redis and blob table. */
async function startInstance(i: number, dbUrl: string, prefix: string, dataDir: string): Promise<Instance> {
  const port = await freePort();
  const id = `chaos-${i}`;
  const child = spawn(process.execPath, ["--import", "tsx", "apps/server/src/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: dbUrl,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      RATE_LIMIT_REDIS_PREFIX: `${prefix}:ratelimit:`,
      BLOB_STORE: "postgres",
      DATA_DIR: path.join(dataDir, id), // no directory is shared
      INSTANCE_ID: id,
      LOG_LEVEL: "warn",
      STUN_FSYNC: "false",
      WEB_DIR: "off",
      ONNX_WORKERS: "1",
      CANARY_RATE: "0",
      REFEREE_AUDIT_RATE: "0",
      REFEREE_AUDIT_UNTRUSTED: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const inst: Instance = { id, url: `http://127.0.0.1:${port}`, child, out: "", exited: new Promise((r) => child.once("exit", r)) };
  child.stdout!.on("data", (c: Buffer) => (inst.out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (inst.out += c.toString()));
  return inst;
}

async function healthy(inst: Instance): Promise<void> {
  await eventually(
    async () => {
      if (inst.child.exitCode !== null) throw new Error(`${inst.id} exited: ${inst.out}`);
      return fetch(`${inst.url}/api/v1/health`).then(
        (r) => r.ok,
        () => false,
      );
    },
    60_000,
    `${inst.id} to answer /health`,
  );
}

/** A call that moves on to the next instance when one cannot be reached (what a client of several does). */
async function onAny(urls: string[], first: number, call: (url: string) => Promise<{ status: number; body: any }>): Promise<{ status: number; body: any }> {
  let last: unknown;
  for (let k = 0; k < urls.length; k++) {
    try {
      return await call(urls[(first + k) % urls.length]!);
    } catch (e) {
      last = e; // connection refused or reset: the instance is gone
    }
  }
  throw last;
}

/**
 * Three stateless instances (separate processes and DATA_DIRs; PostgreSQL, Redis and the Blob table
 * shared), four native providers that know every instance, clients spread over the instances; one
 * instance is killed with SIGKILL while its providers are running tasks. Every task must still
 * complete exactly once, and the ledger must balance.
 */
describeDb("chaos: three instances, one killed mid-load", () => {
  it.runIf(testDbKind === "postgres")(
    "completes every task exactly once (none lost, none paid twice, the ledger conserved) when an instance is SIGKILLed while its providers run tasks",
    async () => {
      const db: TestDatabase = await openTestDatabase();
      const prefix = `stun-chaos-${process.pid}-${Date.now().toString(36)}`;
      const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-chaos-"));
      const instances: Instance[] = [];
      const providers: ProviderProcess[] = [];
      const started = Date.now();
      try {
        for (let i = 0; i < INSTANCES; i++) instances.push(await startInstance(i, db.url!, prefix, dataDir));
        await Promise.all(instances.map(healthy));
        const urls = instances.map((s) => s.url);

        // Accounts over REST, each on another instance.
        const account = async (i: number, funds: bigint, stake: bigint) => {
          const url = urls[i % INSTANCES]!;
          const created = await api(url, "POST", "/accounts");
          expect(created.status).toBe(201);
          const key = created.body.apiKey as string;
          expect((await api(url, "POST", "/faucet", { key, json: { amount: String(funds) } })).status).toBe(200);
          if (stake > 0n) expect((await api(url, "POST", "/accounts/me/stake", { key, json: { amount: String(stake) } })).status).toBe(200);
          return { key, accountId: created.body.accountId as string };
        };
        const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, c) => account(c, 10_000_000_000n, 0n)));
        const requesterIds = clients.map((c) => c.accountId);
        const operators = await Promise.all(Array.from({ length: PROVIDERS }, (_, i) => account(i + 1, 1_000_000n, 1_000_000n)));

        // ~100 ms a run: long enough that the kill finds work in flight.
        const slow = buildSlowModel({ ms: 100, size: 256 });
        const modelId = await uploadModel(urls[1]!, clients[0]!.key, slow.bytes);

        // Provider i knows every instance, listing instance i % 3 first: 0 and 3 start on instance 0.
        const cacheDir = (i: number) => mkdtempSync(path.join(dataDir, `cache-${i}-`));
        providers.push(
          ...(await Promise.all(
            operators.map((op, i) =>
              spawnProviderProcess({
                server: Array.from({ length: INSTANCES }, (_, k) => urls[(i + k) % INSTANCES]).join(","),
                apiKey: op.key,
                args: ["--name", `chaos-p${i}`, "--cache-dir", cacheDir(i), "--price", "10"],
              }),
            ),
          )),
        );
        await eventually(async () => (await db.prisma.provider.count({ where: { online: true } })) === PROVIDERS, 30_000, "every provider online");
        const victim = instances[0]!;
        expect(await db.prisma.provider.count({ where: { online: true, instanceId: victim.id } })).toBe(2);

        const input = (n: number) => {
          const x = new Float32Array(slow.size).map((_, k) => Math.sin(n * 31 + k));
          return { x: toJsonTensor({ dtype: "float32", dims: [1, slow.size], data: new Uint8Array(x.buffer) }) };
        };
        // Task n belongs to client n % CLIENTS, sent to that client's instance (or, once it is
        // gone, to a surviving one). 503 UNAVAILABLE (no database connection free in time) says
        // nothing was done: the client tries again, as the SDK's callers are told to.
        const clientOf = (n: number) => clients[n % CLIENTS]!;
        let busy = 0;
        const submit = async (n: number, live: string[]): Promise<string> => {
          const json = { modelId, inputs: input(n), verification: n % 2 ? { mode: "redundant", replicas: 2 } : { mode: "none" }, deadlineSeconds: 600 };
          for (let attempt = 1; ; attempt++) {
            const res = await api(live[(n % CLIENTS) % live.length]!, "POST", "/tasks", { key: clientOf(n).key, json });
            if (res.status === 202) return res.body.id as string;
            if (res.status !== 503 || attempt >= 20) throw new Error(`submit ${n}: ${res.status} ${JSON.stringify(res.body)}`);
            busy++;
            await new Promise((r) => setTimeout(r, 100 * attempt));
          }
        };
        const ids = await Promise.all(Array.from({ length: BEFORE_KILL }, (_, n) => submit(n, urls)));

        // Kill instance 0 once a sixth of the tasks are done, at a moment one of its providers is
        // running a task it handed out (most of the queue is still waiting: they keep busy).
        await eventually(
          async () =>
            (await db.prisma.task.count({ where: { requesterId: { in: requesterIds }, status: "completed" } })) >= BEFORE_KILL / 6 &&
            (await db.prisma.assignment.count({ where: { status: "running", provider: { instanceId: victim.id } } })) > 0,
          60_000,
          "a task running on a provider of instance 0, mid-load",
        );
        const atKill = {
          completed: await db.prisma.task.count({ where: { requesterId: { in: requesterIds }, status: "completed" } }),
          liveOnVictim: await db.prisma.assignment.count({ where: { status: { in: ["assigned", "running"] }, provider: { instanceId: victim.id } } }),
        };
        victim.child.kill("SIGKILL");
        await victim.exited;
        const killedAt = Date.now();

        const survivors = urls.slice(1);
        ids.push(...(await Promise.all(Array.from({ length: AFTER_KILL }, (_, n) => submit(BEFORE_KILL + n, survivors)))));

        // Clients long-poll their tasks on the instance they used, moving on when it is gone.
        const finals = await Promise.all(
          ids.map(async (id, n) => {
            for (;;) {
              const res = await onAny(urls, (n % CLIENTS) % INSTANCES, (url) => api(url, "GET", `/tasks/${id}?wait=20`, { key: clientOf(n).key }));
              expect(res.status).toBe(200);
              if (TERMINAL.includes(res.body.status)) return res.body;
            }
          }),
        );
        const allDoneMs = Date.now() - killedAt;

        // Every task completed, with its receipt; none lost, none duplicated.
        expect(finals.filter((t) => t.status !== "completed").map((t) => `${t.id}: ${t.status} ${t.error?.code ?? ""}`)).toEqual([]);
        const rows = await db.prisma.task.findMany({ where: { requesterId: { in: requesterIds } }, select: { id: true, receipt: true, status: true, verification: true, wanted: true } });
        expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
        expect(rows.filter((r) => r.receipt === null)).toEqual([]);

        // Paid once: one settle transaction per task; executions paid = accepted ones only.
        const settleTxs = await db.prisma.$queryRaw<Array<{ taskId: string; txs: bigint }>>`
          SELECT "taskId", COUNT(DISTINCT "txId") AS txs FROM "LedgerEntry" WHERE kind = 'settle' AND "taskId" = ANY(${ids}::text[]) GROUP BY "taskId"`;
        expect(settleTxs.length).toBe(ids.length);
        expect(settleTxs.filter((s) => s.txs !== 1n)).toEqual([]);
        expect(await checkLedgerInvariants(db.prisma)).toEqual([]);

        // The providers of the killed instance are back on the others; none is left online there.
        await eventually(
          async () => (await db.prisma.provider.count({ where: { online: true, instanceId: { in: survivors.map((_, k) => instances[k + 1]!.id) } } })) === PROVIDERS,
          30_000,
          "the providers on the surviving instances",
        );
        expect(await db.prisma.provider.count({ where: { instanceId: victim.id } })).toBe(0);

        const lost = await db.prisma.assignment.count({ where: { status: "lost", task: { requesterId: { in: requesterIds } } } });
        const attempts = await db.prisma.task.aggregate({ where: { requesterId: { in: requesterIds } }, _max: { attempts: true } });
        console.info(
          `chaos: ${ids.length} tasks (${ids.filter((_, n) => n % 2).length} redundant); at the kill ${atKill.completed} completed, ${atKill.liveOnVictim} executions live on the killed instance's providers; ` +
            `${lost} executions lost and re-run (most attempts on one task: ${attempts._max.attempts}); ${busy} submits answered 503 and retried; all done ${allDoneMs} ms after the kill; ${Date.now() - started} ms in all`,
        );
      } catch (e) {
        for (const s of instances) console.error(`--- ${s.id} output:\n${s.out.slice(-4000)}`);
        throw e;
      } finally {
        await Promise.all(providers.map((p) => p.kill().catch(() => undefined)));
        for (const s of instances) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGTERM");
        await Promise.all(instances.map((s) => s.exited));
        await db.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    180_000,
  );
});
