import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textParsers } from "../../src/db/direct-sql";
import { pglitePrepared } from "../../src/db/pglite-prepared";
import { testDbKind } from "../support/database";

// Named prepared statements on PGlite's wire-protocol API (db/pglite-prepared.ts), on a PGlite of
// its own (the server's use of it is checked on the migrated schema by direct-sql.test.ts).
describe.runIf(testDbKind === "pglite")("prepared statements on PGlite", () => {
  let db: PGlite;
  beforeAll(async () => {
    db = new PGlite();
    await db.exec(`CREATE TABLE item (id int PRIMARY KEY, n bigint NOT NULL, at timestamp NOT NULL)`);
  });
  afterAll(async () => {
    await db?.close();
  });

  const insert = `INSERT INTO item (id, n, at) VALUES ($1, $2, $3) RETURNING id, n, at`;

  it("writes parameters by their declared types and reads rows with the caller's parsers", async () => {
    const prepared = pglitePrepared(db, textParsers);
    const at = "2026-03-04T05:06:07.089Z";
    const first = await prepared.run("s_insert", insert, [1, 9007199254740993n, at], false);
    expect(first.rows).toEqual([{ id: 1, n: 9007199254740993n, at: new Date(at) }]);
    expect(first.affectedRows).toBe(1);
    // Run again: the statement is parsed once, bound again.
    const second = await prepared.run("s_insert", insert, [2, 5n, at], false);
    expect(second.rows).toEqual([{ id: 2, n: 5n, at: new Date(at) }]);
    const nulls = await prepared.run("s_echo", "SELECT $1::bigint AS a, $2::text AS b", [null, undefined], false);
    expect(nulls.rows).toEqual([{ a: null, b: null }]);
  });

  it("replaces a statement of the same name another client left, inside a transaction too, without an error", async () => {
    const one = pglitePrepared(db, textParsers);
    const other = pglitePrepared(db, textParsers);
    const count = "SELECT count(*)::int AS n FROM item WHERE id >= $1";
    expect((await one.run("s_count", count, [0], false)).rows).toEqual([{ n: 2 }]);
    const inside = await db.transaction(async (tx) => {
      await tx.query("SELECT 1");
      return other.run("s_count", count, [2], true);
    });
    expect(inside.rows).toEqual([{ n: 1 }]);
    expect((await one.run("s_count", count, [1], false)).rows).toEqual([{ n: 2 }]);
  });

  it("keeps a statement first parsed in a transaction that rolled back, and fails a bad run with PostgreSQL's code", async () => {
    const prepared = pglitePrepared(db, textParsers);
    const at = new Date().toISOString();
    await expect(
      db.transaction(async () => {
        await prepared.run("s_insert_rb", insert, [10, 1n, at], true);
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect((await db.query("SELECT count(*)::int AS n FROM item WHERE id = 10")).rows).toEqual([{ n: 0 }]);
    expect((await prepared.run("s_insert_rb", insert, [10, 1n, at], false)).rows).toHaveLength(1);
    // The same key again: a unique violation, with its code; the statement still runs after.
    await expect(prepared.run("s_insert_rb", insert, [10, 1n, at], false)).rejects.toMatchObject({ code: "23505" });
    expect((await prepared.run("s_insert_rb", insert, [11, 1n, at], false)).rows).toHaveLength(1);
    // A text PostgreSQL cannot parse names nothing, and says why.
    await expect(prepared.run("s_bad", "SELEC 1", [], false)).rejects.toMatchObject({ code: "42601" });
    await expect(prepared.run("s_bad", "SELECT 1 AS one", [], false)).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });
});
