import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, MigrationError, migrate, readMigrations } from "../../src/db/migrate";
import { describeDb, openEmptyDatabase, type EmptyDatabase } from "../support/database";

describeDb("migrate", () => {
  let empty: EmptyDatabase;
  let dir: string;

  beforeEach(async () => {
    empty = await openEmptyDatabase();
    dir = mkdtempSync(path.join(os.tmpdir(), "stun-migrations-"));
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  });
  afterEach(async () => {
    await empty?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const names = () => readMigrations(dir).map((m) => m.name);
  const addMigration = (name: string, sql: string) => {
    mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, name, "migration.sql"), sql);
  };

  it("applies every migration to a fresh database and records name + checksum", async () => {
    const conn = await empty.connect();
    const result = await migrate(conn, { migrationsDir: dir });
    expect(result).toEqual({ applied: names(), skipped: [] });
    const { rows } = await conn.query<{ name: string; checksum: string }>(`SELECT "name", "checksum" FROM "_stun_migrations" ORDER BY "name"`);
    expect(rows).toEqual(readMigrations(dir).map((m) => ({ name: m.name, checksum: m.checksum })));
    const tables = await conn.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`);
    expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(["Account", "ApiKey", "Assignment", "LedgerEntry", "Model", "Provider", "Task"]));
  });

  it("linked_wallets backfills every EVM wallet already linked (Account.walletAddress) as a LinkedWallet row", async () => {
    const linked = names().find((n) => n.endsWith("_linked_wallets"))!;
    const sql = readFileSync(path.join(dir, linked, "migration.sql"), "utf8");
    const later = names().filter((n) => n > linked);
    for (const n of [linked, ...later]) rmSync(path.join(dir, n), { recursive: true });
    const conn = await empty.connect();
    await migrate(conn, { migrationsDir: dir });
    await conn.exec(`INSERT INTO "Account" ("id", "walletAddress") VALUES ('acc_a', '0x00000000000000000000000000000000000000aa'), ('acc_b', NULL)`);
    addMigration(linked, sql);
    expect((await migrate(conn, { migrationsDir: dir })).applied).toEqual([linked]);
    const { rows } = await conn.query(`SELECT "family", "address", "accountId", "network" FROM "LinkedWallet"`);
    expect(rows).toEqual([{ family: "evm", address: "0x00000000000000000000000000000000000000aa", accountId: "acc_a", network: "eip155" }]);
  });

  it("is idempotent and applies only what is new", async () => {
    const conn = await empty.connect();
    await migrate(conn, { migrationsDir: dir });
    expect(await migrate(conn, { migrationsDir: dir })).toEqual({ applied: [], skipped: names() });
    addMigration("99990101000000_extra", `CREATE TABLE "Extra" ("id" TEXT PRIMARY KEY);`);
    expect(await migrate(conn, { migrationsDir: dir })).toEqual({
      applied: ["99990101000000_extra"],
      skipped: names().filter((n) => n !== "99990101000000_extra"),
    });
  });

  it("refuses to start when an applied migration was edited", async () => {
    const conn = await empty.connect();
    await migrate(conn, { migrationsDir: dir });
    const first = names()[0]!;
    const file = path.join(dir, first, "migration.sql");
    writeFileSync(file, `${readFileSync(file, "utf8")}\n-- edited\n`);
    await expect(migrate(conn, { migrationsDir: dir })).rejects.toThrow(MigrationError);
    await expect(migrate(conn, { migrationsDir: dir })).rejects.toThrow(/was edited after it was applied/);
  });

  it("does not count CRLF line endings as an edit", async () => {
    const conn = await empty.connect();
    await migrate(conn, { migrationsDir: dir });
    const file = path.join(dir, names()[0]!, "migration.sql");
    writeFileSync(file, readFileSync(file, "utf8").replace(/\n/g, "\r\n"));
    expect((await migrate(conn, { migrationsDir: dir })).applied).toEqual([]);
  });

  it("refuses a database that has a migration the folder lacks", async () => {
    const conn = await empty.connect();
    addMigration("99990101000000_extra", `SELECT 1;`);
    await migrate(conn, { migrationsDir: dir });
    rmSync(path.join(dir, "99990101000000_extra"), { recursive: true });
    await expect(migrate(conn, { migrationsDir: dir })).rejects.toThrow(/not in the migrations folder/);
  });

  it("rolls a failing migration back completely and records nothing", async () => {
    const conn = await empty.connect();
    await migrate(conn, { migrationsDir: dir });
    addMigration("99990101000000_broken", `CREATE TABLE "Half" ("id" TEXT); SELECT * FROM "NoSuchTable";`);
    await expect(migrate(conn, { migrationsDir: dir })).rejects.toThrow(/99990101000000_broken failed and was rolled back/);
    const half = await conn.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'Half'`);
    expect(half.rows).toHaveLength(0);
    const rec = await conn.query(`SELECT 1 FROM "_stun_migrations" WHERE "name" = '99990101000000_broken'`);
    expect(rec.rows).toHaveLength(0);
    // The connection is usable afterwards (no transaction left open).
    expect((await conn.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  it("lets concurrent starts race safely (advisory lock)", async () => {
    const conns = await Promise.all([empty.connect(), empty.connect(), empty.connect()]);
    const results = await Promise.all(conns.map((c) => migrate(c, { migrationsDir: dir })));
    const applied = results.flatMap((r) => r.applied).sort();
    expect(applied).toEqual(names()); // each migration applied exactly once in total
    await Promise.all(conns.map((c) => c.end()));
  });
});
