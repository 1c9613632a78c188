/**
 * Ledger account names. Every LedgerEntry names one:
 *
 * - `acct:<id>:available` → Account.balance (spendable)
 * - `acct:<id>:escrow`    → Account.escrow  (held for tasks in flight)
 * - `acct:<id>:stake`     → Account.stake   (provider stake)
 * - `system:treasury`     → the marketplace's 15% share and slashed stake
 * - `system:mint`         → source of faucet/deposit money: its balance is minus everything minted
 * - `system:chain`        → source of on-chain deposits (same role as mint)
 * - `system:chain_stake`  → source of on-chain stake counted in providers' stake (chain/stake-watcher.ts)
 *
 * System accounts have no Account row: their balance is the sum of their entries
 * (see getLedgerBalance). Only `acct:` accounts have cached columns.
 */
import { StunError } from "@stun/shared";

export type Bucket = "available" | "escrow" | "stake";

export const SYSTEM_TREASURY = "system:treasury";
export const SYSTEM_MINT = "system:mint";
export const SYSTEM_CHAIN = "system:chain";
export const SYSTEM_CHAIN_STAKE = "system:chain_stake";
export const SYSTEM_ACCOUNTS = [SYSTEM_TREASURY, SYSTEM_MINT, SYSTEM_CHAIN, SYSTEM_CHAIN_STAKE] as const;
export type SystemAccount = (typeof SYSTEM_ACCOUNTS)[number];

/** The Account column that caches each bucket. */
export const BUCKET_COLUMN = { available: "balance", escrow: "escrow", stake: "stake" } as const;
export type BalanceColumn = (typeof BUCKET_COLUMN)[Bucket];

export function ledgerAccount(accountId: string, bucket: Bucket): string {
  if (accountId === "" || accountId.includes(":")) {
    throw new StunError("VALIDATION_FAILED", `invalid account id for the ledger: ${JSON.stringify(accountId)}`);
  }
  return `acct:${accountId}:${bucket}`;
}

export const available = (accountId: string) => ledgerAccount(accountId, "available");
export const escrow = (accountId: string) => ledgerAccount(accountId, "escrow");
export const staked = (accountId: string) => ledgerAccount(accountId, "stake");

export type ParsedLedgerAccount = { type: "account"; accountId: string; bucket: Bucket } | { type: "system"; name: SystemAccount };

/** Parses a ledger account name; throws on anything not listed above. */
export function parseLedgerAccount(name: string): ParsedLedgerAccount {
  const m = /^acct:([^:]+):(available|escrow|stake)$/.exec(name);
  if (m) return { type: "account", accountId: m[1]!, bucket: m[2] as Bucket };
  if ((SYSTEM_ACCOUNTS as readonly string[]).includes(name)) return { type: "system", name: name as SystemAccount };
  throw new StunError("VALIDATION_FAILED", `unknown ledger account: ${JSON.stringify(name)}`);
}
