/**
 * What a statement and a transaction around it cost the server, through Prisma (the server's
 * path: @prisma/adapter-pg) and through node-pg directly, on an idle event loop: wall and CPU
 * milliseconds per operation, `SELECT 1` on PostgreSQL. Why a lone group-commit unit's lead commits
 * by itself (db/group-commit.ts LeadKind.autocommit), and what running the hot statements on
 * node-pg would save (docs/BENCHMARKS.md, thirteenth round).
 *
 *   npx tsx bench/transaction-cost.ts [--runs 3000] [--rounds 2]
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { createDatabase } from "../apps/server/src/db/database";
import { inOrder } from "../apps/server/src/db/sql-client";
import { createBenchDatabase } from "./support/load";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3000" }, rounds: { type: "string", default: "2" } } });
const N = Number(values.runs);
const bench = await createBenchDatabase();
const db = await createDatabase({ url: bench.url });
const pool = new pg.Pool({ connectionString: bench.url, max: 4 });
const client = await pool.connect();

async function measure(label: string, op: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 200; i++) await op();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await op();
  const cpu = process.cpuUsage(cpu0);
  console.log(`${label.padEnd(38)} ${((performance.now() - t0) / N).toFixed(3)} ms wall, ${((cpu.user + cpu.system) / 1000 / N).toFixed(3)} ms CPU per operation`);
}

console.log(`# transaction cost: SELECT 1 on PostgreSQL, ${N} runs per line, idle event loop`);
for (let round = 0; round < Number(values.rounds); round++) {
  await measure("Prisma $queryRaw", () => db.prisma.$queryRaw`SELECT 1`);
  await measure("Prisma $transaction around it", () => db.prisma.$transaction((tx) => tx.$queryRaw`SELECT 1`));
  await measure("node-pg client.query", () => client.query("SELECT 1"));
  await measure("node-pg BEGIN, the query, COMMIT", async () => {
    await client.query("BEGIN");
    await client.query("SELECT 1");
    await client.query("COMMIT");
  });
  const direct = db.direct!;
  await measure("direct-sql transaction around it", () => direct.transaction((tx) => tx.$queryRaw`SELECT 1`));
  await measure("direct-sql, 2 statements one by one", () =>
    direct.transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1`;
      await tx.$queryRaw`SELECT 2`;
    }),
  );
  await measure("direct-sql, 2 statements inOrder", () => direct.transaction((tx) => inOrder(tx, [() => tx.$queryRaw`SELECT 1`, () => tx.$queryRaw`SELECT 2`])));
}
client.release();
await pool.end();
await db.close();
await bench.drop();
process.exit(0);
