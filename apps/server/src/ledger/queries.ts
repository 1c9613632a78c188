/** Read side of the ledger: cached balances, a ledger account's balance, an account's entries. */
import { StunError } from "@stun/shared";
import type { LedgerEntry } from "../db/generated/client";
import { available, escrow, staked } from "./accounts";
import { clientOf, type DbLike } from "./db";

export interface Balances {
  balance: bigint;
  escrow: bigint;
  stake: bigint;
}

/** The cached columns of one Account. Throws NOT_FOUND for an unknown account. */
export async function getBalances(db: DbLike, accountId: string): Promise<Balances> {
  const row = await clientOf(db).account.findUnique({
    where: { id: accountId },
    select: { balance: true, escrow: true, stake: true },
  });
  if (!row) throw new StunError("NOT_FOUND", `account ${accountId} not found`);
  return row;
}

/** Σ of the entries of one ledger account (e.g. `system:treasury`). */
export async function getLedgerBalance(db: DbLike, account: string): Promise<bigint> {
  const agg = await clientOf(db).ledgerEntry.aggregate({ where: { account }, _sum: { amount: true } });
  return agg._sum.amount ?? 0n;
}

export interface ListEntriesOptions {
  /** Page size, 1…500. */
  limit: number;
  /** Only entries with id < before (pass the last id of the previous page). */
  before?: bigint;
}

/** Entries on the account's available/escrow/stake ledger accounts, newest first. */
export async function listEntries(db: DbLike, accountId: string, opts: ListEntriesOptions): Promise<LedgerEntry[]> {
  const limit = Math.max(1, Math.min(500, Math.floor(opts.limit)));
  return clientOf(db).ledgerEntry.findMany({
    where: {
      account: { in: [available(accountId), escrow(accountId), staked(accountId)] },
      ...(opts.before !== undefined ? { id: { lt: opts.before } } : {}),
    },
    orderBy: { id: "desc" },
    take: limit,
  });
}
