/**
 * PGlite has no autovacuum; the server runs autovacuum's rule itself (db/pglite-maintenance.ts).
 * On a real PGlite: the tables due are analyzed and vacuumed, the others left alone, and the
 * planner then knows the table. Runs in the server-pglite project only (it opens its own PGlite).
 */
import { PGlite } from "@electric-sql/pglite";
import { afterEach, describe, expect, it } from "vitest";
import { AUTOVACUUM_RULE, maintainPGlite, planMaintenance, scheduleMaintenance } from "../../src/db/pglite-maintenance";
import { testDbKind } from "../support/database";
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
  it("analyzes a table that changed, every PGLITE_MAINTENANCE_SECONDS", async () => {
    const net = await startTestNetwork({ providers: 0, env: { PGLITE_MAINTENANCE_SECONDS: "0.2" } });
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
