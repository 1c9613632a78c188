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

  it("evm_deposits_external copies ChainDeposit rows (reorg states mapped) and the watcher's cursor onto the scanner's", async () => {
    const copy = names().find((n) => n.endsWith("_evm_deposits_external"))!;
    const sql = readFileSync(path.join(dir, copy, "migration.sql"), "utf8");
    for (const n of [copy, ...names().filter((n) => n > copy)]) rmSync(path.join(dir, n), { recursive: true });
    const conn = await empty.connect();
    await migrate(conn, { migrationsDir: dir });
    const row = (id: string, status: string, accountId: string | null, logIndex: number) =>
      `('${id}', 31337, '0xAB${id}', ${logIndex}, 7, '0xcd', '0x6163635f61', ${accountId ? `'${accountId}'` : "NULL"}, '0xF1', '0xee', '5', '${status}', NULL, 'ltx_${id}')`;
    await conn.exec(`INSERT INTO "ChainDeposit" ("id", "chainId", "txHash", "logIndex", "blockNumber", "blockHash", "accountRef", "accountId", "fromAddress", "token", "amount", "status", "reason", "ledgerTxId") VALUES
      ${[row("d1", "credited", "acc_a", 0), row("d2", "unmatched", null, 1), row("d3", "reorged", "acc_a", 2), row("d4", "reorged", null, 3), row("d5", "vanished", "acc_a", 4)].join(",")}`);
    await conn.exec(`INSERT INTO "ChainCursor" ("id", "chainId", "blockNumber", "blockHash", "updatedAt") VALUES ('deposits:31337:0xmarket', 31337, 42, '0xhash', now())`);
    addMigration(copy, sql);
    expect((await migrate(conn, { migrationsDir: dir })).applied).toEqual([copy]);
    const { rows } = await conn.query(
      `SELECT "id", "family", "network", "txId", "index", "accountTag", "accountId", "fromAddress", "slotOrLt"::text AS "slot", "status", "ledgerTxId" FROM "ExternalDeposit" ORDER BY "id"`,
    );
    expect(rows.map((r: Record<string, unknown>) => [r.id, r.status, r.accountTag])).toEqual([
      ["d1", "credited", "acc_a"],
      ["d2", "unmatched", "0x6163635f61"],
      ["d3", "reversed", "acc_a"],
      ["d4", "dropped", "0x6163635f61"],
      ["d5", "shortfall", "acc_a"],
    ]);
    expect(rows[0]).toMatchObject({ family: "evm", network: "31337", txId: "0xabd1", index: 0, accountId: "acc_a", fromAddress: "0xf1", slot: "7", ledgerTxId: "ltx_d1" });
    const cursor = await conn.query(`SELECT "id", "cursor" FROM "ExternalCursor"`);
    expect(cursor.rows).toEqual([{ id: "deposits:evm:31337:0xmarket", cursor: "42:0xhash" }]);
  });

  it("evm_withdrawals_external copies ChainWithdrawal rows: one with a transaction on the wire becomes sent with its deadline, ids (the nonces) kept", async () => {
    const copy = names().find((n) => n.endsWith("_evm_withdrawals_external"))!;
    const sql = readFileSync(path.join(dir, copy, "migration.sql"), "utf8");
    for (const n of [copy, ...names().filter((n) => n > copy)]) rmSync(path.join(dir, n), { recursive: true });
    const conn = await empty.connect();
    await migrate(conn, { migrationsDir: dir });
    const row = (id: string, status: string, txHash: string | null) =>
      `('${id}', 31337, 'acc_a', '0xwallet', '0xtoken', 5, '${status}', ${txHash ? `'${txHash}'` : "NULL"}, 2, 'ltx_${id}', '2026-12-04 10:00:00', '2026-12-04 09:00:00', '2026-12-04 09:30:00')`;
    await conn.exec(`INSERT INTO "ChainWithdrawal" ("id", "chainId", "accountId", "toAddress", "token", "amount", "status", "txHash", "attempts", "ledgerTxId", "deadline", "createdAt", "updatedAt") VALUES
      ${[row("wdr_1", "pending", null), row("wdr_2", "submitted", "0xt2"), row("wdr_3", "pending", "0xt3"), row("wdr_4", "confirmed", "0xt4"), row("wdr_5", "failed", null)].join(",")}`);
    addMigration(copy, sql);
    expect((await migrate(conn, { migrationsDir: dir })).applied).toEqual([copy]);
    const { rows } = await conn.query(`SELECT "id", "family", "network", "status", "txId", "lifetime", "wire", "amount"::text AS "amount", "ledgerTxId" FROM "ExternalPayout" ORDER BY "id"`);
    const deadline = String(Date.UTC(2026, 11, 4, 10) / 1000);
    expect(rows.map((r: Record<string, unknown>) => [r.id, r.status, r.txId, r.lifetime])).toEqual([
      ["wdr_1", "pending", null, null],
      ["wdr_2", "sent", "0xt2", deadline],
      ["wdr_3", "sent", "0xt3", deadline],
      ["wdr_4", "confirmed", "0xt4", null],
      ["wdr_5", "failed", null, null],
    ]);
    expect(rows[1]).toMatchObject({ family: "evm", network: "31337", wire: null, amount: "5", ledgerTxId: "ltx_wdr_2" });
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
