/**
 * What one statement inside a transaction costs the server, and whether issuing a transaction's
 * statements at once (without awaiting each) saves anything — through Prisma (the server's path:
 * `$transaction` on @prisma/adapter-pg) and through node-pg directly, each with the event loop idle
 * and with it busy. "Busy" is `--spinners` callbacks that each take 0.3 ms of CPU and queue
 * themselves again with setImmediate: the server under load, where HTTP requests, provider
 * messages and long-polls wait in the event loop's queue between a statement's reply and the code
 * that awaits it.
 *
 * This is why the group commit (apps/server/src/db/group-commit.ts) counts statements per batch and
 * not per unit: under load, each round trip waits its turn behind the queue (~3 ms here), and
 * neither Prisma nor node-pg pipelines a transaction's statements — both send the next only after
 * the previous one's reply was read, in a later turn of the event loop. Issued at once, they cost
 * the same as awaited one by one. Fewer statements is the lever; see docs/BENCHMARKS.md.
 *
 *   npx tsx bench/statement-latency.ts [--statements 30] [--rounds 5] [--spinners 10]
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { createDatabase } from "../apps/server/src/db/database";
import { createBenchDatabase } from "./support/load";

const { values } = parseArgs({
  options: {
    statements: { type: "string", default: "30" },
    rounds: { type: "string", default: "5" },
    spinners: { type: "string", default: "10" },
  },
});
const N = Number(values.statements);
const ROUNDS = Number(values.rounds);
const SPINNERS = Number(values.spinners);

/** Keeps the event loop busy: `n` callbacks of 0.3 ms each, requeued until stopped. */
function busyLoop(n: number): () => void {
  let stopped = false;
  const spin = () => {
    if (stopped) return;
    const t = performance.now();
    while (performance.now() - t < 0.3);
    setImmediate(spin);
  };
  for (let i = 0; i < n; i++) setImmediate(spin);
  return () => {
    stopped = true;
  };
}

/** Milliseconds per statement: the median over the rounds of `run`'s time for N statements. */
async function perStatement(run: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    await run();
    times.push((performance.now() - t) / N);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const bench = await createBenchDatabase();
const db = await createDatabase({ url: bench.url });
const raw = new pg.Client({ connectionString: bench.url });
await raw.connect();

type Way = { name: string; awaited: () => Promise<void>; atOnce: () => Promise<void> };
const ways: Way[] = [];
let tx: Parameters<Parameters<typeof db.prisma.$transaction>[0]>[0] | undefined;
ways.push({
  name: "Prisma $transaction",
  awaited: async () => {
    for (let i = 0; i < N; i++) await tx!.$queryRaw`SELECT ${i}::int AS x`;
  },
  atOnce: async () => {
    await Promise.all(Array.from({ length: N }, (_, i) => tx!.$queryRaw`SELECT ${i}::int AS x`));
  },
});
ways.push({
  name: "node-pg client",
  awaited: async () => {
    for (let i = 0; i < N; i++) await raw.query("SELECT $1::int AS x", [i]);
  },
  // node-pg queues queries issued while one runs (and warns that this is deprecated): it still sends each after the last reply.
  atOnce: async () => {
    await Promise.all(Array.from({ length: N }, (_, i) => raw.query("SELECT $1::int AS x", [i])));
  },
});

process.removeAllListeners("warning");
console.log(`# statement latency inside a transaction: ${N} statements × ${ROUNDS} rounds (median), PostgreSQL; busy = ${SPINNERS} × 0.3 ms callbacks queued`);
for (const loop of ["idle", "busy"] as const) {
  for (const way of ways) {
    const stop = loop === "busy" ? busyLoop(SPINNERS) : () => undefined;
    let awaited = 0;
    let atOnce = 0;
    const measure = async () => {
      awaited = await perStatement(way.awaited);
      atOnce = await perStatement(way.atOnce);
    };
    if (way.name.startsWith("Prisma")) {
      await db.prisma.$transaction(
        async (t) => {
          tx = t;
          await measure();
        },
        { timeout: 120_000 },
      );
    } else {
      await raw.query("BEGIN");
      await measure();
      await raw.query("COMMIT");
    }
    stop();
    console.log(`${loop.padEnd(5)} ${way.name.padEnd(22)} awaited one by one ${awaited.toFixed(3).padStart(7)} ms/statement   issued at once ${atOnce.toFixed(3).padStart(7)} ms/statement`);
  }
}
await raw.end();
await db.close();
await bench.drop();
