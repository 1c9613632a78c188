/**
 * Stake conservation across the ledger and the chain (docs/CHAIN.md "Stake on chain"), read at the
 * stake watcher's cursor block (what the server has processed; later blocks are not its view yet):
 *
 * 1. per staking wallet: Staking.stakeOf (active + unbonding) − the server's slashes not yet executed
 *    by that block = the server's count (`ChainStaker` active + unbonding − overdrawn);
 * 2. per account: the ledger's on-chain-stake mirror in its stake (Σ entries of kinds chain_stake,
 *    chain_unstake, chain_stake_slashed, chain_stake_unlinked on `acct:<id>:stake`, less the on-chain parts of QA slashes,
 *    `ChainSlash.amount`) = Σ `ChainStaker.active` of its wallets;
 * 3. ledger-wide: −balance(`system:chain_stake`) = Σ active of linked wallets;
 * 4. slashed: Σ `ProviderSlashed.slashed` on chain up to the block = Σ the server counts as slashed
 *    by then.
 * Returns the violations (one line each) and the totals; no violations: the books agree.
 */
import { type Address, getAddress } from "viem";
import { computeMarketplaceAbi, stakingAbi } from "@stun/contracts";
import type { AppContext } from "../context";
import { SYSTEM_CHAIN_STAKE, getLedgerBalance } from "../ledger";
import type { ChainClients } from "./clients";
import type { ChainConfig } from "./config";
import { readBlockCursor } from "./cursor";
import { readStaking } from "./stake-watcher";

export interface StakeConservation {
  /** The block the chain was read at (the stake watcher's cursor). */
  blockNumber: bigint;
  wallets: number;
  /** Σ active + unbonding on chain for the wallets the server knows. */
  onChain: bigint;
  /** Σ active the ledger counts (linked wallets). */
  counted: bigint;
  slashedOnChain: bigint;
  slashedCounted: bigint;
  violations: string[];
}

const MIRROR_KINDS = ["chain_stake", "chain_unstake", "chain_stake_slashed", "chain_stake_unlinked"];

export async function checkStakeConservation(app: AppContext, cfg: ChainConfig, clients: ChainClients): Promise<StakeConservation> {
  const prisma = app.db.prisma;
  const { publicClient } = clients;
  const { staking } = await readStaking(clients, cfg.marketplace);
  const cursor = await readBlockCursor(prisma, `stake:${cfg.chainId}:${staking.toLowerCase()}`, cfg.startBlock);
  const at = cursor.blockNumber;
  const violations: string[] = [];
  const result: StakeConservation = { blockNumber: at, wallets: 0, onChain: 0n, counted: 0n, slashedOnChain: 0n, slashedCounted: 0n, violations };
  if (at < cfg.startBlock) return result;

  const stakers = await prisma.chainStaker.findMany({ where: { chainId: cfg.chainId }, orderBy: { wallet: "asc" } });
  const slashes = await prisma.chainSlash.findMany({ where: { chainId: cfg.chainId, status: { in: ["pending", "submitted", "confirmed"] } } });
  // Ordered by the server but not executed by block `at`: counted as gone already.
  const inflight = new Map<string, bigint>();
  let executedLater = 0n;
  for (const s of slashes) {
    const later = s.status === "confirmed" && s.blockNumber !== null && s.blockNumber > at;
    if (s.status !== "confirmed") inflight.set(s.wallet, (inflight.get(s.wallet) ?? 0n) + s.amount);
    else if (later) {
      inflight.set(s.wallet, (inflight.get(s.wallet) ?? 0n) + (s.slashed ?? 0n));
      executedLater += s.slashed ?? 0n;
    }
  }

  // 1. per wallet
  for (const st of stakers) {
    const onChain = await publicClient.readContract({ address: staking, abi: stakingAbi, functionName: "stakeOf", args: [getAddress(st.wallet) as Address], blockNumber: at });
    const total = onChain.staked + onChain.unbonding;
    const expected = st.active + st.unbonding - st.overdrawn;
    const pending = inflight.get(st.wallet) ?? 0n;
    result.wallets++;
    result.onChain += total;
    if (st.accountId) result.counted += st.active;
    if (total - pending !== expected) {
      violations.push(
        `wallet ${st.wallet}${st.accountId ? ` (account ${st.accountId})` : ""}: on chain ${total} (active ${onChain.staked} + unbonding ${onChain.unbonding}) − ${pending} in flight ≠ counted ${expected} (active ${st.active} + unbonding ${st.unbonding} − overdrawn ${st.overdrawn})`,
      );
    }
  }

  // 2. per account: the ledger's mirror in its stake
  const mirrors = await prisma.$queryRaw<Array<{ accountId: string; mirror: string; active: string }>>`
    WITH counted AS (
      SELECT "accountId", SUM(active) AS active FROM "ChainStaker" WHERE "accountId" IS NOT NULL GROUP BY "accountId"
    ), entries AS (
      SELECT substring(account FROM 6 FOR length(account) - 11) AS "accountId", SUM(amount) AS amount
      FROM "LedgerEntry" WHERE kind = ANY(${MIRROR_KINDS}::text[]) AND account LIKE 'acct:%:stake' GROUP BY account
    ), sliced AS (
      SELECT "accountId", SUM(amount) AS amount FROM "ChainSlash" WHERE status <> 'failed' GROUP BY "accountId"
    )
    SELECT ids."accountId", (COALESCE(e.amount, 0) - COALESCE(s.amount, 0))::text AS mirror, COALESCE(c.active, 0)::text AS active
    FROM (SELECT "accountId" FROM counted UNION SELECT "accountId" FROM entries UNION SELECT "accountId" FROM sliced) ids
    LEFT JOIN counted c ON c."accountId" = ids."accountId"
    LEFT JOIN entries e ON e."accountId" = ids."accountId"
    LEFT JOIN sliced s ON s."accountId" = ids."accountId"`;
  for (const m of mirrors) {
    if (BigInt(m.mirror) !== BigInt(m.active)) violations.push(`account ${m.accountId}: the ledger's on-chain-stake mirror is ${m.mirror}, the chain count ${m.active}`);
  }

  // 3. ledger-wide
  const pool = -(await getLedgerBalance(app.db, SYSTEM_CHAIN_STAKE));
  if (pool !== result.counted) violations.push(`−balance(${SYSTEM_CHAIN_STAKE}) is ${pool}, Σ counted on-chain stake ${result.counted}`);

  // 4. slashed
  for (let from = cfg.startBlock; from <= at; from += cfg.logRange) {
    const to = from + cfg.logRange - 1n < at ? from + cfg.logRange - 1n : at;
    const logs = await publicClient.getContractEvents({ address: cfg.marketplace, abi: computeMarketplaceAbi, eventName: "ProviderSlashed", fromBlock: from, toBlock: to, strict: true });
    for (const l of logs) result.slashedOnChain += l.args.slashed;
  }
  result.slashedCounted = stakers.reduce((sum, s) => sum + s.slashed, 0n) - executedLater;
  if (result.slashedOnChain !== result.slashedCounted) violations.push(`slashed on chain ${result.slashedOnChain}, counted ${result.slashedCounted}`);
  return result;
}
