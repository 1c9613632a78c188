/**
 * Test databases. `STUN_TEST_DB` picks the engine (set by the Vitest projects server-pglite and
 * server-postgres):
 *
 * - "pglite" (default): a fresh in-memory PGlite, loaded from a snapshot of a migrated database.
 *   The snapshot is made once and cached in memory and in the OS temp dir (keyed by the PGlite
 *   version and the migrations' checksums), so a database opens in ~0.5 s instead of a ~4 s initdb.
 * - "postgres": a fresh database `stun_t_<random>` on 127.0.0.1:5432 (trust auth; tries users
 *   postgres, root, then the current user), migrated, dropped again on close().
 *
 * When PostgreSQL is unreachable: with `CI` set, openTestDatabase/describeDb throw (the run fails);
 * otherwise describeDb skips the suite with a warning. DB test files use `describeDb`, not `describe`.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { describe } from "vitest";
import { createDatabase, type Database } from "../../src/db/database";
import { migrate, readMigrations, type SqlConnection } from "../../src/db/migrate";

export type TestDbKind = "pglite" | "postgres";

export const testDbKind: TestDbKind = process.env.STUN_TEST_DB === "postgres" ? "postgres" : "pglite";

const PG_HOST = "127.0.0.1";
const PG_PORT = 5432;

/** A test database; `url` is set on PostgreSQL so a second server instance can share it. */
export type TestDatabase = Database & { url?: string };

export async function openTestDatabase(): Promise<TestDatabase> {
  return testDbKind === "postgres" ? openPostgres() : openPGlite();
}

// ---------------------------------------------------------------- PGlite

const snapshots = new Map<"empty" | "migrated", Promise<Blob>>();

async function openPGlite(): Promise<Database> {
  return createDatabase({ pglite: await loadSnapshot("migrated") });
}

/** A fresh in-memory PGlite loaded from a cached snapshot (empty: initdb only; migrated). */
async function loadSnapshot(which: "empty" | "migrated"): Promise<PGlite> {
  let snap = snapshots.get(which);
  if (!snap) snapshots.set(which, (snap = makeSnapshot(which)));
  return new PGlite({ loadDataDir: await snap });
}

function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite"); // …/pglite/dist/index.cjs
  const pkg = JSON.parse(readFileSync(path.join(path.dirname(entry), "..", "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

async function makeSnapshot(which: "empty" | "migrated"): Promise<Blob> {
  const version = pgliteVersion();
  const hash = createHash("sha256").update(version);
  if (which === "migrated")
    hash.update(
      readMigrations()
        .map((m) => `${m.name}:${m.checksum}`)
        .join("\n"),
    );
  const file = path.join(os.tmpdir(), `stun-pglite-${which}-${hash.digest("hex").slice(0, 16)}.tar`);
  if (existsSync(file)) return new Blob([readFileSync(file)]);
  const db = new PGlite();
  try {
    await db.waitReady; // dumpDataDir before start-up finishes never resolves
    if (which === "migrated") await migrate(db);
    const blob = await db.dumpDataDir("none");
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
    renameSync(tmp, file); // atomic: concurrent test processes never read half a file
    return blob;
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------- PostgreSQL

let adminUser: Promise<string | null> | undefined;

/** The first user that can connect to the `postgres` database, or null (cached per process). */
export function probePostgres(): Promise<string | null> {
  adminUser ??= (async () => {
    const users = [...new Set(["postgres", "root", os.userInfo().username])];
    for (const user of users) {
      const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user, database: "postgres", connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        await client.query("SELECT 1");
        return user;
      } catch {
        // next user
      } finally {
        await client.end().catch(() => {});
      }
    }
    return null;
  })();
  return adminUser;
}

function unreachable(): Error {
  return new Error(`PostgreSQL not reachable at ${PG_HOST}:${PG_PORT} (STUN_TEST_DB=postgres, CI is set)`);
}

async function admin<T>(user: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user, database: "postgres" });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function openPostgres(): Promise<TestDatabase> {
  const user = await probePostgres();
  if (user === null) throw unreachable();
  const name = `stun_t_${randomBytes(6).toString("hex")}`;
  await admin(user, (c) => c.query(`CREATE DATABASE "${name}"`));
  let db: Database;
  const url = `postgres://${encodeURIComponent(user)}@${PG_HOST}:${PG_PORT}/${name}`;
  try {
    db = await createDatabase({ url });
  } catch (err) {
    await admin(user, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    ...db,
    url,
    close: () =>
      (closed ??= (async () => {
        await db.close();
        await admin(user, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      })()),
  };
}

// ---------------------------------------------------------------- empty databases (migrator tests)

export interface RawConnection extends SqlConnection {
  end(): Promise<void>;
}

/** An unmigrated database of the current kind, opened through raw connections. */
export interface EmptyDatabase {
  kind: TestDbKind;
  /** A new connection (PostgreSQL) or the one PGlite connection again (end() is then a no-op). */
  connect(): Promise<RawConnection>;
  close(): Promise<void>;
}

export async function openEmptyDatabase(): Promise<EmptyDatabase> {
  if (testDbKind === "pglite") {
    const db = await loadSnapshot("empty");
    return { kind: "pglite", connect: async () => Object.assign(db, { end: async () => {} }), close: () => db.close() };
  }
  const user = await probePostgres();
  if (user === null) throw unreachable();
  const name = `stun_t_${randomBytes(6).toString("hex")}`;
  await admin(user, (c) => c.query(`CREATE DATABASE "${name}"`));
  const open = new Set<pg.Client>();
  const end = async (c: pg.Client) => {
    if (open.delete(c)) await c.end().catch(() => {});
  };
  return {
    kind: "postgres",
    connect: async () => {
      const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user, database: name });
      await client.connect();
      open.add(client);
      return {
        query: async <R>(sql: string, params?: unknown[]) => ({ rows: (await client.query(sql, params)).rows as R[] }),
        exec: (sql: string) => client.query(sql),
        end: () => end(client),
      };
    },
    close: async () => {
      await Promise.all([...open].map(end));
      await admin(user, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

// ---------------------------------------------------------------- describeDb

// Decided once at import (top-level await) so describeDb can choose describe or describe.skip.
const pgReachable = testDbKind === "postgres" ? (await probePostgres()) !== null : true;

/** `describe` for suites that need a database; see the file comment for the unreachable case. */
export function describeDb(name: string, fn: () => void): void {
  if (pgReachable) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) throw unreachable();
  console.warn(`PostgreSQL not reachable at ${PG_HOST}:${PG_PORT}: the PostgreSQL run of ${callerFile() ?? name} was left out`);
  describe.skip(name, fn);
}

/** The test file that called describeDb, from the stack. */
function callerFile(): string | undefined {
  const stack = new Error().stack?.split("\n") ?? [];
  for (const line of stack) {
    const m = /((?:file:\/\/)?\/[^\s()]+\.test\.[cm]?[jt]s)/.exec(line);
    if (m) return path.relative(process.cwd(), m[1]!.replace(/^file:\/\//, ""));
  }
  return undefined;
}
