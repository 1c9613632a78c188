/**
 * The chain adapter's view of the ledger.
 *
 * `system:chain` mirrors the marketplace contract's pool of Stun accounts' deposits: a deposit
 * credits `system:chain → acct:<id>:available`; every movement that takes value out of that pool on
 * chain (a task's payouts in `settleFromDeposits`, a `withdrawDeposit`) is mirrored by the receiving
 * ledger accounts paying it back to `system:chain`. So −balance(system:chain) = Σ of what the server
 * counts as still deposited on chain (in-flight settlements and withdrawals counted as gone).
 */
import type { SqlClient } from "../db/database";
import type { PrismaClient } from "../db/generated/client";
import { postTransfer } from "../ledger";

type Db = SqlClient | PrismaClient;

export interface ChainBalance {
  /** Σ credited deposits (ExternalDeposit, family evm; a deposit a reorg took away no longer counts). */
  deposited: bigint;
  /** Σ costs of tasks settled (or being settled) from the deposit; a disputed one is back in the deposit. */
  settled: bigint;
  /** Σ withdrawals (ExternalPayout, family evm; not failed). */
  withdrawn: bigint;
  /** What is left of the account's deposit on chain, as the server counts it. */
  available: bigint;
}

/** An account's on-chain deposit balance: what settleFromDeposits / withdrawDeposit may still take. */
export async function chainBalance(db: Db, chainId: number, accountId: string): Promise<ChainBalance> {
  const [row] = await db.$queryRaw<Array<{ deposited: string; settled: string; withdrawn: string }>>`
    SELECT
      (SELECT COALESCE(SUM(amount::numeric), 0)::text FROM "ExternalDeposit"
        WHERE family = 'evm' AND network = ${String(chainId)} AND "accountId" = ${accountId} AND status = 'credited') AS deposited,
      (SELECT COALESCE(SUM(amount), 0)::text FROM "ChainSettlement"
        WHERE "chainId" = ${chainId} AND "requesterId" = ${accountId} AND status NOT IN ('failed', 'offchain', 'disputed')) AS settled,
      (SELECT COALESCE(SUM(amount), 0)::text FROM "ExternalPayout"
        WHERE family = 'evm' AND network = ${String(chainId)} AND "accountId" = ${accountId} AND status <> 'failed') AS withdrawn`;
  const deposited = BigInt(row?.deposited ?? "0");
  const settled = BigInt(row?.settled ?? "0");
  const withdrawn = BigInt(row?.withdrawn ?? "0");
  return { deposited, settled, withdrawn, available: deposited - settled - withdrawn };
}

/** Posts the exact opposite of ledger transaction `txId` (kind `kind`): undoes a mirror that did not happen on chain. */
export async function reverseTransfer(tx: SqlClient, txId: string, kind: string, taskId?: string): Promise<string> {
  const legs = await tx.$queryRaw<Array<{ account: string; amount: bigint }>>`
    SELECT account, amount FROM "LedgerEntry" WHERE "txId" = ${txId} ORDER BY id`;
  if (legs.length === 0) throw new Error(`no ledger transaction ${txId} to reverse`);
  const { txId: reversal } = await postTransfer(tx, {
    kind,
    ...(taskId !== undefined ? { taskId } : {}),
    entries: legs.map((l) => ({ account: l.account, amount: -l.amount })),
  });
  return reversal;
}
