/**
 * postTransfer: the one primitive every money movement goes through. Writes one ledger
 * transaction (entries sharing a txId, summing to zero) and moves the cached Account columns in the
 * same database transaction, with a guard that no cached column ever goes below zero.
 */
import { randomUUID } from "node:crypto";
import { INT64_MAX, StunError } from "@stun/shared";
import type { SqlClient } from "../db/database";
import type { LeadKind } from "../db/group-commit";
import { Prisma } from "../db/generated/client";
import { jsonRows } from "../db/json-rows";
import { driverErrorCause } from "../db/retry-conflicts";
import { BUCKET_COLUMN, parseLedgerAccount, type BalanceColumn } from "./accounts";

export interface LedgerLeg {
  account: string;
  amount: bigint;
}

export interface TransferInput {
  /** What happened: mint, hold, release, refund, settle, stake, unstake, slash, … */
  kind: string;
  taskId?: string;
  entries: LedgerLeg[];
  /** Bytes charged to one of the moved accounts' `storageBytes` in the same guarded update (a task's input). */
  storage?: StorageCharge;
  /**
   * Data-modifying statements (INSERT/UPDATE …) run by the same statement as the transfer, one round
   * trip in all (a submit's Task row). They do not wait for the guards: a refused transfer throws,
   * and the caller's transaction or savepoint rolls them back with it.
   */
  alongside?: Prisma.Sql[];
  /** One more such statement, with a RETURNING clause: its rows come back as `TransferResult.rows` (JSON). */
  returning?: Prisma.Sql;
  /**
   * CTEs the statement opens with (`name AS (…), …`, no trailing comma), which `when`, `alongside`
   * and `returning` may read: a result's own writes and reads, one round trip with its settlement.
   */
  leading?: Prisma.Sql;
  /**
   * A condition (SQL, may read `leading`'s CTEs) the transfer moves money only under: when false,
   * no Account row is locked or moved, no entry written, and the result says `skipped`. The
   * `alongside` and `returning` statements must test it themselves.
   */
  when?: Prisma.Sql;
  /**
   * A refused guard aborts the statement (an error, so PostgreSQL writes none of it, `leading` and
   * `alongside` included) instead of answering: all or nothing even outside a transaction, as a
   * statement committed by itself (db/group-commit.ts LeadKind.autocommit) must be. postTransfer
   * then throws TransfersRefused, without saying why (the usual run, in a transaction, tells).
   */
  refusalAborts?: true;
}

export interface StorageCharge {
  accountId: string;
  bytes: bigint;
  /** The most `storageBytes` may hold after the charge. */
  quota: bigint;
  /** The error when the charge would pass the quota, given the bytes already used. */
  refused(usedBytes: bigint): StunError;
}

export interface TransferResult {
  txId: string;
  /** `TransferInput.when` was false: nothing moved. */
  skipped?: true;
  /** The rows of `TransferInput.returning`, as JSON gives them. */
  rows?: unknown[];
}

/** A transfer checked and netted per account column, ready for its statement. */
interface PreparedTransfer {
  txId: string;
  input: TransferInput;
  /** The legs that move money (zero-amount legs dropped). */
  legs: LedgerLeg[];
  /** Net delta per Account row and column. */
  deltas: Map<string, Map<BalanceColumn, bigint>>;
}

/** Checks a transfer (non-empty, balanced; a storage charge on a moved account) and nets its legs per Account row. */
function prepareTransfer(input: TransferInput): PreparedTransfer {
  if (input.entries.length === 0) throw new StunError("VALIDATION_FAILED", "a ledger transfer needs entries");
  let sum = 0n;
  for (const leg of input.entries) sum += leg.amount;
  if (sum !== 0n) throw new StunError("VALIDATION_FAILED", `ledger transfer does not balance (sum ${sum})`);

  const legs = input.entries.filter((leg) => leg.amount !== 0n);
  const deltas = new Map<string, Map<BalanceColumn, bigint>>();
  for (const leg of legs) {
    const parsed = parseLedgerAccount(leg.account);
    if (parsed.type !== "account") continue;
    const cols = deltas.get(parsed.accountId) ?? new Map<BalanceColumn, bigint>();
    const col = BUCKET_COLUMN[parsed.bucket];
    cols.set(col, (cols.get(col) ?? 0n) + leg.amount);
    deltas.set(parsed.accountId, cols);
  }
  if (input.storage && !deltas.has(input.storage.accountId)) throw new StunError("INTERNAL", "a storage charge must go to an account the transfer moves");
  if (deltas.size === 0 && (input.alongside?.length || input.returning || input.leading || input.when)) {
    throw new StunError("INTERNAL", "statements alongside a transfer, and its conditions, need an account row to move");
  }
  return { txId: randomUUID(), input, legs, deltas };
}

/**
 * Posts a balanced transfer inside `tx`. Zero-amount legs are dropped (but at least one leg must be
 * given). Throws VALIDATION_FAILED when unbalanced, NOT_FOUND when an `acct:` account has no row,
 * INSUFFICIENT_FUNDS when a cached column would go negative (the whole database transaction must
 * then be rolled back by the caller, which `prisma.$transaction` does when the error propagates).
 */
export async function postTransfer(tx: SqlClient, input: TransferInput): Promise<TransferResult> {
  const t = prepareTransfer(input);
  if (t.deltas.size === 0) {
    if (t.legs.length > 0) await insertEntries(tx, t);
    return { txId: t.txId };
  }
  const moved = await applyTransfers(tx, [t]).catch((err: unknown) => {
    throw isAbortedRefusal(err) ? new TransfersRefused(1) : err;
  });
  if (!moved) return await explainRefusal(tx, [...t.deltas.keys()].sort(), t.deltas, input.storage);
  if (moved.skipped) return { txId: t.txId, skipped: true, rows: moved.rows };
  return input.returning ? { txId: t.txId, rows: moved.rows } : { txId: t.txId };
}

/**
 * Several transfers in one statement (a group commit's submits: ledger leads in db/group-commit.ts),
 * all or none: the rows each moves are locked once, in id order, and each column is guarded against
 * the sum of every transfer's decrease and of every increase — as if each ran in turn, in the worst
 * order. Each keeps its own ledger transaction (txId, kind, task). Throws TransfersRefused when any
 * guard refuses (the caller rolls back and posts them one by one to learn which, and why),
 * and INTERNAL for a transfer that moves no Account row or asks for rows back (`returning`): post
 * those alone.
 */
export async function postTransfers(tx: SqlClient, inputs: readonly TransferInput[]): Promise<void> {
  const ts = inputs.map(prepareTransfer);
  if (ts.some((t) => t.deltas.size === 0 || t.input.returning || t.input.leading || t.input.when)) {
    throw new StunError("INTERNAL", "transfers posted together each move an Account row, return no rows and go unconditionally");
  }
  if (!(await applyTransfers(tx, ts))) throw new TransfersRefused(ts.length);
}

/** Transfers as group-commit leads (db/group-commit.ts): a batch's submits' holds, one statement. */
export const transferLeads: LeadKind<TransferInput, unknown> = {
  one: postTransfer,
  many: async (tx, inputs) => {
    await postTransfers(tx, inputs);
    return inputs.map(() => undefined);
  },
};

/** postTransfers' refusal: some transfer's guard failed; posted alone, each says whether it was that one, and why. Never a caller's answer. */
export class TransfersRefused extends Error {
  constructor(n: number) {
    super(`one of ${n} transfers posted together was refused`);
    this.name = "TransfersRefused";
  }
}

/** The legs' entries, each with its transfer's txId, kind and task: the entry insert's parameters (amounts as decimal text: exact, cast in SQL). */
function entryParams(ts: PreparedTransfer[]) {
  const legs = ts.flatMap((t) => t.legs.map((leg) => ({ leg, t })));
  return {
    accounts: legs.map(({ leg }) => leg.account),
    amounts: legs.map(({ leg }) => leg.amount.toString()),
    txIds: legs.map(({ t }) => t.txId),
    kinds: legs.map(({ t }) => t.input.kind),
    taskIds: legs.map(({ t }) => t.input.taskId ?? null),
  };
}

/** The transfers' entries from the legs' arrays (a SELECT for INSERT INTO "LedgerEntry"). */
function entriesSelect(ts: PreparedTransfer[]): Prisma.Sql {
  const { accounts, amounts, txIds, kinds, taskIds } = entryParams(ts);
  return Prisma.sql`
      SELECT e."txId", e.account, e.amount::bigint, e.kind, e."taskId", ${new Date()}
      FROM unnest(${accounts}::text[], ${amounts}::text[], ${txIds}::text[], ${kinds}::text[], ${taskIds}::text[])
        WITH ORDINALITY AS e(account, amount, "txId", kind, "taskId", n)`;
}

/** The legs' entries alone: a transfer between system accounts, where no Account row moves. */
async function insertEntries(tx: SqlClient, t: PreparedTransfer): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO "LedgerEntry" ("txId", "account", "amount", "kind", "taskId", "createdAt")
    ${entriesSelect([t])}
    ORDER BY e.n`;
}

/** What each Account row's guarded update moves, summed over the transfers: net deltas, and the worst-order decreases and increases its guards check. */
function rowMoves(ts: PreparedTransfer[]) {
  const rows = new Map<string, Record<BalanceColumn | "storage", { delta: bigint; down: bigint; up: bigint }> & { quota: bigint }>();
  const zero = () => ({ delta: 0n, down: 0n, up: 0n });
  for (const t of ts) {
    for (const [id, cols] of t.deltas) {
      const r = rows.get(id) ?? { balance: zero(), escrow: zero(), stake: zero(), storage: zero(), quota: INT64_MAX };
      for (const [col, d] of cols) {
        r[col].delta += d;
        if (d < 0n) r[col].down -= d;
        else r[col].up += d;
      }
      const charge = t.input.storage?.accountId === id ? t.input.storage : undefined;
      if (charge) {
        r.storage.up += charge.bytes;
        if (charge.quota < r.quota) r.quota = charge.quota;
      }
      rows.set(id, r);
    }
  }
  return rows;
}

/**
 * The CTEs `{prefix}locked` and `{prefix}moved` of a transfer statement: the Account rows of its CTE
 * `{prefix}d` — per row the deltas (db, de, ds), what the worst order needs (nb, ne, ns) and leaves
 * room for (rb, re, rs), and a storage charge (sb) under its bound (sr) — locked in id order where
 * `going`, then moved under those guards. `{prefix}moved` returns the rows that passed.
 */
const lockedAndMoved = (prefix: string, going: Prisma.Sql): Prisma.Sql => {
  const [d, locked, moved] = ["d", "locked", "moved"].map((name) => Prisma.raw(`${prefix}${name}`));
  return Prisma.sql`
    ${locked} AS (SELECT a.id FROM "Account" a WHERE a.id IN (SELECT id FROM ${d}) AND ${going} ORDER BY a.id FOR NO KEY UPDATE),
    ${moved} AS (
      UPDATE "Account" a SET "balance" = a."balance" + d.db, "escrow" = a."escrow" + d.de, "stake" = a."stake" + d.ds,
                             "storageBytes" = a."storageBytes" + d.sb
      FROM ${d} d
      WHERE a.id = d.id AND a.id IN (SELECT id FROM ${locked})
        AND a."balance" >= d.nb AND a."balance" <= d.rb AND a."escrow" >= d.ne AND a."escrow" <= d.re AND a."stake" >= d.ns AND a."stake" <= d.rs
        AND a."storageBytes" <= d.sr
      RETURNING a.id
    )`;
};

/**
 * The transfers in one statement (each runs on every submit and settlement, where each statement
 * is a round trip): the Account rows are locked in id order (concurrent transfers never deadlock),
 * each moved by its deltas under guards — `col >= need` for every decreasing column and
 * `col <= room` (INT64_MAX − increase) for every increasing one, computed here so the SQL never
 * overflows — and the entries are written only when every row passed its guards. On PostgreSQL a
 * concurrent writer of a row waits and re-checks the guards against the committed value, so two
 * holds can never overdraw together. Undefined when a row failed its guards: the statement wrote
 * no entries (its `alongside` statements did: the caller rolls its transaction back).
 */
async function applyTransfers(tx: SqlClient, ts: PreparedTransfer[]): Promise<{ rows: unknown[]; skipped?: true } | undefined> {
  const moves = rowMoves(ts);
  const ids = [...moves.keys()].sort();
  const col = (f: (m: NonNullable<ReturnType<typeof moves.get>>) => bigint) => ids.map((id) => f(moves.get(id)!).toString());
  const delta = (c: BalanceColumn) => col((m) => m[c].delta);
  const need = (c: BalanceColumn) => col((m) => m[c].down);
  const room = (c: BalanceColumn) => col((m) => INT64_MAX - m[c].up);
  const { returning, leading, when, refusalAborts } = ts.length === 1 ? ts[0]!.input : {};
  const going = when ?? Prisma.sql`TRUE`;
  const alongside = ts.flatMap((t) => t.input.alongside ?? []).map((statement, i) => Prisma.sql`, ${Prisma.raw(`alongside_${i}`)} AS (${statement})`);
  if (returning) alongside.push(Prisma.sql`, alongside_rows AS (${returning})`);
  const [row] = await tx.$queryRaw<Array<{ updated: number; went: boolean; rows?: unknown[] | string | null }>>`
    WITH ${leading ? Prisma.sql`${leading},` : Prisma.empty} d AS (
      SELECT * FROM unnest(${ids}::text[], ${delta("balance")}::bigint[], ${delta("escrow")}::bigint[], ${delta("stake")}::bigint[],
                           ${need("balance")}::bigint[], ${need("escrow")}::bigint[], ${need("stake")}::bigint[],
                           ${room("balance")}::bigint[], ${room("escrow")}::bigint[], ${room("stake")}::bigint[],
                           ${col((m) => m.storage.up)}::bigint[], ${col((m) => m.quota - m.storage.up)}::bigint[])
        AS d(id, db, de, ds, nb, ne, ns, rb, re, rs, sb, sr)
    ),
    ${lockedAndMoved("", going)},
    entries AS (
      INSERT INTO "LedgerEntry" ("txId", "account", "amount", "kind", "taskId", "createdAt")
      ${entriesSelect(ts)}
      WHERE (SELECT count(*) FROM moved) = ${ids.length}
      ORDER BY e.n
    )${alongside.length > 0 ? Prisma.join(alongside, "") : Prisma.empty}
    SELECT (SELECT count(*) FROM moved)::int AS updated, ${going} AS went${returning ? Prisma.sql`, (SELECT json_agg(r) FROM alongside_rows r) AS rows` : Prisma.empty}
           ${refusalAborts ? Prisma.sql`, ${abortUnless(Prisma.sql`NOT ${going} OR (SELECT count(*) FROM moved) = ${ids.length}`)} AS passed` : Prisma.empty}`;
  const rows = jsonRows(row?.rows);
  if (row?.went === false) return { rows, skipped: true };
  if (Number(row?.updated) !== ids.length) return undefined;
  return { rows };
}

/**
 * Transfers each of which moves money only if its statement says it goes (several results settled
 * alone by one statement: qa/settle-alone.ts), as CTEs for that statement to open with its own:
 * `going` is a CTE of theirs whose column `n` holds the 1-based positions of the transfers that go.
 * The going legs' deltas are summed per Account row, the rows locked in id order and moved under
 * postTransfers' guards (every decrease and every increase, as if each ran in turn in the worst
 * order), and their entries written only when every row passed — `moved`, a condition the
 * statement must return and its caller check: where it is false, nothing moved and no entry was
 * written, but the statement's own writes were, and the caller's transaction must be rolled back
 * (TransfersRefused). Each transfer keeps its ledger transaction (txId, kind, task). Only plain
 * transfers: no storage charge, statements or conditions of their own.
 */
export function transfersGoing(inputs: readonly TransferInput[], going: Prisma.Sql): { ctes: Prisma.Sql; moved: Prisma.Sql } {
  const ts = inputs.map(prepareTransfer);
  if (ts.some(({ input: i }) => i.storage || i.alongside || i.returning || i.leading || i.when)) {
    throw new StunError("INTERNAL", "transfers that go by their statement's condition are plain: no storage charge, statements or conditions of their own");
  }
  const legs = ts.flatMap((t, i) => t.legs.map((leg) => ({ leg, n: i + 1, parsed: parseLedgerAccount(leg.account) })));
  const { accounts, amounts, txIds, kinds, taskIds } = entryParams(ts);
  const rowIds = legs.map(({ parsed }) => (parsed.type === "account" ? parsed.accountId : null));
  const cols = legs.map(({ parsed }) => (parsed.type === "account" ? BUCKET_COLUMN[parsed.bucket] : null));
  // Per row, as applyTransfers' `d` has them: deltas (db, de, ds), worst-order needs (nb…) and rooms (rb…); no storage charge.
  const sums = (["balance", "escrow", "stake"] as const).map(
    (c) => Prisma.sql`
        coalesce(sum(amount) FILTER (WHERE col = ${c}), 0) AS ${Prisma.raw(`d${c[0]}`)},
        coalesce(sum(-amount) FILTER (WHERE col = ${c} AND amount < 0), 0) AS ${Prisma.raw(`n${c[0]}`)},
        ${INT64_MAX}::bigint - coalesce(sum(amount) FILTER (WHERE col = ${c} AND amount > 0), 0) AS ${Prisma.raw(`r${c[0]}`)}`,
  );
  const ctes = Prisma.sql`
    transfer_legs AS (
      SELECT l.* FROM unnest(${legs.map((l) => l.n)}::int[], ${accounts}::text[], ${amounts}::bigint[], ${txIds}::text[], ${kinds}::text[],
                             ${taskIds}::text[], ${rowIds}::text[], ${cols}::text[])
        WITH ORDINALITY AS l(n, account, amount, "txId", kind, "taskId", "rowId", col, ord)
      WHERE l.n IN (SELECT n FROM ${going})
    ),
    transfer_d AS (
      SELECT "rowId" AS id, ${Prisma.join(sums, ",")}, 0::bigint AS sb, ${INT64_MAX}::bigint AS sr
      FROM transfer_legs WHERE "rowId" IS NOT NULL GROUP BY "rowId"
    ),
    ${lockedAndMoved("transfer_", Prisma.sql`TRUE`)},
    transfer_entries AS (
      INSERT INTO "LedgerEntry" ("txId", "account", "amount", "kind", "taskId", "createdAt")
      SELECT "txId", account, amount, kind, "taskId", ${new Date()} FROM transfer_legs
      WHERE (SELECT count(*) FROM transfer_moved) = (SELECT count(*) FROM transfer_d)
      ORDER BY ord
    )`;
  return { ctes, moved: Prisma.sql`(SELECT count(*) FROM transfer_moved) = (SELECT count(*) FROM transfer_d)` };
}

/** What a refused transfer's aborted statement says (refusalAborts): the text a cast to boolean fails on. */
const REFUSAL_MARK = "stun: transfer refused";

/**
 * True where `condition` holds; else the statement fails (22P02, "invalid input syntax for type
 * boolean") on a cast PostgreSQL cannot fold ahead of time (it reads applyTransfers' CTE `moved`,
 * whose count the message gives), so nothing the statement wrote stays. SQL has no RAISE; this is
 * the plain-SQL way to abort a statement.
 */
const abortUnless = (condition: Prisma.Sql): Prisma.Sql =>
  Prisma.sql`CASE WHEN ${condition} THEN true ELSE (${Prisma.raw(`'${REFUSAL_MARK}'`)} || ' (' || (SELECT count(*) FROM moved) || ' rows passed)')::boolean END`;

/** Whether `err` is a statement aborted by abortUnless. */
function isAbortedRefusal(err: unknown): boolean {
  const cause = driverErrorCause(err);
  return cause?.originalCode === "22P02" && (cause.originalMessage ?? "").includes(REFUSAL_MARK);
}

/** Why a transfer's guards refused it: NOT_FOUND, AMOUNT_OUT_OF_RANGE, INSUFFICIENT_FUNDS or the storage charge's error, for the first account that fails. */
async function explainRefusal(tx: SqlClient, ids: string[], deltas: Map<string, Map<BalanceColumn, bigint>>, storage: StorageCharge | undefined): Promise<never> {
  for (const accountId of ids) {
    const cols = deltas.get(accountId)!;
    const [row] = await tx.$queryRaw<Array<Record<BalanceColumn, bigint> & { storageBytes: bigint }>>`
      SELECT balance, escrow, stake, "storageBytes" FROM "Account" WHERE id = ${accountId}`;
    if (!row) throw new StunError("NOT_FOUND", `account ${accountId} not found`);
    const over = [...cols].find(([col, d]) => d > 0n && row[col] > INT64_MAX - d);
    if (over) {
      throw new StunError("AMOUNT_OUT_OF_RANGE", `account ${accountId}'s ${over[0]} of ${row[over[0]]} cannot grow by ${over[1]}: the ledger holds at most ${INT64_MAX}`, {
        accountId,
        column: over[0],
      });
    }
    const short = [...cols].find(([col, d]) => d < 0n && row[col] < -d);
    if (short) {
      const [col, d] = short;
      throw new StunError("INSUFFICIENT_FUNDS", `account ${accountId} has ${col === "balance" ? "a balance" : col === "escrow" ? "escrow" : "a stake"} of ${row[col]}, ` + `${-d} needed`, {
        accountId,
        column: col,
        have: row[col].toString(),
        need: (-d).toString(),
      });
    }
    if (storage?.accountId === accountId && row.storageBytes > storage.quota - storage.bytes) throw storage.refused(row.storageBytes);
  }
  throw new StunError("INTERNAL", "a ledger transfer's guards refused it, but no account is short");
}
