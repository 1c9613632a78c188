/**
 * Named prepared statements on PGlite, through its wire-protocol API (`execProtocolStream`).
 *
 * PGlite's `query` sends every statement unnamed, as six calls into its WebAssembly backend (Parse,
 * Describe, Bind, Describe, Execute, Sync): each run is parsed, analysed and planned again, and
 * planning looks up every table's and index's size (an `lseek` → `fstat` per relation on the
 * node filesystem). Here a statement is parsed once (`Parse` with a name, and its parameters'
 * types read back), and each run is one call: Bind, Describe, Execute, Sync. PostgreSQL keeps its
 * plan as it does for any prepared statement (a generic plan after a few runs where it costs no
 * more). `bench/pglite-statements.ts` (a two-CTE statement on a disk-backed PGlite): 0.59–0.67 ms a
 * run unnamed with 8 `fstat` calls, 0.20 ms prepared with 1.
 *
 * Results are read by PGlite's own `parseResults` with the caller's parsers, parameters written by
 * PGlite's serializers for the types the statement declared — as `query` does. PGlite's locks are
 * taken as `query` takes them: inside a transaction (the caller holds it) only the statement lock;
 * outside, the transaction lock too, so a statement never runs inside another caller's transaction.
 *
 * Prepared statements are not transactional: one parsed in a transaction that rolls back stays.
 * A statement's first Parse is preceded by a Close of its name (no error where nothing has it), so
 * one this does not know of — parsed before a Describe that failed, or by another client of the
 * same PGlite — is replaced, never an error (an error would abort the caller's transaction).
 */
import { parse, protocol, type PGlite, type Results } from "@electric-sql/pglite";
import { concatBytes } from "@stun/shared";

const { serialize } = protocol;

interface Statement {
  /** The type of each parameter, as the statement's Parse decided. */
  paramTypes: number[];
}

/** The PGlite internals `query` uses for its locks; typed in its declarations with a leading underscore. */
interface Locks {
  _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T>;
  _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T>;
}

export interface PGlitePrepared {
  /** `text` as the prepared statement `name` (parsed on its first run) with `values`; `inTransaction`: the caller holds PGlite's transaction. */
  run(name: string, text: string, values: unknown[], inTransaction: boolean): Promise<Results>;
}

export function pglitePrepared(db: PGlite, parsers: Record<number, (text: string) => unknown>): PGlitePrepared {
  const locks = db as unknown as Locks;
  const statements = new Map<string, Statement>();
  let merged: Record<number, (text: string) => unknown> | undefined;
  const send = (message: Uint8Array) => db.execProtocolStream(message, { syncToFs: false });

  const prepare = async (name: string, text: string): Promise<Statement> => {
    const described = await send(concatBytes([serialize.close({ type: "S", name }), serialize.parse({ name, text }), serialize.describe({ type: "S", name }), serialize.sync()]));
    const statement = { paramTypes: parse.parseDescribeStatementResults(described) };
    statements.set(name, statement);
    return statement;
  };

  const execute = async (name: string, text: string, values: unknown[]): Promise<Results> => {
    const statement = statements.get(name) ?? (await prepare(name, text));
    const serialized = values.map((v, i) => {
      if (v === null || v === undefined) return null;
      const serializer = db.serializers[statement.paramTypes[i] ?? 0];
      return serializer ? serializer(v) : String(v);
    });
    const messages = await send(concatBytes([serialize.bind({ statement: name, values: serialized }), serialize.describe({ type: "P" }), serialize.execute({}), serialize.sync()]));
    // PGlite's parsers with the caller's over them, merged once: given as an option, parseResults
    // would copy PGlite's whole table (hundreds of types) on every run. Merged on the first run,
    // once PGlite has added its array types' parsers (it does so as it starts).
    merged ??= { ...db.parsers, ...parsers };
    const [result] = parse.parseResults(messages, merged);
    if (!result) throw new Error(`prepared statement ${name} answered no result`);
    return result;
  };

  return {
    run: (name, text, values, inTransaction) =>
      inTransaction
        ? locks._runExclusiveQuery(() => execute(name, text, values))
        : locks._runExclusiveTransaction(() =>
            locks._runExclusiveQuery(async () => {
              const result = await execute(name, text, values);
              await db.syncToFs();
              return result;
            }),
          ),
  };
}
