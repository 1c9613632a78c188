/**
 * postTransfer: the one primitive every money movement goes through. Writes one ledger
 * transaction (entries sharing a txId, summing to zero) and moves the cached Account columns in the
 * same database transaction, with a guard that no cached column ever goes below zero.
 */
import { randomUUID } from "node:crypto";
import { INT64_MAX, StunError } from "@stun/shared";
import { Prisma } from "../db/generated/client";
import type { Tx } from "../db/database";
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
}

export interface TransferResult {
  txId: string;
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

  // Sorted so concurrent transfers lock rows in one order (no deadlocks between them).
  for (const accountId of [...deltas.keys()].sort()) {
    await applyDeltas(tx, accountId, deltas.get(accountId)!);
  }

  const txId = randomUUID();
  if (legs.length > 0) {
    // One raw statement for all legs: this runs on every submit and settlement, where Prisma's
    // per-query overhead is most of the cost. Amounts travel as decimal text (exact), cast in SQL.
    const accounts = legs.map((leg) => leg.account);
    const amounts = legs.map((leg) => leg.amount.toString());
    await tx.$executeRaw`
      INSERT INTO "LedgerEntry" ("txId", "account", "amount", "kind", "taskId", "createdAt")
      SELECT ${txId}, e.account, e.amount::bigint, ${input.kind}, ${input.taskId ?? null}, ${new Date()}
      FROM unnest(${accounts}::text[], ${amounts}::text[]) WITH ORDINALITY AS e(account, amount, n)
      ORDER BY e.n`;
  }
  return { txId };
}

/**
 * One conditional UPDATE per account: `SET col = col + d … WHERE id = $1 AND col >= -d` for every
 * decreasing column and `col <= INT64_MAX - d` for every increasing one (so the sum never leaves
 * bigint: PostgreSQL would fail the statement, an INTERNAL error). On PostgreSQL a concurrent
 * writer of the same row waits and re-checks the condition against the committed value, so two
 * holds can never overdraw together. The guards compare, never add, so they cannot overflow.
 */
async function applyDeltas(tx: Tx, accountId: string, cols: Map<BalanceColumn, bigint>): Promise<void> {
  const delta = (col: BalanceColumn) => cols.get(col) ?? 0n;
  if (delta("balance") === 0n && delta("escrow") === 0n && delta("stake") === 0n) return;
  const guards = COLUMNS.map((col) => {
    const d = delta(col);
    const c = Prisma.raw(`"${col}"`);
    return d < 0n ? Prisma.sql`${c} >= ${-d}` : d > 0n ? Prisma.sql`${c} <= ${INT64_MAX - d}` : Prisma.sql`TRUE`;
  });
  // Raw SQL: this is on the submit and settlement paths.
  const count = await tx.$executeRaw`
    UPDATE "Account"
    SET "balance" = "balance" + ${delta("balance")}, "escrow" = "escrow" + ${delta("escrow")}, "stake" = "stake" + ${delta("stake")}
    WHERE "id" = ${accountId} AND ${Prisma.join(guards, " AND ")}`;
  if (count === 1) return;

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
  const [col, d] = short ?? [...cols][0]!;
  throw new StunError("INSUFFICIENT_FUNDS", `account ${accountId} has ${col === "balance" ? "a balance" : col === "escrow" ? "escrow" : "a stake"} of ${row[col]}, ` + `${-d} needed`, {
    accountId,
    column: col,
    have: row[col].toString(),
    need: (-d).toString(),
  });
}

const COLUMNS: readonly BalanceColumn[] = ["balance", "escrow", "stake"];
