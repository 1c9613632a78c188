/**
 * The database factory: one PostgreSQL schema served either by real PostgreSQL (`url`, production,
 * several server instances) or by embedded PGlite (zero set-up default; one process only).
 * Migrations run before the Database is returned.
 *
 * PGlite notes:
 * - PGlite is a single connection. An interactive transaction takes PGlite's exclusive lock, so
 *   every other query waits until it ends: never call `db.prisma.*` (the outer client) inside
 *   `prisma.$transaction(async (tx) => …)` on PGlite; use `tx`. That deadlocks until Prisma's
 *   transaction timeout (5 s). Concurrent transactions are serialised, so `maxWait` may need raising
 *   under load.
 * - `FOR UPDATE SKIP LOCKED` parses and runs; with one connection there is never anything to skip.
 * - `close()` must be awaited, or the process never exits.
 * - Database errors are mapped to Prisma codes (P2002 …) by pglite-errors.ts (a packaging quirk).
 */
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient, type Prisma } from "./generated/client";
import { createDirectSql, type DirectSql } from "./direct-sql";
import { createPGliteDirectSql } from "./pglite-direct-sql";
import type { SqlClient } from "./sql-client";
import { migrate, type SqlConnection } from "./migrate";
import { withPgErrorMapping } from "./pglite-errors";
import { maintainPGlite, maintainPostgres, type MaintenanceStep } from "./table-maintenance";
import { preparedStatementNames } from "./statement-names";

/** The client handed to `prisma.$transaction(async (tx) => …)` callbacks. */
export type Tx = Prisma.TransactionClient;

export type { SqlClient } from "./sql-client";

export interface Database {
  prisma: PrismaClient;
  kind: "pglite" | "postgres";
  /** Group commit's statements on the driver directly: node-postgres (direct-sql.ts) or PGlite's query API (pglite-direct-sql.ts); absent with `directSql: false`. */
  direct?: DirectSql;
  /** ANALYZE and VACUUM the tables due, by autovacuum's rule, where no autovacuum does (PGlite; PostgreSQL's tables with it off): table-maintenance.ts. */
  maintain?: () => Promise<MaintenanceStep[]>;
  /** Disconnects Prisma and closes the pool / PGlite. Idempotent. */
  close(): Promise<void>;
}

export interface CreateDatabaseOptions {
  /** postgres://… (or postgresql://…): use PostgreSQL. Otherwise embedded PGlite. */
  url?: string;
  /** PGlite data directory; undefined or "memory://" keeps the database in memory. */
  dataDir?: string;
  /** Receives one line per applied migration and other start-up notes. */
  log?: (message: string) => void;
  /** Name statements run again as prepared statements: Prisma's and group commit's on PostgreSQL, group commit's on PGlite (default true; PG_PREPARED_STATEMENTS). */
  preparedStatements?: boolean;
  /** Run group commit's raw SQL on the driver directly, not through Prisma (default true; PG_DIRECT_SQL). */
  directSql?: boolean;
  /** node-postgres's pipeline mode on the direct path's connections (default true; PG_PIPELINE): direct-sql.ts. */
  pipeline?: boolean;
  /** Prisma's own log levels (query, info, warn, error), printed by Prisma. */
  prismaLog?: Prisma.LogLevel[];
  /** Override the migrations folder (tests). */
  migrationsDir?: string;
  /**
   * Use this PGlite instance instead of opening one (tests load a pre-migrated snapshot this way).
   * The Database takes ownership: close() closes it. Ignored when `url` is set.
   */
  pglite?: PGlite;
}

/**
 * `fn` in one transaction of raw SQL: on the driver directly where the database has it
 * (direct-sql.ts, pglite-direct-sql.ts), else Prisma's interactive transaction with `prismaOptions`.
 */
export function sqlTransaction<T>(db: Database, fn: (tx: SqlClient) => Promise<T>, prismaOptions?: { maxWait?: number; timeout?: number }): Promise<T> {
  return db.direct ? db.direct.transaction(fn) : db.prisma.$transaction(fn, prismaOptions);
}

/** Where a hot statement committed by itself runs: the driver directly where the database has it (direct-sql.ts, pglite-direct-sql.ts), else Prisma. */
export const rawSql = (db: Database): SqlClient => db.direct?.client ?? db.prisma;

export async function createDatabase(opts: CreateDatabaseOptions = {}): Promise<Database> {
  if (opts.url !== undefined && opts.url !== "") {
    if (!/^postgres(ql)?:\/\//.test(opts.url)) {
      throw new Error(`database url must start with postgres:// or postgresql:// (got ${redact(opts.url)})`);
    }
    return createPostgres(opts.url, opts);
  }
  return createPGlite(opts);
}

async function createPostgres(url: string, opts: CreateDatabaseOptions): Promise<Database> {
  await onOwnConnection(url, (c) => migrate(c, migrateOptions(opts)));
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: url }, opts.preparedStatements === false ? {} : { statementNameGenerator: preparedStatementNames() }),
    log: opts.prismaLog ?? [],
  });
  const direct =
    opts.directSql === false
      ? undefined
      : createDirectSql(url, { ...(opts.preparedStatements === false ? { preparedStatements: false } : {}), ...(opts.pipeline === false ? { pipeline: false } : {}) });
  let closed: Promise<void> | undefined;
  return {
    prisma,
    kind: "postgres",
    ...(direct ? { direct } : {}),
    maintain: () => onOwnConnection(url, maintainPostgres),
    close: () => (closed ??= Promise.all([prisma.$disconnect(), direct?.close()]).then(() => undefined)),
  };
}

async function createPGlite(opts: CreateDatabaseOptions): Promise<Database> {
  const db = opts.pglite ?? openPGlite(opts.dataDir);
  try {
    await migrate(db, migrateOptions(opts));
  } catch (err) {
    await db.close();
    throw err;
  }
  // The adapter is typed against the PGlite copy it resolves itself; the instance is compatible.
  const prisma = new PrismaClient({
    adapter: withPgErrorMapping(new PrismaPGlite(db as unknown as ConstructorParameters<typeof PrismaPGlite>[0])),
    log: opts.prismaLog ?? [],
  });
  const direct = opts.directSql === false ? undefined : createPGliteDirectSql(db, opts.preparedStatements === false ? { preparedStatements: false } : {});
  let closed: Promise<void> | undefined;
  return {
    prisma,
    kind: "pglite",
    ...(direct ? { direct } : {}),
    maintain: () => maintainPGlite(db),
    close: () =>
      (closed ??= (async () => {
        await prisma.$disconnect();
        if (!db.closed) await db.close();
      })()),
  };
}

function openPGlite(dataDir: string | undefined): PGlite {
  const inMemory = dataDir === undefined || dataDir === "" || dataDir.startsWith("memory://");
  if (inMemory) return new PGlite();
  mkdirSync(dataDir, { recursive: true });
  return new PGlite(dataDir);
}

/** `fn` on a connection to `url` of its own (outside Prisma's and the group commit's pools), closed after. */
async function onOwnConnection<T>(url: string, fn: (c: SqlConnection) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(pgConnection(client));
  } finally {
    await client.end();
  }
}

function pgConnection(client: pg.Client): SqlConnection {
  return {
    query: async <R>(sql: string, params?: unknown[]) => ({ rows: (await client.query(sql, params)).rows as R[] }),
    exec: (sql: string) => client.query(sql),
  };
}

function migrateOptions(opts: CreateDatabaseOptions) {
  return {
    ...(opts.migrationsDir !== undefined ? { migrationsDir: opts.migrationsDir } : {}),
    ...(opts.log !== undefined ? { log: opts.log } : {}),
  };
}

/** The url without its password, for error messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
