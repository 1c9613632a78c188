/**
 * Group commit's SQL on PostgreSQL through node-postgres directly, not through Prisma.
 *
 * Every statement on the hot path is raw SQL already (`Prisma.sql`); what Prisma adds to each is
 * CPU: its query engine's request, serialisation and result mapping cost 2–3× what node-postgres
 * alone does per statement, and an interactive transaction three times a bare BEGIN/COMMIT
 * (bench/transaction-cost.ts). This runs the same `Prisma.Sql` values on a small pool of its own,
 * answering as Prisma's `$queryRaw` answers (sql-client.ts `SqlClient`), so units run unchanged:
 *
 * - `bigint` columns (and arrays of them) come back as `bigint`; `timestamp` columns, which hold
 *   UTC (Prisma writes them so), as the `Date` of that UTC time; `json`/`jsonb` parsed; `bytea` a
 *   Buffer (a Uint8Array); `numeric` its exact text (Prisma's is a Decimal: callers convert either
 *   with BigInt() or Number()).
 * - A `Date` parameter is sent as its ISO text, UTC, whatever the process's time zone.
 * - Statements run again are named prepared statements as Prisma's are (statement-names.ts), unless
 *   `preparedStatements` is false.
 * - A database error is node-postgres's, with PostgreSQL's code: retry-conflicts.ts
 *   `driverErrorCause` reads it as it reads Prisma's.
 *
 * There is no model API here (no `tx.task.update`): what a unit reaches takes `SqlClient`, and the
 * type checker holds it to raw SQL.
 */
import pg from "pg";
import { Prisma } from "./generated/client";
import { markPipelined, type SqlClient } from "./sql-client";
import { preparedStatementNames } from "./statement-names";

export interface DirectSql {
  /** Statements each committed by itself (no transaction). */
  readonly client: SqlClient;
  /** `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const INT8 = 20;
const INT8_ARRAY = 1016;
const TIMESTAMP = 1114;
const TIMESTAMP_ARRAY = 1115;
const TEXT_ARRAY = 1009;

/** `2026-12-06 19:00:00.123` (a `timestamp` column's text, UTC) as that instant. */
const utc = (text: string): Date => new Date(`${text.replace(" ", "T")}Z`);

/** node-postgres's own parser of a type's text. */
const builtin = (oid: number) => pg.types.getTypeParser(oid as never, "text") as (text: string) => unknown;
/** An array's elements as text (node-postgres's `text[]` parser splits any array's literal). */
const elements = (text: string) => builtin(TEXT_ARRAY)(text) as Array<string | null>;

/** How group commit's raw SQL reads these types' text, on either driver: as Prisma's `$queryRaw` answers them. */
export const textParsers: Record<number, (text: string) => unknown> = {
  [INT8]: (text) => BigInt(text),
  [INT8_ARRAY]: (text) => elements(text).map((x) => (x === null ? null : BigInt(x))),
  [TIMESTAMP]: utc,
  [TIMESTAMP_ARRAY]: (text) => elements(text).map((x) => (x === null ? null : utc(x))),
};

const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    format !== "binary" && textParsers[oid] ? textParsers[oid] : pg.types.getTypeParser(oid as never, format as "text")) as typeof pg.types.getTypeParser,
};

/** A parameter as PostgreSQL should read it: a Date as UTC ISO text (node-postgres would send local time). */
export const param = (v: unknown): unknown => (v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.map(param) : v);

type Query = TemplateStringsArray | Prisma.Sql;

/** A tagged template's strings (an array) and values, or a `Prisma.sql` value (not an array, whichever copy of Prisma's runtime made it), as one `Prisma.Sql`. */
const sqlOf = (query: Query, values: unknown[]): Prisma.Sql => (Array.isArray(query) ? Prisma.sql(query as TemplateStringsArray, ...(values as Prisma.Sql[])) : (query as Prisma.Sql));

/** What a statement answered: its rows, and how many rows it changed. */
export interface StatementResult {
  rows: unknown[];
  rowCount: number | null;
}

/** A `SqlClient` whose statements run on `run`'s connection. */
export function sqlClient(run: (text: string, values: unknown[]) => Promise<StatementResult>): SqlClient {
  const client = {
    $queryRaw: async (query: Query, ...values: unknown[]) => {
      const sql = sqlOf(query, values);
      return (await run(sql.text, sql.values)).rows;
    },
    $executeRaw: async (query: Query, ...values: unknown[]) => {
      const sql = sqlOf(query, values);
      return (await run(sql.text, sql.values)).rowCount ?? 0;
    },
    $queryRawUnsafe: async (text: string, ...values: unknown[]) => (await run(text, values)).rows,
    $executeRawUnsafe: async (text: string, ...values: unknown[]) => (await run(text, values)).rowCount ?? 0,
  };
  // Prisma's methods answer PrismaPromises; awaiting is all a unit does with them.
  return client as unknown as SqlClient;
}

/** COMMIT was answered ROLLBACK: a statement of the transaction failed, and nothing of it was written. */
export class TransactionAborted extends Error {
  constructor(readonly answered: string) {
    super(`the transaction was rolled back (COMMIT answered ${answered}): one of its statements failed`);
  }
}

export interface DirectSqlOptions {
  preparedStatements?: boolean;
  max?: number;
  /** PostgreSQL cancels a statement that runs longer (57014), and ends a session idle this long inside a transaction, its locks released (default 60 s: group commit's bound through Prisma). */
  timeoutMs?: number;
  /** node-postgres's pipeline mode (default true): statements go out as they are issued; false, each after the answer to the one before. */
  pipeline?: boolean;
  /** Opens each connection's socket (node-postgres's `stream`): a test watching the wire. */
  stream?: () => import("node:stream").Duplex;
}

export function createDirectSql(url: string, opts: DirectSqlOptions = {}): DirectSql {
  // Group commit runs one batch at a time, the dispatcher a claim or two: a connection each, and the
  // rest for hot statements committed by themselves (a lone result's, task reads, acks).
  const timeout = opts.timeoutMs ?? 60_000;
  const pipelined = opts.pipeline !== false;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 6,
    types,
    // A batch stuck behind a lock, or a process stalled mid-transaction, must not hold the queue
    // and its row locks for ever; a caller waiting that long for a connection is told so (UNAVAILABLE).
    statement_timeout: timeout,
    idle_in_transaction_session_timeout: timeout,
    connectionTimeoutMillis: timeout,
    // node-postgres 8.23's pipeline mode: a statement is written to the socket when it is issued,
    // not after the answer to the one before it. A transaction's BEGIN goes out with its first
    // statement (one round trip fewer per transaction); a caller that awaits each statement (every
    // unit does) sees no difference, and each statement still has its own Sync, so one's error is
    // its own (what PostgreSQL then answers the rest of an aborted transaction is theirs).
    pipeline: pipelined,
    ...(opts.stream ? { stream: opts.stream } : {}),
  });
  // An idle connection the server dropped: the pool discards it and the next query opens another
  // (without a listener, the event would end the process).
  pool.on("error", () => {});
  const nameOf = opts.preparedStatements === false ? undefined : preparedStatementNames();
  const on =
    (target: pg.Pool | pg.PoolClient) =>
    (text: string, values: unknown[]): Promise<pg.QueryResult> => {
      const name = nameOf?.({ sql: text });
      return target.query({ text, values: values.map(param), ...(name ? { name } : {}) });
    };
  let closed: Promise<void> | undefined;
  /** `run`, whose first statement's answer also waits for (and fails with) the transaction's BEGIN. */
  const afterBegin = (begun: Promise<unknown>, run: (text: string, values: unknown[]) => Promise<pg.QueryResult>) => {
    let first = true;
    return async (text: string, values: unknown[]): Promise<pg.QueryResult> => {
      if (!first) return run(text, values);
      first = false;
      const answer = run(text, values);
      answer.catch(() => {});
      await begun;
      return answer;
    };
  };
  return {
    client: sqlClient(on(pool)),
    async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
      const conn = await pool.connect();
      let broken: unknown;
      // A connection lost while checked out (PostgreSQL restarted, the backend terminated) is an
      // 'error' event nobody else listens for here (the pool listens only while it is idle): without
      // this the process would end. Its next statement fails, and the transaction with it.
      const lost = (err: unknown) => {
        broken = err;
      };
      conn.on("error", lost);
      try {
        // Pipelined, BEGIN is not awaited here: it goes out now and the unit's first statement right
        // behind it, on the same connection, so PostgreSQL runs that statement inside the
        // transaction. The first statement's answer waits for BEGIN's too (`afterBegin`); a BEGIN
        // that failed (a lost connection: PostgreSQL refuses BEGIN in no other state it can be in
        // here) fails it.
        const begun = conn.query("BEGIN");
        begun.catch(() => {});
        if (!pipelined) await begun;
        try {
          const value = await fn(pipelined ? markPipelined(sqlClient(afterBegin(begun, on(conn)))) : sqlClient(on(conn)));
          await begun;
          // PostgreSQL answers COMMIT of a transaction it aborted (a statement failed, and whoever
          // issued it caught the error) with ROLLBACK, not an error: that is a failure here, never
          // a commit to announce.
          const ended = await conn.query("COMMIT");
          if (ended.command !== "COMMIT") throw new TransactionAborted(ended.command);
          return value;
        } catch (err) {
          await conn.query("ROLLBACK").catch((e: unknown) => {
            broken = e;
          });
          throw err;
        }
      } finally {
        // A connection lost, or whose ROLLBACK failed, is in an unknown state: the pool drops it
        // (still heard: a dropped connection may say more).
        if (broken === undefined) conn.off("error", lost);
        conn.release(broken !== undefined);
      }
    },
    close: () => (closed ??= pool.end()),
  };
}
