/**
 * Provider stake: an account moves funds between its balance and its stake. The dispatcher gives
 * paid work only to accounts whose stake covers `slashMultiple` × the prices of all their live
 * executions plus the new one (`stakeCovers` in qa/policy.ts), so an unstake may not take the stake
 * below what the live executions need (STAKE_LOCKED).
 */
import { StunError, type AccountView } from "@stun/shared";
import type { AppContext } from "../context";
import type { SqlClient } from "../db/database";
import { stake, unstake } from "../ledger";
import { chainStakeCounted } from "../ledger/chain-stake";
import { clientOf, type DbLike } from "../ledger/db";
import { DEFAULT_QA_POLICY } from "../qa/policy";
import { LIVE_STATUS_IN } from "../tasks/statuses";
import { accountView } from "./accounts";

/**
 * The stake the account's live executions hold: slashMultiple × Σ price of its providers'
 * assignments that are assigned or running (what a wrong result on each could cost).
 */
export async function liveStakeAtRisk(db: DbLike, accountId: string, slashMultiple: bigint = DEFAULT_QA_POLICY.slashMultiple): Promise<bigint> {
  const [row] = await clientOf(db).$queryRaw<{ atRisk: bigint | null }[]>`
    SELECT SUM(a.price) AS "atRisk"
    FROM "Assignment" a JOIN "Provider" p ON p.id = a."providerId"
    WHERE p."accountId" = ${accountId} AND a.status ${LIVE_STATUS_IN}`;
  return BigInt(row?.atRisk ?? 0) * slashMultiple;
}

function assertPositive(amount: bigint): void {
  if (amount <= 0n) throw new StunError("VALIDATION_FAILED", "amount must be positive");
}

/**
 * Locks the account row for the rest of `tx` and returns its balances (NOT_FOUND if none). FOR
 * UPDATE, the one mode that conflicts with a dispatcher claim's FOR KEY SHARE (qa/candidates.ts): a
 * stake change waits for the claims reading the stake, and they wait for it.
 */
async function lockAccount(tx: SqlClient, accountId: string): Promise<{ balance: bigint; stake: bigint }> {
  const [row] = await tx.$queryRaw<{ balance: bigint; stake: bigint }[]>`
    SELECT balance, stake FROM "Account" WHERE id = ${accountId} FOR UPDATE`;
  if (!row) throw new StunError("NOT_FOUND", `account ${accountId} not found`);
  return { balance: BigInt(row.balance), stake: BigInt(row.stake) };
}

/** balance → stake. INSUFFICIENT_FUNDS (402) when the balance is short. */
export async function stakeFunds(app: AppContext, accountId: string, amount: bigint): Promise<AccountView> {
  assertPositive(amount);
  await app.db.prisma.$transaction(async (tx) => {
    const { balance } = await lockAccount(tx, accountId);
    if (balance < amount) {
      throw new StunError("INSUFFICIENT_FUNDS", `your balance is ${balance}; cannot stake ${amount}`, { have: balance.toString(), need: amount.toString() });
    }
    await stake(tx, accountId, amount);
  });
  return accountView(app, accountId);
}

/**
 * stake → balance. INSUFFICIENT_FUNDS (402) when the stake is short; STAKE_LOCKED (409) when what
 * would stay staked no longer covers the account's live executions (`details.unlocked` is the most
 * that can be unstaked now). The account row is locked while the live executions are counted. Stake
 * counted from the chain (ledger/chain-stake.ts) cannot be unstaked here: it leaves through the Staking contract.
 */
export async function unstakeFunds(app: AppContext, accountId: string, amount: bigint): Promise<AccountView> {
  assertPositive(amount);
  await app.db.prisma.$transaction(async (tx) => {
    const { stake: staked } = await lockAccount(tx, accountId);
    // Stake counted from the chain leaves through the Staking contract only (requestUnstake).
    const onChain = await chainStakeCounted(tx, accountId);
    if (staked - onChain < amount) {
      throw new StunError("INSUFFICIENT_FUNDS", `your stake is ${staked}${onChain > 0n ? ` (${onChain} of it on chain, unstaked there)` : ""}; cannot unstake ${amount}`, {
        have: (staked - onChain).toString(),
        need: amount.toString(),
      });
    }
    const locked = await liveStakeAtRisk(tx, accountId, app.config.qa.slashMultiple);
    if (staked - amount < locked) {
      const unlocked = staked > locked ? staked - locked : 0n;
      throw new StunError("STAKE_LOCKED", `${locked} of your stake of ${staked} backs your providers' running executions; at most ${unlocked} can be unstaked now`, {
        stake: staked.toString(),
        locked: locked.toString(),
        unlocked: unlocked.toString(),
      });
    }
    await unstake(tx, accountId, amount);
  });
  return accountView(app, accountId);
}
