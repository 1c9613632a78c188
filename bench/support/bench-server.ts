/**
 * One Stun server for the load benches, in a process of its own (so the load generator's CPU is
 * not the server's, and `--cpu-prof` profiles only the server): the real server (PGlite in a temp
 * directory, or the PostgreSQL database at DATABASE_URL), a requester and `--providers` provider
 * accounts, funded and staked. Prints `BENCH {url, requesterKey, providerKeys}` on stdout
 * when ready. Then it takes commands on stdin, one per line, and answers with a `BENCH {…}` line:
 *   `start [profile]` — begin a measured window: counters reset (and the CPU profiler on, node:inspector);
 *   `history N [unanalyzed]` — seed N finished tasks, each with one completed, accepted execution on
 *                 one of the connected providers (then ANALYZE, unless `unanalyzed`): a marketplace that
 *                 has run a while. `{ seconds }`.
 *   `stop [FILE]` — end it: `{ cpuMs, groupCommit, claims, statements, transactions }` (this process's
 *                   user+system CPU, the group commit's batches, the dispatcher's claim transactions by
 *                   outcome; on PGlite every statement and transaction the server ran), the profile
 *                   written to FILE.
 * SIGTERM closes it. With BENCH_STALLS=1 it prints each event-loop stall over 60 ms to stderr
 * (`STALL <ms> ending <time>`): whether a latency tail is the server's own loop.
 *
 *   node --import tsx bench/support/bench-server.ts --providers 8
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { createInterface } from "node:readline";
import { PGlite } from "@electric-sql/pglite";
import { createDatabase } from "../../apps/server/src/db/database";
import { parseConfig } from "../../apps/server/src/env";
import { startServer } from "../../apps/server/src/server";
import { createAccount, faucet } from "../../apps/server/src/services/accounts";
import { stakeFunds } from "../../apps/server/src/services/stake";

const { values } = parseArgs({
  options: {
    providers: { type: "string", default: "2" },
    // Several instances (bench/scale-out.ts): one database and Redis; only the first makes accounts.
    "database-url": { type: "string" },
    "redis-url": { type: "string" },
    "redis-prefix": { type: "string" },
    "no-accounts": { type: "boolean", default: false },
    // Instances on one filesystem may share the data directory (its blobs) instead of BLOB_STORE=postgres.
    "data-dir": { type: "string" },
  },
});
const ownDir = values["data-dir"] === undefined;
const dataDir = values["data-dir"] ?? mkdtempSync(path.join(os.tmpdir(), "stun-bench-"));
const databaseUrl = values["database-url"];
// On PGlite the bench counts what the server asks of the database: every statement (inside
// transactions too, each a Bind message whether PGlite's `query` sent it or a prepared statement's
// run, db/pglite-prepared.ts) and every transaction.
const counts = { statements: 0, transactions: 0 };
/** `start sql`: every statement is also printed to stderr (to see what one task costs): its text, or a prepared statement's name. */
let printSql = false;
const print = (sql: unknown) => {
  if (printSql) process.stderr.write(`SQL ${String(sql).replace(/\s+/g, " ").slice(0, 160)}\n`);
};
const BIND = 0x42;
/** A Bind message's statement name (after its portal name; both NUL-terminated, from byte 5). */
const boundName = (message: Uint8Array): string => {
  const portalEnd = message.indexOf(0, 5);
  return new TextDecoder().decode(message.subarray(portalEnd + 1, message.indexOf(0, portalEnd + 1)));
};
function counted(pglite: PGlite): PGlite {
  const query = pglite.query.bind(pglite);
  const transaction = pglite.transaction.bind(pglite);
  const execProtocolStream = pglite.execProtocolStream.bind(pglite);
  pglite.execProtocolStream = ((message: Uint8Array, ...rest: unknown[]) => {
    if (message[0] === BIND) {
      counts.statements++;
      const name = boundName(message);
      if (name) print(`(prepared ${name})`);
    }
    return execProtocolStream(message, ...(rest as []));
  }) as PGlite["execProtocolStream"];
  pglite.query = ((...args: Parameters<PGlite["query"]>) => {
    print(args[0]);
    return query(...args);
  }) as PGlite["query"];
  pglite.transaction = ((fn: Parameters<PGlite["transaction"]>[0]) => {
    counts.transactions++;
    return transaction((tx) => {
      const q = tx.query.bind(tx);
      tx.query = ((...args: Parameters<typeof q>) => {
        print(args[0]);
        return q(...args);
      }) as typeof tx.query;
      return fn(tx);
    });
  }) as PGlite["transaction"];
  return pglite;
}
// The bench sends every task under one requester key: the per-key and per-IP rate limits are lifted.
// Other settings (BLOB_STORE, GROUP_COMMIT_MAX, PG_DIRECT_SQL …) come from the environment.
const config = parseConfig({
  ...process.env,
  PORT: "0",
  DATA_DIR: dataDir,
  LOG_LEVEL: "warn",
  RATE_LIMIT_PER_KEY: "0",
  RATE_LIMIT_PER_IP: "0",
  STUN_FSYNC: process.env.STUN_FSYNC ?? "true",
  DATABASE_URL: databaseUrl,
  ...(values["redis-url"] ? { REDIS_URL: values["redis-url"], REDIS_PREFIX: values["redis-prefix"] ?? "stun-bench" } : {}),
});
const db = databaseUrl
  ? undefined
  : await createDatabase({
      dataDir: path.join(dataDir, "db"),
      pglite: counted(new PGlite(path.join(dataDir, "db"))),
      directSql: config.PG_DIRECT_SQL,
      preparedStatements: config.PG_PREPARED_STATEMENTS,
    });
const server = await startServer(config, db ? { db } : {});
const requester = values["no-accounts"] ? undefined : await createAccount(server.app);
if (requester) await faucet(server.app, requester.accountId, 10n ** 15n);
// Each provider under an account of its own (QA never lets one operator check itself); paid work
// needs stake (slashMultiple × the price of each live execution).
const providerKeys: string[] = [];
for (let i = 0; requester && i < Number(values.providers); i++) {
  const account = await createAccount(server.app);
  await faucet(server.app, account.accountId, 10n ** 9n);
  await stakeFunds(server.app, account.accountId, 10n ** 9n);
  providerKeys.push(account.apiKey);
}
process.stdout.write(`BENCH ${JSON.stringify({ url: server.url, requesterKey: requester?.apiKey, providerKeys, db: server.app.db.kind })}\n`);

/**
 * `n` finished tasks copied from the requester's latest one, each with one execution completed and
 * accepted on one of the connected providers, in turn: the history a claim, a settlement or a sweep
 * must not read through. Then ANALYZE, as autovacuum would have by then on PostgreSQL (and the
 * server's own maintenance on PGlite, db/table-maintenance.ts, at its next check).
 */
async function seedHistory(n: number, analyze: boolean): Promise<void> {
  const sql = server.app.db.prisma;
  await sql.$executeRaw`
    INSERT INTO "Task" (id, "requesterId", kind, "modelId", status, "inputSha256", "inputMeta", verification, requirements,
                        "maxPrice", "escrowHeld", cost, deadline, "completedAt", "updatedAt")
    SELECT 'tsk_history_' || g, t."requesterId", 'user', t."modelId", 'completed', t."inputSha256", t."inputMeta", t.verification,
           t.requirements, t."maxPrice", 0, t."maxPrice", now(), now(), now()
    FROM generate_series(1, ${n}::int) g, (SELECT * FROM "Task" WHERE kind = 'user' ORDER BY "createdAt" DESC LIMIT 1) t`;
  await sql.$executeRaw`
    INSERT INTO "Assignment" (id, "taskId", "providerId", status, backend, price, "leaseUntil", "completedAt", verdict)
    SELECT 'asg_history_' || g, 'tsk_history_' || g, p.ids[1 + g % array_length(p.ids, 1)], 'completed', a.backend, a.price, now(), now(), 'accepted'
    FROM generate_series(1, ${n}::int) g, (SELECT array_agg(id ORDER BY id) AS ids FROM "Provider" WHERE online) p,
         -- The market's going price (services/quote.ts reads it from accepted executions): unchanged.
         (SELECT backend, price FROM "Assignment" WHERE verdict = 'accepted' ORDER BY "completedAt" DESC LIMIT 1) a`;
  if (analyze) await sql.$executeRawUnsafe(`ANALYZE "Task", "Assignment"`);
}

let closing = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (closing) return;
    closing = true;
    await server.close();
    await db?.close();
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

if (process.env.BENCH_STALLS) {
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 60) process.stderr.write(`STALL ${(now - last).toFixed(0)} ms ending ${new Date().toISOString()} heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB\n`);
    last = now;
  }, 10).unref();
}
const session = new Session();
session.connect();
/** The dispatcher's claims and probes so far, by outcome (stun_dispatch_claims_total). */
const claimsByOutcome = async (): Promise<Record<string, number>> => Object.fromEntries((await server.app.metrics.dispatchClaims.get()).values.map((v) => [String(v.labels.outcome), v.value]));
let window = { cpu: process.cpuUsage(), commits: { ...server.app.commits.stats, failed: { ...server.app.commits.stats.failed } }, claims: await claimsByOutcome() };
let profiling = false;
for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.trim().split(/\s+/);
  if (command === "start") {
    profiling = arg === "profile";
    printSql = arg === "sql";
    if (profiling) {
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    }
    counts.statements = 0;
    counts.transactions = 0;
    window = { cpu: process.cpuUsage(), commits: { ...server.app.commits.stats, failed: { ...server.app.commits.stats.failed } }, claims: await claimsByOutcome() };
  } else if (command === "history") {
    const t0 = performance.now();
    await seedHistory(Number(arg), !line.includes("unanalyzed"));
    process.stdout.write(`BENCH ${JSON.stringify({ seconds: (performance.now() - t0) / 1000 })}\n`);
  } else if (command === "stop") {
    const cpu = process.cpuUsage(window.cpu);
    if (profiling && arg) writeFileSync(arg, JSON.stringify((await session.post("Profiler.stop")).profile));
    const c = server.app.commits.stats;
    const groupCommit = {
      batches: c.batches - window.commits.batches,
      units: c.units - window.commits.units,
      busyMs: c.busyMs - window.commits.busyMs,
      unitMs: c.unitMs - window.commits.unitMs,
      sharedLeads: c.sharedLeads - window.commits.sharedLeads,
      autocommits: c.autocommits - window.commits.autocommits,
      statements: c.statements - window.commits.statements,
      statementMs: c.statementMs - window.commits.statementMs,
      roundTrips: c.roundTrips - window.commits.roundTrips,
      failed: Object.fromEntries(
        Object.entries(c.failed)
          .map(([k, n]) => [k, n - (window.commits.failed[k] ?? 0)])
          .filter(([, n]) => n !== 0),
      ),
    };
    const now = await claimsByOutcome();
    const claims = Object.fromEntries(Object.entries(now).map(([k, n]) => [k, n - (window.claims[k] ?? 0)]));
    process.stdout.write(`BENCH ${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, groupCommit, claims, ...(db ? counts : {}) })}\n`);
  }
}

process.kill(process.pid, "SIGTERM");
