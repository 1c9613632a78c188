/**
 * Where no autovacuum runs the server runs autovacuum's rule itself (db/table-maintenance.ts).
 * On a real PGlite (server-pglite project; it opens its own): the tables due are analyzed and
 * vacuumed, the others left alone, and the planner then knows the table. On a real PostgreSQL
 * (server-postgres project): the tables autovacuum leaves out, and only those.
 */
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/env";
import { AUTOVACUUM_RULE, maintainPGlite, planMaintenance, scheduleMaintenance } from "../../src/db/table-maintenance";
import { openTestDatabase, testDbKind } from "../support/database";
import { eventually, startTestNetwork } from "../support/network";

describe("planMaintenance: autovacuum's rule", () => {
  const t = (live: number, dead: number, modifiedSinceAnalyze: number) => ({ table: "T", live, dead, modifiedSinceAnalyze });
  it("analyzes past 50 + 10% of the live rows changed, vacuums past 50 + 20% dead", () => {
    expect(AUTOVACUUM_RULE).toEqual({ vacuumThreshold: 50, vacuumScaleFactor: 0.2, analyzeThreshold: 50, analyzeScaleFactor: 0.1 });
    expect(planMaintenance([t(1000, 0, 150)])).toEqual([]);
    expect(planMaintenance([t(1000, 0, 151)])).toEqual([{ table: "T", vacuum: false }]);
    expect(planMaintenance([t(1000, 250, 0)])).toEqual([]);
    expect(planMaintenance([t(1000, 251, 0)])).toEqual([{ table: "T", vacuum: true }]);
    expect(planMaintenance([t(0, 0, 51), { ...t(0, 0, 0), table: "U" }])).toEqual([{ table: "T", vacuum: false }]);
  });
});

describe.skipIf(testDbKind !== "pglite")("maintainPGlite on a real PGlite", () => {
  let pg: PGlite | undefined;
  afterEach(async () => {
    await pg?.close();
  });

  const activity = async (db: PGlite, table: string) =>
    (
      await db.query<{ dead: number; analyzed: boolean; vacuumed: boolean }>(
        `SELECT n_dead_tup::int AS dead, last_analyze IS NOT NULL AS analyzed, last_vacuum IS NOT NULL AS vacuumed FROM pg_stat_user_tables WHERE relname = $1`,
        [table],
      )
    ).rows[0];

  it("analyzes and vacuums the tables due, leaves the rest, and the planner then knows the table", async () => {
    const db = (pg = new PGlite());
    await db.exec(`
      CREATE TABLE "Busy" (id int PRIMARY KEY, status text NOT NULL);
      CREATE INDEX ON "Busy" (status);
      CREATE TABLE "Quiet" (id int PRIMARY KEY);
      INSERT INTO "Busy" SELECT g, 'completed' FROM generate_series(1, 5000) g;
      UPDATE "Busy" SET status = 'queued' WHERE id <= 10;
      UPDATE "Busy" SET status = 'done' WHERE id > 2000;
      INSERT INTO "Quiet" VALUES (1), (2);`);
    const estimate = async () => {
      const { rows } = await db.query<{ "QUERY PLAN": string }>(`EXPLAIN SELECT * FROM "Busy" WHERE status = 'queued'`);
      return Number(/rows=(\d+)/.exec(rows[0]!["QUERY PLAN"])![1]);
    };
    // Never analyzed: the planner guesses the share of 'queued' rows.
    const guessed = await estimate();

    expect(await maintainPGlite(db)).toEqual([{ table: 'public."Busy"', vacuum: true }]);
    expect(await activity(db, "Busy")).toEqual({ dead: 0, analyzed: true, vacuumed: true });
    expect(await activity(db, "Quiet")).toMatchObject({ analyzed: false, vacuumed: false });
    // Analyzed: it knows 10 of 5,000 rows are queued.
    expect(await estimate()).toBe(10);
    expect(guessed).not.toBe(10);
    // Nothing changed since: nothing is due.
    expect(await maintainPGlite(db)).toEqual([]);
  });
});

describe.skipIf(testDbKind !== "postgres")("the PostgreSQL database's maintain() on a real PostgreSQL", () => {
  it("analyzes and vacuums the tables autovacuum leaves out (a table's autovacuum_enabled = false; every table with the server's autovacuum off), and only those", async () => {
    const db = await openTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const [table, options] of [
        ["Left", "WITH (autovacuum_enabled = false)"],
        ["Covered", ""],
      ])
        await client.query(`
          CREATE TABLE "${table}" (id int PRIMARY KEY, status text NOT NULL) ${options};
          INSERT INTO "${table}" SELECT g, 'completed' FROM generate_series(1, 2000) g;
          UPDATE "${table}" SET status = 'done' WHERE id > 1000;`);
      const serverAutovacuum = (await client.query<{ autovacuum: string }>("SHOW autovacuum")).rows[0]!.autovacuum === "on";
      // A backend reports its table counts when idle, at most once a second.
      const counted = async () => (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_user_tables WHERE relname IN ('Left', 'Covered') AND n_dead_tup > 0`)).rows[0]!.n === 2;
      await eventually(counted, 10_000, "the tables' counts reported");

      const steps = await db.maintain!();
      expect(steps).toContainEqual({ table: 'public."Left"', vacuum: true });
      expect(steps.some((s) => s.table === 'public."Covered"')).toBe(!serverAutovacuum);
      const left = (await client.query(`SELECT n_dead_tup::int AS dead, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relname = 'Left'`)).rows[0];
      expect(left).toEqual({ dead: 0, analyzed: true });
      // Analyzed: the planner knows how many rows are done.
      const plan = (await client.query<{ "QUERY PLAN": string }>(`EXPLAIN SELECT * FROM "Left" WHERE status = 'done'`)).rows[0]!["QUERY PLAN"];
      expect(Number(/rows=(\d+)/.exec(plan)![1])).toBe(1000);
    } finally {
      await client.end();
      await db.close();
    }
  });
});

describe("DB_MAINTENANCE_SECONDS", () => {
  it("defaults to 30 s, and reads its earlier name, PGLITE_MAINTENANCE_SECONDS, where it is unset", () => {
    expect(parseConfig({}).DB_MAINTENANCE_SECONDS).toBe(30);
    expect(parseConfig({ PGLITE_MAINTENANCE_SECONDS: "5" }).DB_MAINTENANCE_SECONDS).toBe(5);
    expect(parseConfig({ PGLITE_MAINTENANCE_SECONDS: "5", DB_MAINTENANCE_SECONDS: "0" }).DB_MAINTENANCE_SECONDS).toBe(0);
    expect(() => parseConfig({ DB_MAINTENANCE_SECONDS: "-1" })).toThrow(/DB_MAINTENANCE_SECONDS/);
  });
});

describe("scheduleMaintenance", () => {
  it("runs passes one at a time until stopped, and stop waits for the pass in flight", async () => {
    let running = 0;
    let overlapped = false;
    let passes = 0;
    let release: (() => void) | undefined;
    const errors: unknown[] = [];
    const schedule = scheduleMaintenance(
      async () => {
        running++;
        overlapped ||= running > 1;
        passes++;
        if (passes === 2) throw new Error("pass failed");
        if (passes === 3) await new Promise<void>((r) => (release = r));
        running--;
      },
      5,
      (e) => {
        running--;
        errors.push(e);
      },
    );
    await eventually(async () => release !== undefined, 5_000, "the third pass");
    let stopped = false;
    const stopping = schedule.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(stopped).toBe(false);
    release!();
    await stopping;
    const after = passes;
    await new Promise((r) => setTimeout(r, 30));
    expect({ passes, overlapped, errors: errors.map(String) }).toEqual({ passes: after, overlapped: false, errors: ["Error: pass failed"] });
    expect(after).toBe(3);
  });
});

describe.skipIf(testDbKind !== "pglite")("the server's maintenance on PGlite", () => {
  it("analyzes a table that changed, every DB_MAINTENANCE_SECONDS", async () => {
    const net = await startTestNetwork({ providers: 0, env: { DB_MAINTENANCE_SECONDS: "0.2" } });
    try {
      await net.db.prisma.$executeRawUnsafe(`INSERT INTO "SweepLease" (name, holder, "leaseUntil") SELECT 'maintenance-' || g, 'test', now() FROM generate_series(1, 200) g`);
      await eventually(
        async () =>
          (await net.db.prisma.$queryRawUnsafe<Array<{ analyzed: boolean }>>(`SELECT last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relname = 'SweepLease'`))[0]?.analyzed,
        10_000,
        "SweepLease analyzed",
      );
    } finally {
      await net.close();
    }
  });
});
