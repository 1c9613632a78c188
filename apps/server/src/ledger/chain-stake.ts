/**
 * The ledger's side of on-chain stake (docs/CHAIN.md "Stake on chain"), database only, so that QA and
 * the stake service can use it below the chain adapter (chain/stake-watcher.ts counts the stake,
 * chain/slashes.ts executes the slashes queued here).
 */
import { zeroAddress } from "viem";
import { idToBytes32 } from "@stun/contracts";
import type { SqlClient } from "../db/database";
import { newId } from "../ids";
import { SYSTEM_CHAIN_STAKE, SYSTEM_TREASURY, available } from "./accounts";
import { clientOf, type DbLike } from "./db";
import { postTransfer, type LedgerLeg } from "./transfer";

/** The stake of `accountId` counted from the chain (Σ active of its linked wallets): its ledger stake that only the chain may move. */
export async function chainStakeCounted(db: DbLike, accountId: string): Promise<bigint> {
  const [row] = await clientOf(db).$queryRaw<Array<{ active: string }>>`
    SELECT COALESCE(SUM(active), 0)::text AS active FROM "ChainStaker" WHERE "accountId" = ${accountId}`;
  return BigInt(row?.active ?? "0");
}

/** What QA decided: `amount` taken from the provider's stake, `toRequester` of it owed to `requesterId`. */
export interface QaSlash {
  accountId: string;
  amount: bigint;
  toRequester: bigint;
  requesterId?: string;
  taskId?: string;
}

/**
 * The on-chain part of a QA slash, queued inside QA's result transaction right after the ledger
 * slash: taken first from what the chain counts for the provider (`ChainStaker.active`), up to the
 * slash. One `pending` `ChainSlash` per wallet (nonce: its row id as bytes32) with the ledger mirror
 * (kind `chain_slash`): `system:chain_stake` +S; the wronged requester −the share paid to its linked
 * wallet on chain; `system:treasury` −the rest (credited to the treasury on chain). Returns the
 * amount ordered on chain (0: the provider has no counted on-chain stake).
 */
export async function queueChainSlash(tx: SqlClient, s: QaSlash): Promise<bigint> {
  if (s.amount <= 0n) return 0n;
  const stakers = await tx.$queryRaw<Array<{ chainId: number; wallet: string; active: bigint }>>`
    SELECT "chainId", wallet, active FROM "ChainStaker" WHERE "accountId" = ${s.accountId} AND active > 0
    ORDER BY active DESC, wallet FOR UPDATE`;
  if (stakers.length === 0) return 0n;
  let requesterWallet: string | null = null;
  if (s.toRequester > 0n && s.requesterId) {
    const [r] = await tx.$queryRaw<Array<{ walletAddress: string | null }>>`SELECT "walletAddress" FROM "Account" WHERE id = ${s.requesterId}`;
    requesterWallet = r?.walletAddress ?? null;
  }
  let left = s.amount;
  let owed = requesterWallet ? s.toRequester : 0n;
  let ordered = 0n;
  for (const st of stakers) {
    if (left === 0n) break;
    const active = BigInt(st.active);
    const amount = left < active ? left : active;
    const toBeneficiary = owed < amount ? owed : amount;
    left -= amount;
    owed -= toBeneficiary;
    ordered += amount;
    const id = newId("csl");
    const legs: LedgerLeg[] = [{ account: SYSTEM_CHAIN_STAKE, amount }];
    if (toBeneficiary > 0n) legs.push({ account: available(s.requesterId!), amount: -toBeneficiary });
    legs.push({ account: SYSTEM_TREASURY, amount: -(amount - toBeneficiary) });
    const mirror = await postTransfer(tx, { kind: "chain_slash", ...(s.taskId ? { taskId: s.taskId } : {}), entries: legs });
    await tx.$executeRaw`UPDATE "ChainStaker" SET active = active - ${amount}, "updatedAt" = ${new Date()} WHERE "chainId" = ${st.chainId} AND wallet = ${st.wallet}`;
    const now = new Date();
    await tx.$executeRaw`
      INSERT INTO "ChainSlash" (id, "chainId", nonce, "accountId", wallet, "taskId", amount, beneficiary, "beneficiaryAccountId", "beneficiaryAmount",
                                status, "mirrorTxId", "createdAt", "updatedAt")
      VALUES (${id}, ${st.chainId}, ${idToBytes32(id).toLowerCase()}, ${s.accountId}, ${st.wallet}, ${s.taskId ?? null}, ${amount},
              ${toBeneficiary > 0n ? requesterWallet! : zeroAddress}, ${toBeneficiary > 0n ? s.requesterId! : null}, ${toBeneficiary},
              'pending', ${mirror.txId}, ${now}, ${now})`;
  }
  return ordered;
}
