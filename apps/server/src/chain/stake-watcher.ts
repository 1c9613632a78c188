/**
 * StakeWatcher: mirrors providers' stake in the Staking contract into the ledger, each log exactly
 * once (docs/CHAIN.md "Stake on chain").
 *
 * - Only a Staking that takes the ledger token (CHAIN_TOKEN_ADDRESS; a deployment's
 *   `--stake-token ledger`) is mirrored, one token base unit per ledger unit. A STUN stake has no
 *   ledger price: the watcher then stays off and says so once.
 * - Reads Staking's ProviderRegistered / StakeAdded / UnstakeRequested / StakeWithdrawn and the
 *   marketplace's ProviderSlashed from a durable cursor (`ChainCursor` `stake:<chainId>:<staking>`) up
 *   to the last final block (CHAIN_CONFIRMATIONS, chains/evm/deposit-source.ts's rule and reorg
 *   rewind), in chain order. Each range is one database transaction: a `ChainStakeEvent` per log
 *   (unique on chainId, txHash, logIndex: a replayed log moves nothing), the `ChainStaker` row of the
 *   wallet, the ledger movement and the cursor.
 * - `ChainStaker.active` is what counts: for a wallet that is an account's linked wallet
 *   (Account.walletAddress) it is mirrored in that account's stake (`system:chain_stake →
 *   acct:<id>:stake`, kind `chain_stake`), so matching and stake checks (qa/policy.ts stakeCovers)
 *   see it like stake moved in from the balance. A wallet linked to no account is recorded (status
 *   `unlinked`) and not counted; once an account links it, its active stake is counted then. Stake
 *   follows its wallet: unlinked or re-linked, it leaves the account it counted for (followLinks).
 * - An unstake request moves the amount from `active` to `unbonding` and out of the ledger stake
 *   (kind `chain_unstake`): stake on its way out backs no new work, though the chain can still slash
 *   it. A withdrawal only lowers `unbonding`. A slash this server ordered (its nonce is a
 *   `ChainSlash` row) was mirrored when QA decided it (chain/slashes.ts); any other slash lowers
 *   `active` and then `unbonding` as the contract does (kind `chain_stake_slashed`).
 * - Unstake/ledger rules never let the ledger's own stake operations touch the mirrored part:
 *   services/stake.ts refuses to unstake below `chainStakeCounted` (ledger/chain-stake.ts).
 */
import { type Address, type Hex, type Log, getAddress, parseEventLogs } from "viem";
import { computeMarketplaceAbi, stakingAbi } from "@stun/contracts";
import type { AppContext } from "../context";
import type { SqlClient } from "../db/database";
import { newId } from "../ids";
import { SYSTEM_CHAIN_STAKE, postTransfer, staked } from "../ledger";
import { cursorBlockChanged, finalBlock, nextRange, rewindBlock } from "../chains/evm/deposit-source";
import type { ChainClients } from "./clients";
import type { ChainConfig } from "./config";
import { readBlockCursor, writeBlockCursor } from "./cursor";

const MAX_LEDGER_AMOUNT = 2n ** 63n - 1n;

/** One Staking or slash log, as the watcher applies it. */
export interface StakeLog {
  txHash: Hex;
  logIndex: number;
  blockNumber: bigint;
  wallet: Address;
  kind: "registered" | "added" | "unstake" | "withdrawn" | "slashed";
  amount: bigint;
  /** ProviderSlashed only. */
  nonce?: Hex;
}

export interface StakeWatchResult {
  counted: number;
  unlinked: number;
  cursor: bigint;
}

/** The Staking contract's address and stake token, read from the marketplace. */
export async function readStaking(clients: ChainClients, marketplace: Address): Promise<{ staking: Address; stakeToken: Address }> {
  const staking = getAddress(await clients.publicClient.readContract({ address: marketplace, abi: computeMarketplaceAbi, functionName: "staking" }));
  const stakeToken = getAddress(await clients.publicClient.readContract({ address: staking, abi: stakingAbi, functionName: "stakeToken" }));
  return { staking, stakeToken };
}

export class StakeWatcher {
  private staking: Address | undefined;
  /** False when Staking does not take the ledger token (nothing is mirrored). */
  private mirrors = false;

  constructor(
    private readonly app: AppContext,
    private readonly cfg: ChainConfig,
    private readonly clients: ChainClients,
  ) {}

  /** Whether the deployment's stake is mirrored (Staking takes the ledger token); reads the chain once. */
  async enabled(): Promise<boolean> {
    if (this.staking) return this.mirrors;
    const { staking, stakeToken } = await readStaking(this.clients, this.cfg.marketplace);
    this.staking = staking;
    this.mirrors = stakeToken === this.cfg.token;
    if (!this.mirrors) {
      this.app.log.warn({ staking, stakeToken, ledgerToken: this.cfg.token }, "chain: Staking takes another token than the ledger's: on-chain stake is not counted (deploy with --stake-token ledger)");
    }
    return this.mirrors;
  }

  get cursorId(): string {
    return `stake:${this.cfg.chainId}:${(this.staking ?? "?").toLowerCase()}`;
  }

  async cursor(): Promise<{ blockNumber: bigint; blockHash: string | null }> {
    await this.enabled();
    return readBlockCursor(this.app.db.prisma, this.cursorId, this.cfg.startBlock);
  }

  /** Moves the cursor back (tests; operators replaying a range): the next pass rescans from `blockNumber + 1`. */
  async setCursor(blockNumber: bigint): Promise<void> {
    await this.enabled();
    await writeBlockCursor(this.app.db.prisma, this.cursorId, this.cfg.chainId, blockNumber, null);
  }

  /** One pass: stake follows wallets linked, unlinked or re-linked since, then up to `maxRanges` getLogs ranges of final blocks. */
  async tick(maxRanges = 20): Promise<StakeWatchResult> {
    const result: StakeWatchResult = { counted: 0, unlinked: 0, cursor: 0n };
    if (!(await this.enabled())) return result;
    const { publicClient } = this.clients;
    await this.followLinks();
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    const safe = finalBlock(head, this.cfg.confirmations);
    let cursor = await this.cursor();
    if (cursor.blockHash !== null && (await cursorBlockChanged(publicClient, { blockNumber: cursor.blockNumber, blockHash: cursor.blockHash }, head))) {
      const back = rewindBlock(cursor.blockNumber, head, this.cfg);
      this.app.log.error({ cursor: cursor.blockNumber.toString(), rewindTo: back.toString() }, "chain: the stake cursor's block changed: rescanning");
      await this.setCursor(back);
      cursor = { blockNumber: back, blockHash: null };
    }
    for (let i = 0; i < maxRanges && cursor.blockNumber < safe; i++) {
      const { from, to } = nextRange(cursor.blockNumber, safe, this.cfg.logRange);
      const logs = await this.readLogs(from, to);
      const toBlock = await publicClient.getBlock({ blockNumber: to });
      const counts = await this.app.db.prisma.$transaction(
        async (tx) => {
          const c = { counted: 0, unlinked: 0 };
          for (const log of logs) {
            const r = await this.apply(tx, log);
            if (r === "counted") c.counted++;
            else if (r === "unlinked") c.unlinked++;
          }
          await writeBlockCursor(tx, this.cursorId, this.cfg.chainId, to, toBlock.hash);
          return c;
        },
        { timeout: 60_000, maxWait: 30_000 },
      );
      result.counted += counts.counted;
      result.unlinked += counts.unlinked;
      cursor = { blockNumber: to, blockHash: toBlock.hash };
      if (logs.length > 0) this.app.log.info({ from: from.toString(), to: to.toString(), logs: logs.length, ...counts }, "chain: stake logs recorded");
    }
    result.cursor = cursor.blockNumber;
    return result;
  }

  /** Staking's stake logs and the marketplace's ProviderSlashed in blocks [from, to], in chain order. */
  async readLogs(from: bigint, to: bigint): Promise<StakeLog[]> {
    const staking = this.staking!;
    const raw = (await this.clients.publicClient.getLogs({ address: [staking, this.cfg.marketplace], fromBlock: from, toBlock: to })) as Log[];
    const fromStaking = parseEventLogs({ abi: stakingAbi, logs: raw.filter((l) => getAddress(l.address) === staking), strict: true });
    const fromMarketplace = parseEventLogs({ abi: computeMarketplaceAbi, eventName: "ProviderSlashed", logs: raw.filter((l) => getAddress(l.address) === this.cfg.marketplace), strict: true });
    const out: StakeLog[] = [];
    const at = (l: { transactionHash: Hex | null; logIndex: number | null; blockNumber: bigint | null; removed?: boolean }) =>
      l.removed || l.transactionHash === null || l.logIndex === null || l.blockNumber === null ? undefined : { txHash: l.transactionHash, logIndex: l.logIndex, blockNumber: l.blockNumber };
    for (const l of fromStaking) {
      const where = at(l);
      if (!where) continue;
      if (l.eventName === "ProviderRegistered") out.push({ ...where, wallet: l.args.provider, kind: "registered", amount: l.args.stake });
      else if (l.eventName === "StakeAdded") out.push({ ...where, wallet: l.args.provider, kind: "added", amount: l.args.amount });
      else if (l.eventName === "UnstakeRequested") out.push({ ...where, wallet: l.args.provider, kind: "unstake", amount: l.args.amount });
      else if (l.eventName === "StakeWithdrawn") out.push({ ...where, wallet: l.args.provider, kind: "withdrawn", amount: l.args.amount });
    }
    for (const l of fromMarketplace) {
      const where = at(l);
      if (where) out.push({ ...where, wallet: l.args.provider, kind: "slashed", amount: l.args.slashed, nonce: l.args.nonce });
    }
    return out.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
  }

  /** Applies one log (once: the event's unique key). */
  private async apply(tx: SqlClient, log: StakeLog): Promise<"counted" | "unlinked" | "recorded" | "duplicate"> {
    const id = newId("cse");
    const wallet = log.wallet.toLowerCase();
    const inserted = await tx.$queryRaw<Array<{ id: string }>>`
      INSERT INTO "ChainStakeEvent" (id, "chainId", "txHash", "logIndex", "blockNumber", wallet, kind, amount, status, "createdAt")
      VALUES (${id}, ${this.cfg.chainId}, ${log.txHash.toLowerCase()}, ${log.logIndex}, ${log.blockNumber}, ${wallet}, ${log.kind}, ${log.amount.toString()}, 'recorded', ${new Date()})
      ON CONFLICT ("chainId", "txHash", "logIndex") DO NOTHING
      RETURNING id`;
    if (inserted.length === 0) return "duplicate";
    const staker = await this.lockStaker(tx, wallet);
    const linked = staker.accountId !== null;
    const note = async (status: string, counted: bigint, reason: string | null, ledgerTxId: string | null) => {
      await tx.$executeRaw`
        UPDATE "ChainStakeEvent" SET status = ${status}, counted = ${counted}, reason = ${reason}, "accountId" = ${staker.accountId}, "ledgerTxId" = ${ledgerTxId} WHERE id = ${id}`;
    };
    let active = staker.active;
    let unbonding = staker.unbonding;
    let overdrawn = staker.overdrawn;
    let slashed = staker.slashed;
    let move = 0n; // + into the ledger stake, − out of it
    let kind = "chain_stake";
    let reason: string | null = null;
    switch (log.kind) {
      case "registered":
      case "added":
        if (active + log.amount > MAX_LEDGER_AMOUNT) {
          reason = "the stake exceeds the ledger's 64-bit balances: not counted";
          break;
        }
        active += log.amount;
        move = log.amount;
        break;
      case "unstake": {
        // The part of the request the server still counts (a slash in flight took the rest already).
        const counted = log.amount < active ? log.amount : active;
        active -= counted;
        unbonding += counted;
        move = -counted;
        kind = "chain_unstake";
        break;
      }
      case "withdrawn": {
        const known = log.amount < unbonding ? log.amount : unbonding;
        unbonding -= known;
        overdrawn += log.amount - known;
        if (log.amount > known) reason = `withdrew ${log.amount - known} more than the server counted as unbonding (a slash in flight)`;
        break;
      }
      case "slashed": {
        const [ours] = await tx.$queryRaw<unknown[]>`SELECT 1 FROM "ChainSlash" WHERE nonce = ${log.nonce!.toLowerCase()}`;
        if (ours) {
          // Ordered by this server: mirrored when QA slashed, confirmed by chain/slashes.ts.
          await note("recorded", 0n, "a slash this server ordered (chain/slashes.ts)", null);
          return "recorded";
        }
        // Someone else's slash order (the settlers' keys elsewhere): the contract takes active first, then unbonding.
        const fromActive = log.amount < active ? log.amount : active;
        const fromUnbonding = log.amount - fromActive < unbonding ? log.amount - fromActive : unbonding;
        active -= fromActive;
        unbonding -= fromUnbonding;
        overdrawn -= log.amount - fromActive - fromUnbonding;
        slashed += log.amount;
        move = -fromActive;
        kind = "chain_stake_slashed";
        reason = "a slash this server did not order";
        this.app.log.warn({ wallet, nonce: log.nonce, amount: log.amount.toString() }, "chain: stake slashed by an order this server did not make");
        break;
      }
    }
    await tx.$executeRaw`
      UPDATE "ChainStaker" SET active = ${active}, unbonding = ${unbonding}, overdrawn = ${overdrawn}, slashed = ${slashed}, "updatedAt" = ${new Date()}
      WHERE "chainId" = ${this.cfg.chainId} AND wallet = ${wallet}`;
    if (!linked) {
      await note("unlinked", 0n, reason ?? "the wallet is linked to no Stun account: recorded, not counted", null);
      if (log.kind === "registered" || log.kind === "added") this.app.log.warn({ wallet, amount: log.amount.toString() }, "chain: stake from a wallet linked to no account (not counted)");
      return "unlinked";
    }
    let ledgerTxId: string | null = null;
    if (move !== 0n) ledgerTxId = await this.post(tx, staker.accountId!, move, kind);
    await note(move !== 0n ? "counted" : "recorded", move, reason, ledgerTxId);
    return move !== 0n ? "counted" : "recorded";
  }

  /**
   * The wallet's ChainStaker row, locked (created, linked to the account whose wallet it is, on first
   * sight). The account row is locked first, the order QA's slash takes them in (qa/verdicts.ts: the
   * provider's account, then its ChainStaker rows), so the two never wait on each other in a cycle.
   */
  private async lockStaker(tx: SqlClient, wallet: string): Promise<{ accountId: string | null; active: bigint; unbonding: bigint; overdrawn: bigint; slashed: bigint }> {
    const [known] = await tx.$queryRaw<Array<{ accountId: string | null }>>`
      SELECT "accountId" FROM "ChainStaker" WHERE "chainId" = ${this.cfg.chainId} AND wallet = ${wallet}`;
    const [account] = known?.accountId
      ? await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Account" WHERE id = ${known.accountId} FOR UPDATE`
      : known
        ? []
        : await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Account" WHERE "walletAddress" = ${wallet} FOR UPDATE`;
    await tx.$executeRaw`
      INSERT INTO "ChainStaker" ("chainId", wallet, "accountId", "updatedAt") VALUES (${this.cfg.chainId}, ${wallet}, ${account?.id ?? null}, ${new Date()})
      ON CONFLICT ("chainId", wallet) DO NOTHING`;
    const [row] = await tx.$queryRaw<Array<{ accountId: string | null; active: bigint; unbonding: bigint; overdrawn: bigint; slashed: bigint }>>`
      SELECT "accountId", active, unbonding, overdrawn, slashed FROM "ChainStaker" WHERE "chainId" = ${this.cfg.chainId} AND wallet = ${wallet} FOR UPDATE`;
    return { ...row!, active: BigInt(row!.active), unbonding: BigInt(row!.unbonding), overdrawn: BigInt(row!.overdrawn), slashed: BigInt(row!.slashed) };
  }

  /** `amount` > 0: system:chain_stake → acct:<id>:stake; < 0: back. */
  private async post(tx: SqlClient, accountId: string, amount: bigint, kind: string): Promise<string> {
    const { txId } = await postTransfer(tx, {
      kind,
      entries: [
        { account: SYSTEM_CHAIN_STAKE, amount: -amount },
        { account: staked(accountId), amount },
      ],
    });
    return txId;
  }

  /**
   * Stakers whose wallet changed hands in Stun since they were counted — recorded unlinked and now
   * linked, linked to an account that has since linked another wallet, or now another account's —
   * follow it: the active stake leaves the account that no longer holds the wallet (kind
   * `chain_stake_unlinked`; at most what its ledger stake holds, the rest logged) and counts for the
   * one that holds it now (kind `chain_stake`). One transaction per wallet; the accounts are locked
   * first, in id order, then the staker row (the order QA's slash takes them in).
   */
  private async followLinks(): Promise<void> {
    const moved = await this.app.db.prisma.$queryRaw<Array<{ wallet: string }>>`
      SELECT s.wallet FROM "ChainStaker" s LEFT JOIN "Account" a ON a."walletAddress" = s.wallet
      WHERE s."chainId" = ${this.cfg.chainId} AND s."accountId" IS DISTINCT FROM a.id`;
    for (const { wallet } of moved) {
      await this.app.db.prisma.$transaction(async (tx) => {
        const [known] = await tx.$queryRaw<Array<{ accountId: string | null }>>`
          SELECT "accountId" FROM "ChainStaker" WHERE "chainId" = ${this.cfg.chainId} AND wallet = ${wallet}`;
        const [holder] = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Account" WHERE "walletAddress" = ${wallet}`;
        const ids = [known?.accountId, holder?.id].filter((id): id is string => !!id).sort();
        const locked = await tx.$queryRaw<Array<{ id: string; stake: bigint; walletAddress: string | null }>>`
          SELECT id, stake, "walletAddress" FROM "Account" WHERE id = ANY(${ids}::text[]) ORDER BY id FOR UPDATE`;
        const [row] = await tx.$queryRaw<Array<{ accountId: string | null; active: bigint }>>`
          SELECT "accountId", active FROM "ChainStaker" WHERE "chainId" = ${this.cfg.chainId} AND wallet = ${wallet} FOR UPDATE`;
        const from = row?.accountId ?? null;
        const to = locked.find((a) => a.walletAddress === wallet)?.id ?? null;
        // Changed again since the rows were read: the next pass sees it.
        if (!row || from !== (known?.accountId ?? null) || from === to) return;
        const active = BigInt(row.active);
        if (from !== null && active > 0n) {
          const holds = BigInt(locked.find((a) => a.id === from)?.stake ?? 0n);
          const out = active < holds ? active : holds;
          if (out < active)
            this.app.log.error({ wallet, accountId: from, active: active.toString(), stake: holds.toString() }, "chain: the account a staking wallet left holds less stake than was counted for it");
          if (out > 0n) await this.post(tx, from, -out, "chain_stake_unlinked");
        }
        await tx.$executeRaw`UPDATE "ChainStaker" SET "accountId" = ${to}, "updatedAt" = ${new Date()} WHERE "chainId" = ${this.cfg.chainId} AND wallet = ${wallet}`;
        if (to !== null && active > 0n) await this.post(tx, to, active, "chain_stake");
        this.app.log.info({ wallet, from, to, active: active.toString() }, "chain: a staking wallet changed hands in Stun: its stake counts for the account that holds it");
      });
    }
  }
}
