/**
 * postTransfer: the one primitive every money movement goes through. Writes one ledger
 * transaction (entries sharing a txId, summing to zero) and moves the cached Account columns in the
 * same database transaction, with a guard that no cached column ever goes below zero.
 */
import { randomUUID } from "node:crypto";
import { INT64_MAX, StunError } from "@stun/shared";
import type { Tx } from "../db/database";
import { Prisma } from "../db/generated/client";
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
  /** The rows of `TransferInput.returning`, as JSON gives them. */
  rows?: unknown[];
}

/**
 * Posts a balanced transfer inside `tx`. Zero-amount legs are dropped (but at least one leg must be
 * given). Throws VALIDATION_FAILED when unbalanced, NOT_FOUND when an `acct:` account has no row,
 * INSUFFICIENT_FUNDS when a cached column would go negative (the whole database transaction must
 * then be rolled back by the caller, which `prisma.$transaction` does when the error propagates).
 */
export async function postTransfer(tx: Tx, input: TransferInput): Promise<TransferResult> {
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

  const txId = randomUUID();
  const ids = [...deltas.keys()].sort();
  if (input.storage && !deltas.has(input.storage.accountId)) throw new StunError("INTERNAL", "a storage charge must go to an account the transfer moves");
  if (ids.length > 0) {
    const rows = await applyTransfer(tx, txId, input, legs, ids, deltas);
    return rows ? { txId, rows } : { txId };
  }
  if (input.alongside?.length || input.returning) throw new StunError("INTERNAL", "statements alongside a transfer need an account row to move");
  if (legs.length > 0) await insertEntries(tx, txId, input, legs);
  return { txId };
}

/** The legs as the entry insert's parameters: amounts travel as decimal text (exact), cast in SQL. */
const entryParams = (legs: LedgerLeg[]) => ({ accounts: legs.map((leg) => leg.account), amounts: legs.map((leg) => leg.amount.toString()) });

/** The legs' entries alone: a transfer between system accounts, where no Account row moves. */
async function insertEntries(tx: Tx, txId: string, input: TransferInput, legs: LedgerLeg[]): Promise<void> {
  const { accounts, amounts } = entryParams(legs);
  await tx.$executeRaw`
    INSERT INTO "LedgerEntry" ("txId", "account", "amount", "kind", "taskId", "createdAt")
    SELECT ${txId}, e.account, e.amount::bigint, ${input.kind}, ${input.taskId ?? null}, ${new Date()}
    FROM unnest(${accounts}::text[], ${amounts}::text[]) WITH ORDINALITY AS e(account, amount, n)
    ORDER BY e.n`;
}

/**
 * The whole transfer in one statement (it runs on every submit and settlement, where each statement
 * is a round trip): the Account rows are locked in id order (concurrent transfers never deadlock),
 * each moved by its deltas under guards — `col >= need` for every decreasing column and
 * `col <= room` (INT64_MAX − delta) for every increasing one, computed here so the SQL never
 * overflows — and the entries are written only when every row passed its guards. On PostgreSQL a
 * concurrent writer of a row waits and re-checks the guards against the committed value, so two
 * holds can never overdraw together. When a row fails its guard the statement writes no entries,
 * and the error says which account and column (the caller rolls its transaction back).
 */
async function applyTransfer(tx: Tx, txId: string, input: TransferInput, legs: LedgerLeg[], ids: string[], deltas: Map<string, Map<BalanceColumn, bigint>>): Promise<unknown[] | undefined> {
  const param = (col: BalanceColumn, f: (d: bigint) => bigint) => ids.map((id) => f(deltas.get(id)!.get(col) ?? 0n).toString());
  const delta = (col: BalanceColumn) => param(col, (d) => d);
  const need = (col: BalanceColumn) => param(col, (d) => (d < 0n ? -d : 0n));
  const room = (col: BalanceColumn) => param(col, (d) => (d > 0n ? INT64_MAX - d : INT64_MAX));
  const { storage } = input;
  const charged = (id: string) => (storage?.accountId === id ? storage : undefined);
  const storageDelta = ids.map((id) => (charged(id)?.bytes ?? 0n).toString());
  const storageRoom = ids.map((id) => {
    const c = charged(id);
    return (c ? c.quota - c.bytes : INT64_MAX).toString();
  });
  const { accounts, amounts } = entryParams(legs);
  const alongside = (input.alongside ?? []).map((statement, i) => Prisma.sql`, ${Prisma.raw(`alongside_${i}`)} AS (${statement})`);
  if (input.returning) alongside.push(Prisma.sql`, alongside_rows AS (${input.returning})`);
  const [row] = await tx.$queryRaw<Array<{ updated: number; rows?: unknown[] | string | null }>>`
    WITH d AS (
      SELECT * FROM unnest(${ids}::text[], ${delta("balance")}::bigint[], ${delta("escrow")}::bigint[], ${delta("stake")}::bigint[],
                           ${need("balance")}::bigint[], ${need("escrow")}::bigint[], ${need("stake")}::bigint[],
                           ${room("balance")}::bigint[], ${room("escrow")}::bigint[], ${room("stake")}::bigint[],
                           ${storageDelta}::bigint[], ${storageRoom}::bigint[])
        AS d(id, db, de, ds, nb, ne, ns, rb, re, rs, sb, sr)
    ),
    locked AS (SELECT a.id FROM "Account" a WHERE a.id IN (SELECT id FROM d) ORDER BY a.id FOR NO KEY UPDATE),
    moved AS (
      UPDATE "Account" a SET "balance" = a."balance" + d.db, "escrow" = a."escrow" + d.de, "stake" = a."stake" + d.ds,
                             "storageBytes" = a."storageBytes" + d.sb
      FROM d
      WHERE a.id = d.id AND a.id IN (SELECT id FROM locked)
        AND a."balance" >= d.nb AND a."balance" <= d.rb AND a."escrow" >= d.ne AND a."escrow" <= d.re AND a."stake" >= d.ns AND a."stake" <= d.rs
        AND a."storageBytes" <= d.sr
      RETURNING a.id
    ),
    entries AS (
      INSERT INTO "LedgerEntry" ("txId", "account", "amount", "kind", "taskId", "createdAt")
      SELECT ${txId}, e.account, e.amount::bigint, ${input.kind}, ${input.taskId ?? null}, ${new Date()}
      FROM unnest(${accounts}::text[], ${amounts}::text[]) WITH ORDINALITY AS e(account, amount, n)
      WHERE (SELECT count(*) FROM moved) = ${ids.length}
      ORDER BY e.n
    )${alongside.length > 0 ? Prisma.join(alongside, "") : Prisma.empty}
    SELECT (SELECT count(*) FROM moved)::int AS updated${input.returning ? Prisma.sql`, (SELECT json_agg(r) FROM alongside_rows r) AS rows` : Prisma.empty}`;
  if (Number(row?.updated) === ids.length) {
    if (!input.returning) return undefined;
    const rows = row?.rows;
    return typeof rows === "string" ? (JSON.parse(rows) as unknown[]) : (rows ?? []);
  }
  return await explainRefusal(tx, ids, deltas, storage);
}

/** Why a transfer's guards refused it: NOT_FOUND, AMOUNT_OUT_OF_RANGE, INSUFFICIENT_FUNDS or the storage charge's error, for the first account that fails. */
async function explainRefusal(tx: Tx, ids: string[], deltas: Map<string, Map<BalanceColumn, bigint>>, storage: StorageCharge | undefined): Promise<never> {
  for (const accountId of ids) {
    const cols = deltas.get(accountId)!;
    const row = await tx.account.findUnique({ where: { id: accountId } });
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
