/**
 * Group commit's SQL on PGlite through PGlite's own query API, not through Prisma: what
 * direct-sql.ts does for PostgreSQL. Prisma's client (its query engine's request, serialisation and
 * result mapping) was ~10% of the server's CPU per task on PGlite (bench/throughput.ts profile).
 *
 * Answers as Prisma's `$queryRaw` does, as direct-sql.ts does: PGlite's own parsers are replaced
 * where they differ — `int8` (PGlite: a number where it fits) and `int8[]` as `bigint`; `timestamp`
 * (PGlite: the text read as *local* time) and `timestamp[]` as the `Date` of that UTC time — and a
 * `Date` parameter is sent as its UTC ISO text. `numeric` stays its exact text, `bytea` a Uint8Array,
 * JSON parsed. A database error is PGlite's, with PostgreSQL's code (retry-conflicts.ts
 * `driverErrorCause` reads it by shape).
 *
 * PGlite is one connection: a transaction holds it (PGlite's own lock) and every other statement,
 * Prisma's included, waits for it to end — as with Prisma's interactive transaction on PGlite. A
 * unit uses only the client it is given.
 */
import type { PGlite, Transaction } from "@electric-sql/pglite";
import { param, sqlClient, textParsers, type DirectSql, type StatementResult } from "./direct-sql";

const on =
  (target: PGlite | Transaction) =>
  async (text: string, values: unknown[]): Promise<StatementResult> => {
    const r = await target.query(text, values.map(param), { parsers: textParsers });
    return { rows: r.rows, rowCount: r.affectedRows ?? 0 };
  };

/** `db`'s statements as group commit's raw SQL client; closing the database closes PGlite, not this. */
export function createPGliteDirectSql(db: PGlite): DirectSql {
  return {
    client: sqlClient(on(db)),
    transaction: (fn) => db.transaction((tx) => fn(sqlClient(on(tx)))),
    close: async () => {},
  };
}
