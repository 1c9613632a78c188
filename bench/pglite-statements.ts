/**
 * One statement's cost on a disk-backed PGlite, three ways: PGlite's `query` (unnamed: parsed and
 * planned on every run), a named prepared statement through db/pglite-prepared.ts (parsed once, one
 * call into PGlite's backend per run), and three of each inside one transaction. Prints ms per
 * statement and the `fstat` calls each made (planning reads every relation's size; on the node
 * filesystem that is an `lseek` and an `fstat` each).
 *
 *   npx tsx bench/pglite-statements.ts [--runs 2000]
 */
import fs, { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import { textParsers } from "../apps/server/src/db/direct-sql";
import { pglitePrepared } from "../apps/server/src/db/pglite-prepared";

const { values } = parseArgs({ options: { runs: { type: "string", default: "2000" } } });
const RUNS = Number(values.runs);
const dir = mkdtempSync(path.join(os.tmpdir(), "stun-pglite-statements-"));
const db = new PGlite(path.join(dir, "db"));
await db.exec(`
  CREATE TABLE t (id int PRIMARY KEY, a text, b int, c timestamptz DEFAULT now(), d jsonb);
  CREATE INDEX t_a ON t (a); CREATE INDEX t_b ON t (b);
  CREATE TABLE u (id int PRIMARY KEY, tid int REFERENCES t (id), v int); CREATE INDEX u_tid ON u (tid);
  INSERT INTO t SELECT g, 'x' || g, g % 10, now(), '{}' FROM generate_series(1, 1000) g;
  INSERT INTO u SELECT g, g, g FROM generate_series(1, 1000) g;`);

// The shape of the hot path's statements: a row locked, another updated, one answer.
const sql = `WITH x AS (SELECT * FROM t WHERE id = $1 FOR UPDATE), y AS (UPDATE u SET v = v + 1 WHERE tid = $1 RETURNING v) SELECT x.*, (SELECT v FROM y) AS v FROM x`;
const prepared = pglitePrepared(db, textParsers);

let fstats = 0;
const fstatSync = fs.fstatSync;
(fs as { fstatSync: unknown }).fstatSync = (...args: Parameters<typeof fs.fstatSync>) => {
  fstats++;
  return fstatSync(...args);
};

async function measure(label: string, perRun: number, run: (id: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 200; i++) await run((i % 1000) + 1);
  fstats = 0;
  const started = performance.now();
  for (let i = 0; i < RUNS; i++) await run((i % 1000) + 1);
  const ms = performance.now() - started;
  console.log(`${label.padEnd(36)} ${(ms / RUNS / perRun).toFixed(3)} ms/statement  ${(fstats / RUNS / perRun).toFixed(1)} fstat/statement`);
}

console.log(`# pglite-statements: ${os.cpus().length} cores, ${RUNS} runs each`);
await measure("query (unnamed)", 1, (id) => db.query(sql, [id]));
await measure("prepared", 1, (id) => prepared.run("bench_s", sql, [id], false));
await measure("3 in a transaction, query", 3, (id) =>
  db.transaction(async (tx) => {
    for (let i = 0; i < 3; i++) await tx.query(sql, [id]);
  }),
);
await measure("3 in a transaction, prepared", 3, (id) =>
  db.transaction(async () => {
    for (let i = 0; i < 3; i++) await prepared.run("bench_s", sql, [id], true);
  }),
);
await db.close();
rmSync(dir, { recursive: true, force: true });
