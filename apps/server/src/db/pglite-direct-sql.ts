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
 * Statements run again are named prepared statements (pglite-prepared.ts), as on PostgreSQL,
 * unless `preparedStatements` is false.
 *
 * PGlite is one connection: a transaction holds it (PGlite's own lock) and every other statement,
 * Prisma's included, waits for it to end — as with Prisma's interactive transaction on PGlite. A
 * unit uses only the client it is given.
 */
import type { PGlite, Transaction } from "@electric-sql/pglite";
import { param, sqlClient, textParsers, type DirectSql, type StatementResult } from "./direct-sql";
import { pglitePrepared } from "./pglite-prepared";
import { preparedStatementNames } from "./statement-names";

export function createPGliteDirectSql(db: PGlite, opts: { preparedStatements?: boolean } = {}): DirectSql {
  const nameOf = opts.preparedStatements === false ? undefined : preparedStatementNames();
  const prepared = pglitePrepared(db, textParsers);
  const on =
    (target: PGlite | Transaction, inTransaction: boolean) =>
    async (text: string, values: unknown[]): Promise<StatementResult> => {
      const name = nameOf?.({ sql: text });
      const r = name ? await prepared.run(name, text, values.map(param), inTransaction) : await target.query(text, values.map(param), { parsers: textParsers });
      return { rows: r.rows, rowCount: r.affectedRows ?? 0 };
    };
  return {
    client: sqlClient(on(db, false)),
    transaction: (fn) => db.transaction((tx) => fn(sqlClient(on(tx, true)))),
    close: async () => {},
  };
}
