/**
 * Autovacuum for PGlite. PGlite runs PostgreSQL in single-user mode: there is no autovacuum
 * launcher, so nothing would ever ANALYZE or VACUUM the embedded database. Without statistics the
 * planner keeps guessing at tables it knows only by their size, and its guesses suit a small table:
 * after 100,000 finished executions the throughput bench ran at 42.8 tasks/s (`none`, 32 clients)
 * against 187 once the tables were analyzed (`bench/throughput.ts --db pglite --history 100000`).
 * Without VACUUM, dead row versions (a task is written four times on its way) are never marked
 * reusable and the files only grow.
 *
 * The rule is autovacuum's, with its defaults: a table is analyzed once the rows changed since its
 * last ANALYZE exceed 50 + 10% of its live rows, and vacuumed (and analyzed) once its dead rows
 * exceed 50 + 20%. `pg_stat_user_tables` keeps the counts in PGlite as in PostgreSQL. The server
 * checks every PGLITE_MAINTENANCE_SECONDS (server.ts); each command holds PGlite, as every query
 * does, for its duration (tens of milliseconds at 100,000 rows).
 */
import type { PGlite } from "@electric-sql/pglite";

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

/** One pass: reads the tables' activity and runs what is due. Returns what it ran. */
export async function maintainPGlite(pg: PGlite): Promise<MaintenanceStep[]> {
  // PGlite's one backend holds its table counts until it flushes them (at most once a second):
  // flushed after this statement, read by the next.
  await pg.query("SELECT pg_stat_force_next_flush()");
  const { rows } = await pg.query<TableActivity>(`
    SELECT format('%I.%I', schemaname, relname) AS "table", n_live_tup::float8 AS live, n_dead_tup::float8 AS dead, n_mod_since_analyze::float8 AS "modifiedSinceAnalyze"
    FROM pg_stat_user_tables`);
  const steps = planMaintenance(rows);
  // exec, not a Prisma or transaction client: VACUUM refuses to run inside a transaction block, and
  // PGlite's exec waits for any transaction in progress to end.
  for (const s of steps) await pg.exec(`${s.vacuum ? "VACUUM (ANALYZE)" : "ANALYZE"} ${s.table}`);
  return steps;
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
