/**
 * Per-account storage quota (ACCOUNT_STORAGE_QUOTA_BYTES). `Account.storageBytes` counts what the
 * account stores: each model it uploaded first (its size) and each of its tasks' inputs until
 * retention purges them (retention.ts). Dedup on disk does not change the charge: every task is
 * charged its own input even when identical bytes are already stored, so an account's usage never
 * depends on (or reveals) what other accounts store. A re-upload of an existing model stores
 * nothing and is free.
 */
import { StunError } from "@stun/shared";
import type { AppContext } from "../context";
import { rawSql, type SqlClient } from "../db/database";
import type { StorageCharge } from "../ledger";

export interface StorageUsage {
  usedBytes: bigint;
  quotaBytes: bigint;
}

/** An account's usage against its quota: a hot statement (every submit whose input is stored as a blob reads it), raw SQL on the driver directly. */
export async function storageUsage(app: AppContext, accountId: string): Promise<StorageUsage> {
  const [row] = await rawSql(app.db).$queryRaw<Array<{ storageBytes: bigint }>>`SELECT "storageBytes" FROM "Account" WHERE id = ${accountId}`;
  return { usedBytes: row?.storageBytes ?? 0n, quotaBytes: app.config.ACCOUNT_STORAGE_QUOTA_BYTES };
}

function quotaExceeded(what: string, adding: bigint, usage: StorageUsage): StunError {
  return new StunError(
    "STORAGE_QUOTA",
    `${what} of ${adding} bytes would exceed this account's storage quota: ${usage.usedBytes} of ${usage.quotaBytes} bytes used ` +
      `(finished tasks' inputs are freed after retention, or at once with DELETE /api/v1/tasks/:id/data)`,
    { usedBytes: usage.usedBytes.toString(), quotaBytes: usage.quotaBytes.toString(), requestedBytes: adding.toString() },
  );
}

/** A cheap check before any bytes are written: refuses what cannot fit now (chargeStorage decides). */
export async function assertStorageRoom(app: AppContext, accountId: string, adding: number, what: string): Promise<void> {
  const usage = await storageUsage(app, accountId);
  if (usage.usedBytes + BigInt(adding) > usage.quotaBytes) throw quotaExceeded(what, BigInt(adding), usage);
}

/** `adding` bytes charged to the account with a ledger transfer (a submit's hold): the same guard as chargeStorage, in the transfer's statement. */
export function storageCharge(app: AppContext, accountId: string, adding: number, what: string): StorageCharge {
  const quotaBytes = app.config.ACCOUNT_STORAGE_QUOTA_BYTES;
  return { accountId, bytes: BigInt(adding), quota: quotaBytes, refused: (usedBytes) => quotaExceeded(what, BigInt(adding), { usedBytes, quotaBytes }) };
}

/**
 * Inside the transaction that stores the reference: adds `adding` bytes to the account's usage if
 * it stays within the quota (one conditional UPDATE, so concurrent submits never overshoot), else
 * throws STORAGE_QUOTA and the transaction rolls back.
 */
export async function chargeStorage(tx: SqlClient, app: AppContext, accountId: string, adding: number, what: string): Promise<void> {
  const quota = app.config.ACCOUNT_STORAGE_QUOTA_BYTES;
  const n = await tx.$executeRaw`
    UPDATE "Account" SET "storageBytes" = "storageBytes" + ${BigInt(adding)}
    WHERE id = ${accountId} AND "storageBytes" + ${BigInt(adding)} <= ${quota}`;
  if (n === 1) return;
  const [row] = await tx.$queryRaw<Array<{ storageBytes: bigint }>>`SELECT "storageBytes" FROM "Account" WHERE id = ${accountId}`;
  throw quotaExceeded(what, BigInt(adding), { usedBytes: row?.storageBytes ?? 0n, quotaBytes: quota });
}
