/**
 * Runtime migrator: applies prisma/migrations/<name>/migration.sql in name order, each in its own
 * transaction, and records every applied migration (name + sha256 checksum) in `_stun_migrations`.
 *
 * - Idempotent: applied migrations are skipped.
 * - Refuses to start (MigrationError) when an applied migration's file changed (checksum mismatch)
 *   or disappeared from the folder: migrations are append-only; write a new one instead.
 * - Safe under concurrent starts on PostgreSQL: the whole run holds a session-level
 *   `pg_advisory_lock`, so a second server waits, then finds everything applied.
 *
 * It talks to the raw driver (pg.Client / PGlite), not Prisma: migration files hold many statements,
 * which only the simple query protocol runs in one call. Prisma's schema engine is never loaded here
 * (slow, and it leaves timers): migration files are generated at development time by
 * prisma/scripts/new-migration.ts.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's prisma/migrations folder (resolved from this file, not the cwd). */
export const DEFAULT_MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../prisma/migrations");

/** Arbitrary constant key for pg_advisory_lock ("stun" + "migr" as bytes). */
const LOCK_KEY = "7815599126349449586";

export const MIGRATIONS_TABLE = "_stun_migrations";

/** The two calls the migrator needs; both pg.Client and PGlite provide them. */
export interface SqlConnection {
  /** Parameterised single statement. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
  /** One or more statements, no parameters (simple query protocol). */
  exec(sql: string): Promise<unknown>;
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateOptions {
  migrationsDir?: string;
  log?: (message: string) => void;
}

export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrationError";
  }
}

/** sha256 of the file with line endings normalised, so a CRLF checkout does not count as an edit. */
export function checksum(sql: string): string {
  return createHash("sha256").update(sql.replace(/\r\n/g, "\n")).digest("hex");
}

/** Reads `<dir>/<name>/migration.sql` for every sub-folder, sorted by name. */
export function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  if (!existsSync(dir)) throw new MigrationError(`migrations folder not found: ${dir}`);
  return readdirSync(dir)
    .filter((name) => statSync(path.join(dir, name)).isDirectory())
    .sort()
    .map((name) => {
      const file = path.join(dir, name, "migration.sql");
      if (!existsSync(file)) throw new MigrationError(`migration ${name} has no migration.sql`);
      const sql = readFileSync(file, "utf8");
      return { name, sql, checksum: checksum(sql) };
    });
}

// Runs on one connection are queued in-process: the advisory lock is re-entrant within a session, so
// it cannot separate two callers sharing one connection (PGlite is always one connection).
const running = new WeakMap<SqlConnection, Promise<unknown>>();

/** Applies every pending migration. See the file comment for the guarantees. */
export function migrate(conn: SqlConnection, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const prev = running.get(conn) ?? Promise.resolve();
  const next = prev.catch(() => {}).then(() => migrateLocked(conn, opts));
  running.set(conn, next);
  return next;
}

async function migrateLocked(conn: SqlConnection, opts: MigrateOptions): Promise<MigrateResult> {
  const files = readMigrations(opts.migrationsDir);
  const log = opts.log ?? (() => {});
  await conn.query(`SELECT pg_advisory_lock(${LOCK_KEY})`);
  try {
    await conn.exec(
      `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (
         "name" TEXT PRIMARY KEY,
         "checksum" TEXT NOT NULL,
         "appliedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await conn.query<{ name: string; checksum: string }>(`SELECT "name", "checksum" FROM "${MIGRATIONS_TABLE}"`);
    const applied = new Map(rows.map((r) => [r.name, r.checksum]));
    const known = new Set(files.map((f) => f.name));
    for (const [name] of applied) {
      if (!known.has(name)) {
        throw new MigrationError(`database has migration ${name} applied, but it is not in the migrations folder: this server build is older than the database`);
      }
    }
    const result: MigrateResult = { applied: [], skipped: [] };
    for (const file of files) {
      const prior = applied.get(file.name);
      if (prior !== undefined) {
        if (prior !== file.checksum) {
          throw new MigrationError(
            `migration ${file.name} was edited after it was applied (checksum ${prior.slice(0, 12)}… in the ` +
              `database, ${file.checksum.slice(0, 12)}… on disk); migrations are append-only: restore ` +
              `the file and add a new migration instead`,
          );
        }
        result.skipped.push(file.name);
        continue;
      }
      await applyOne(conn, file);
      log(`applied migration ${file.name}`);
      result.applied.push(file.name);
    }
    return result;
  } finally {
    // A failed unlock must not hide the real error; the session lock also ends with the connection.
    await conn.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`).catch(() => {});
  }
}

async function applyOne(conn: SqlConnection, file: MigrationFile): Promise<void> {
  await conn.exec("BEGIN");
  try {
    await conn.exec(file.sql);
    await conn.query(`INSERT INTO "${MIGRATIONS_TABLE}" ("name", "checksum") VALUES ($1, $2)`, [file.name, file.checksum]);
    await conn.exec("COMMIT");
  } catch (err) {
    await conn.exec("ROLLBACK").catch(() => {});
    const why = err instanceof Error ? err.message : String(err);
    throw new MigrationError(`migration ${file.name} failed and was rolled back: ${why}`);
  }
}
