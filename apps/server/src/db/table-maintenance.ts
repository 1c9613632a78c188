/**
 * Autovacuum where there is none: PGlite, and a PostgreSQL whose autovacuum is off (the server's
 * `autovacuum = off`, or a table's `autovacuum_enabled = false`). PGlite runs PostgreSQL in
 * single-user mode: there is no autovacuum launcher, so nothing would ever ANALYZE or VACUUM the
 * embedded database. A PostgreSQL set up with autovacuum off (as this project's CI machines are)
 * is the same for the tables it leaves out: there a sequential PostgreSQL task cost 6.4–7.3 ms of
 * PostgreSQL's CPU against 3.5–4.3 on a cluster with autovacuum on, its statements' plans made
 * while the tables were empty (docs/BENCHMARKS.md, twenty-second round). Without statistics the
 * planner keeps guessing at tables it knows only by their size, and its guesses suit a small table:
 * after 100,000 finished executions the throughput bench ran at 42.8 tasks/s (`none`, 32 clients)
 * against 187 once the tables were analyzed (`bench/throughput.ts --db pglite --history 100000`).
 * Without VACUUM, dead row versions (a task is written four times on its way) are never marked
 * reusable and the files only grow.
 *
 * The rule is autovacuum's, with its defaults: a table is analyzed once the rows changed since its
 * last ANALYZE exceed 50 + 10% of its live rows, and vacuumed (and analyzed) once its dead rows
 * exceed 50 + 20%. `pg_stat_user_tables` keeps the counts in PGlite as in PostgreSQL. The server
 * checks every DB_MAINTENANCE_SECONDS (server.ts); on PGlite each command holds the database, as
 * every query does, for its duration (tens of milliseconds at 100,000 rows). On PostgreSQL a pass
 * with autovacuum on everywhere runs one query and nothing else; several instances may each run a
 * pass (a second VACUUM of a table waits for the first).
 */
import type { PGlite } from "@electric-sql/pglite";
import type { SqlConnection } from "./migrate";

/** A table's activity as `pg_stat_user_tables` counts it. */
export interface TableActivity {
  /** Schema-qualified and quoted where it must be (`format('%I.%I')`): ready for the command. */
  table: string;
  live: number;
  dead: number;
  modifiedSinceAnalyze: number;
}

export interface MaintenanceStep {
  table: string;
  /** VACUUM (ANALYZE) when true, else ANALYZE alone. */
  vacuum: boolean;
}

/** autovacuum_{vacuum,analyze}_{threshold,scale_factor}'s defaults. */
export const AUTOVACUUM_RULE = { vacuumThreshold: 50, vacuumScaleFactor: 0.2, analyzeThreshold: 50, analyzeScaleFactor: 0.1 } as const;

/** The tables due for VACUUM or ANALYZE, by autovacuum's rule. */
export function planMaintenance(tables: TableActivity[], rule = AUTOVACUUM_RULE): MaintenanceStep[] {
  const steps: MaintenanceStep[] = [];
  for (const t of tables) {
    const vacuum = t.dead > rule.vacuumThreshold + rule.vacuumScaleFactor * t.live;
    const analyze = t.modifiedSinceAnalyze > rule.analyzeThreshold + rule.analyzeScaleFactor * t.live;
    if (vacuum || analyze) steps.push({ table: t.table, vacuum });
  }
  return steps;
}

/**
 * One pass over `tables`: all of them (PGlite), or those autovacuum leaves out (PostgreSQL: all
 * with the server's `autovacuum` off, else those with `autovacuum_enabled = false`).
 */
async function maintainTables(db: SqlConnection, tables: "all" | "left-by-autovacuum"): Promise<MaintenanceStep[]> {
  const { rows } = await db.query<TableActivity>(`
    SELECT format('%I.%I', s.schemaname, s.relname) AS "table", s.n_live_tup::float8 AS live, s.n_dead_tup::float8 AS dead,
           s.n_mod_since_analyze::float8 AS "modifiedSinceAnalyze"
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    ${
      tables === "all"
        ? ""
        : `WHERE NOT (current_setting('autovacuum')::bool
             AND coalesce((SELECT o.option_value::bool FROM pg_options_to_table(c.reloptions) o WHERE o.option_name = 'autovacuum_enabled'), true))`
    }`);
  const steps = planMaintenance(rows);
  // A plain connection, not a Prisma or transaction client: VACUUM refuses to run inside a
  // transaction block (exec sends it alone, autocommitted).
  for (const s of steps) await db.exec(`${s.vacuum ? "VACUUM (ANALYZE)" : "ANALYZE"} ${s.table}`);
  return steps;
}

/** One pass on PGlite: reads the tables' activity and runs what is due. Returns what it ran. */
export async function maintainPGlite(db: PGlite): Promise<MaintenanceStep[]> {
  // PGlite's one backend holds its table counts until it flushes them (at most once a second):
  // flushed after this statement, read by the next. PGlite's exec waits for any transaction in
  // progress to end.
  await db.query("SELECT pg_stat_force_next_flush()");
  return maintainTables(db, "all");
}

/** One pass on PostgreSQL, over the tables autovacuum leaves out (`db`: a connection of the pass's own, in no transaction). */
export function maintainPostgres(db: SqlConnection): Promise<MaintenanceStep[]> {
  return maintainTables(db, "left-by-autovacuum");
}

/** Runs `maintain` every `everyMs` (never two passes at once) until `stop`, which waits for a pass in flight. */
export function scheduleMaintenance(maintain: () => Promise<unknown>, everyMs: number, onError: (e: unknown) => void): { stop(): Promise<void> } {
  let inFlight: Promise<void> | undefined;
  const timer = setInterval(() => {
    inFlight ??= maintain()
      .then(() => undefined, onError)
      .finally(() => {
        inFlight = undefined;
      });
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
