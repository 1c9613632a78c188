/**
 * SettlementSubmitter: settles on chain, out of the requester's deposit, every accepted user task
 * of a requester whose funds came from the chain, and mirrors the payouts in the ledger.
 *
 * The rule: a completed user task (cost > 0) is settled on chain when its requester has credited
 * deposits on this chain (the task completed after the first one) and the requester's on-chain
 * deposit balance as the server counts it (deposits − settled − withdrawn, chain/ledger.ts) covers
 * the cost. Otherwise it stays a ledger-only settlement (`offchain` row: faucet money, earnings).
 *
 * Life of a `ChainSettlement` row: `pending` (written with the ledger mirror in one transaction) →
 * `submitted` (txHash; many tasks per `settleFromDeposits`, signed by the configured settlers) →
 * `confirmed` (receipt with CHAIN_CONFIRMATIONS; the emitted payout and `releaseAt` kept) →
 * `released` (after the dispute window the submitter calls `releaseBatch`; the payees then hold
 * claimable credits they take with `withdraw`). A revert or a dropped transaction goes back to
 * `pending` and is retried; an entry the contract refuses for good (e.g. InsufficientDeposit)
 * becomes `failed` and its mirror is reversed — a pause (EnforcedPause) is not for good: the entries
 * wait for the unpause (refusedForGood), and a revert mined while paused does not count as an
 * attempt (confirm). A task the contract already knows (a send whose
 * record was lost in a crash) is adopted from the chain instead of sent twice.
 *
 * Payees: a provider's share goes to its account's linked wallet (Account.walletAddress), the
 * creator's to the model owner's wallet, the treasury's to the contract's `treasury`. A provider or
 * creator with no wallet — or whose ledger balance no longer holds the share — is paid on chain to
 * the treasury instead, which holds it for them: their share stays in their Stun balance.
 *
 * The ledger mirror (kind `chain_settle`, one transaction per task): `system:chain` +cost; each
 * payee paid to its wallet −share from `acct:<id>:available`; `system:treasury` −(its 15% + every
 * share it holds for others). The task's own `settle` transaction is untouched.
 */
import { type Address, type Hex, BaseError, ContractFunctionRevertedError, getAddress, parseEventLogs, zeroAddress } from "viem";
import type { Receipt } from "@stun/shared";
import { type DepositSettlement, TaskStatus, accountToBytes32, computeMarketplaceAbi, idToBytes32, signDepositSettlements } from "@stun/contracts";
import type { AppContext } from "../context";
import type { SqlClient } from "../db/database";
import { newId } from "../ids";
import { retryOnConflict } from "../db/retry-conflicts";
import { SYSTEM_CHAIN, SYSTEM_TREASURY, available, postTransfer, type LedgerLeg } from "../ledger";
import type { ChainClients } from "./clients";
import type { ChainConfig } from "./config";
import { paidExecutions } from "./paid-executions";
import { payoutHashOf, toHexDigest } from "./payout-hash";
import { chainBalance, reverseTransfer } from "./ledger";

/** Sends of one entry before it is given up. */
const MAX_ATTEMPTS = 5;
/** A submitted transaction with no receipt after this long is checked against the chain and resent. */
const DROPPED_AFTER_MS = 3 * 60_000;

/** One paid execution as submitted. */
export interface EntryProvider {
  providerId: string;
  accountId: string;
  /** Where the share is paid on chain. */
  to: Address;
  /** wallet: the account's linked wallet; treasury: held by the treasury for the account. */
  paidTo: "wallet" | "treasury";
  /** The execution's price (the amount signed). */
  price: string;
  share: string;
}

/** `ChainSettlement.entry`. */
export interface SettlementEntry {
  taskId32: Hex;
  resultDigest: Hex;
  account32: Hex;
  token: Address;
  modelCreator: Address;
  providers: EntryProvider[];
  creator: { accountId: string; paidTo: "wallet" | "treasury"; share: string };
  treasuryShare: string;
  /** Set once confirmed: the payout `release` takes, and when. */
  payout?: { providers: Address[]; shares: string[]; treasuryShare: string; creatorShare: string };
  releaseAt?: string;
  blockNumber?: string;
  /** Why a task stays off chain (`offchain` rows). */
  reason?: string;
}

interface Candidate {
  id: string;
  requesterId: string;
  cost: bigint;
  outputDigest: string | null;
  receipt: Receipt | null;
  ownerId: string;
}

type Row = { taskId: string; entry: SettlementEntry; attempts: number; mirrorTxId: string | null; txHash: string | null; submittedAt: Date | null };

/** Whether `e` is the contract refusing (a revert), as opposed to the RPC failing. */
export function revertOf(e: unknown): ContractFunctionRevertedError | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const r = e.walk((x) => x instanceof ContractFunctionRevertedError);
  return r instanceof ContractFunctionRevertedError ? r : undefined;
}

/**
 * The contract's refusal for good: a revert that waiting cannot change. A pause (`EnforcedPause`)
 * is not one — the guardian lifts it — so what it refused is kept and sent again after it.
 */
export const refusedForGood = (e: unknown): boolean => {
  const r = revertOf(e);
  return r !== undefined && r.data?.errorName !== "EnforcedPause";
};

export const errorText = (e: unknown): string => {
  const r = revertOf(e);
  if (r?.data?.errorName) return `${r.data.errorName}(${(r.data.args ?? []).map(String).join(", ")})`;
  return e instanceof BaseError ? e.shortMessage : e instanceof Error ? e.message : String(e);
};

export class SettlementSubmitter {
  private treasury: Address | undefined;

  constructor(
    private readonly app: AppContext,
    private readonly cfg: ChainConfig,
    private readonly clients: ChainClients,
  ) {}

  /** One round: new tasks → rows; receipts → confirmed; pending → one transaction; due → released. */
  async tick(): Promise<void> {
    this.treasury = getAddress(await this.clients.publicClient.readContract({ address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName: "treasury" }));
    await this.enqueue();
    await this.confirm();
    await this.submit();
    await this.release();
  }

  // ─── pending ────────────────────────────────────────────────────────────────────────────

  private async enqueue(): Promise<void> {
    const prisma = this.app.db.prisma;
    const candidates = await prisma.$queryRaw<Candidate[]>`
      SELECT t.id, t."requesterId", t.cost, t."outputDigest", t.receipt, m."ownerId"
      FROM "Task" t
      JOIN "Model" m ON m.id = t."modelId"
      JOIN (SELECT "accountId", MIN("createdAt") AS since FROM "ExternalDeposit"
            WHERE family = 'evm' AND network = ${String(this.cfg.chainId)} AND status = 'credited' GROUP BY "accountId") d ON d."accountId" = t."requesterId"
      WHERE t.status = 'completed' AND t.kind = 'user' AND t.cost > 0 AND t."completedAt" >= d.since
        AND NOT EXISTS (SELECT 1 FROM "ChainSettlement" s WHERE s."taskId" = t.id)
        AND NOT EXISTS (SELECT 1 FROM "ChainEscrow" e WHERE e."taskId" = t.id)
      ORDER BY t."completedAt", t.id
      LIMIT 200`;
    for (const c of candidates) {
      // A conflict aborts this task's transaction alone: it runs again, and the others go on.
      await retryOnConflict(() => prisma.$transaction((tx) => this.prepare(tx, c), { timeout: 30_000, maxWait: 30_000 }));
    }
  }

  /** Decides the task's on-chain entry and payees, posts the mirror and writes the pending row. */
  private async prepare(tx: SqlClient, c: Candidate): Promise<void> {
    // The accepted executions, in the receipt's (the ledger split's) order (read only).
    const paid = await paidExecutions(tx, c.id, c.receipt, c.cost);
    // Every account this moves, locked in one statement in id order — the order the ledger's own
    // transfers take them in: the requester (one settlement of its on-chain balance at a time) with
    // the payees. Locking the requester first deadlocked on PostgreSQL against the results of its
    // next tasks (bench/chain-settlement.ts). Then: never a task another instance took.
    const ids = [...new Set([c.requesterId, c.ownerId, ...(paid.ok ? paid.executions.map((w) => w.accountId) : [])])].sort();
    const accounts = await tx.$queryRaw<Array<{ id: string; balance: bigint; walletAddress: string | null }>>`
      SELECT id, balance, "walletAddress" FROM "Account" WHERE id = ANY(${ids}::text[]) ORDER BY id FOR UPDATE`;
    const [taken] = await tx.$queryRaw<unknown[]>`SELECT 1 FROM "ChainSettlement" WHERE "taskId" = ${c.id}`;
    if (taken) return;
    const base = {
      taskId32: idToBytes32(c.id),
      resultDigest: toHexDigest(c.outputDigest),
      account32: accountToBytes32(c.requesterId),
      token: this.cfg.token,
    };
    const offchain = (reason: string) =>
      this.insert(tx, c, { ...base, modelCreator: zeroAddress, providers: [], creator: { accountId: c.ownerId, paidTo: "treasury", share: "0" }, treasuryShare: "0", reason }, "offchain", null);

    const balance = await chainBalance(tx, this.cfg.chainId, c.requesterId);
    if (balance.available < c.cost) return offchain(`the requester's on-chain deposit (${balance.available}) does not cover the cost ${c.cost}`);

    if (!paid.ok) return offchain(paid.reason);
    const { executions: ws, split } = paid;

    // Payees: wallets when linked and the ledger still holds the share, else the treasury.
    const byId = new Map(accounts.map((a) => [a.id, { ...a, left: a.balance }]));
    const treasury = this.treasury!;
    const take = (accountId: string, amount: bigint): Address | undefined => {
      const a = byId.get(accountId);
      if (!a?.walletAddress || a.left < amount) return undefined;
      a.left -= amount;
      return getAddress(a.walletAddress);
    };
    const legs: LedgerLeg[] = [{ account: SYSTEM_CHAIN, amount: c.cost }];
    let treasuryDebit = split.treasury;
    const providers: EntryProvider[] = ws.map((w, i) => {
      const share = split.providers[i]!.amount;
      const wallet = take(w.accountId, share);
      if (wallet) legs.push({ account: available(w.accountId), amount: -share });
      else treasuryDebit += share;
      return { providerId: w.providerId, accountId: w.accountId, to: wallet ?? treasury, paidTo: wallet ? "wallet" : "treasury", price: w.price.toString(), share: share.toString() };
    });
    const creatorWallet = take(c.ownerId, split.creator);
    if (creatorWallet) legs.push({ account: available(c.ownerId), amount: -split.creator });
    else treasuryDebit += split.creator;
    legs.push({ account: SYSTEM_TREASURY, amount: -treasuryDebit });

    const mirror = await postTransfer(tx, { kind: "chain_settle", taskId: c.id, entries: legs });
    await this.insert(
      tx,
      c,
      {
        ...base,
        modelCreator: creatorWallet ?? zeroAddress,
        providers,
        creator: { accountId: c.ownerId, paidTo: creatorWallet ? "wallet" : "treasury", share: split.creator.toString() },
        treasuryShare: split.treasury.toString(),
      },
      "pending",
      mirror.txId,
    );
  }

  private async insert(tx: SqlClient, c: Candidate, entry: SettlementEntry, status: string, mirrorTxId: string | null): Promise<void> {
    const now = new Date();
    await tx.$executeRaw`
      INSERT INTO "ChainSettlement" ("taskId", "chainId", "requesterId", entry, amount, status, "mirrorTxId", "createdAt", "updatedAt")
      VALUES (${c.id}, ${this.cfg.chainId}, ${c.requesterId}, ${JSON.stringify(entry)}::jsonb, ${c.cost}, ${status}, ${mirrorTxId}, ${now}, ${now})`;
    if (status === "offchain") this.app.log.info({ taskId: c.id, reason: entry.reason }, "chain: task settled off chain only");
  }

  // ─── submitted ──────────────────────────────────────────────────────────────────────────

  private async rows(status: string, take = this.cfg.batchSize): Promise<Row[]> {
    const rows = await this.app.db.prisma.chainSettlement.findMany({
      where: { chainId: this.cfg.chainId, status },
      orderBy: [{ createdAt: "asc" }, { taskId: "asc" }],
      take,
      select: { taskId: true, entry: true, attempts: true, mirrorTxId: true, txHash: true, submittedAt: true },
    });
    return rows.map((r) => ({ ...r, entry: r.entry as unknown as SettlementEntry }));
  }

  private toContract(e: SettlementEntry): DepositSettlement {
    return {
      taskId: e.taskId32,
      resultDigest: e.resultDigest,
      account: e.account32,
      token: e.token,
      modelCreator: e.modelCreator,
      providers: e.providers.map((p) => p.to),
      amounts: e.providers.map((p) => BigInt(p.price)),
    };
  }

  private async submit(): Promise<void> {
    const { publicClient, wallet, signers, domain } = this.clients;
    const pending = await this.rows("pending");
    const fresh: Row[] = [];
    for (const row of pending) {
      const task = await publicClient.readContract({ address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName: "getTask", args: [row.entry.taskId32] });
      if (task.status === TaskStatus.None) fresh.push(row);
      else await this.adopt(row, task.status, BigInt(task.releaseAt), task.payoutHash);
    }
    if (fresh.length === 0) return;

    let batch = fresh;
    const simulate = async (rows: Row[]) => {
      const entries = rows.map((r) => this.toContract(r.entry));
      const signatures = await signDepositSettlements(signers, domain, entries);
      return publicClient.simulateContract({
        account: wallet.account,
        address: this.cfg.marketplace,
        abi: computeMarketplaceAbi,
        functionName: "settleFromDeposits",
        args: [entries, signatures],
      });
    };
    let sim: Awaited<ReturnType<typeof simulate>>;
    try {
      sim = await simulate(batch);
    } catch (e) {
      if (!refusedForGood(e)) return this.note(batch, errorText(e));
      // The contract refuses the batch: find the entries it refuses alone and give them up.
      const ok: Row[] = [];
      for (const row of batch) {
        try {
          await simulate([row]);
          ok.push(row);
        } catch (one) {
          if (refusedForGood(one)) await this.fail(row, errorText(one));
          else return this.note([row], errorText(one));
        }
      }
      if (ok.length === 0) return;
      batch = ok;
      sim = await simulate(batch);
    }
    let hash: Hex;
    try {
      hash = await wallet.writeContract(sim.request);
    } catch (e) {
      return this.note(batch, errorText(e));
    }
    const batchId = newId("csb");
    const now = new Date();
    await this.app.db.prisma.chainSettlement.updateMany({
      where: { taskId: { in: batch.map((r) => r.taskId) }, status: "pending" },
      data: { status: "submitted", txHash: hash, batchId, submittedAt: now, attempts: { increment: 1 }, lastError: null },
    });
    this.app.log.info({ txHash: hash, tasks: batch.length }, "chain: settleFromDeposits sent");
  }

  /** A transient failure: kept pending, the error noted. */
  private async note(rows: Row[], error: string): Promise<void> {
    this.app.log.warn({ tasks: rows.map((r) => r.taskId), error }, "chain: settlement not sent (will retry)");
    await this.app.db.prisma.chainSettlement.updateMany({ where: { taskId: { in: rows.map((r) => r.taskId) } }, data: { lastError: error.slice(0, 1000) } });
  }

  /** Given up: `failed`, and the ledger mirror reversed (the payees keep their Stun balances). */
  private async fail(row: Row, error: string): Promise<void> {
    this.app.log.error({ taskId: row.taskId, error }, "chain: settlement refused by the contract; mirror reversed");
    await this.app.db.prisma.$transaction(async (tx) => {
      const n = await tx.$executeRaw`
        UPDATE "ChainSettlement" SET status = 'failed', "lastError" = ${error.slice(0, 1000)}, "updatedAt" = ${new Date()}
        WHERE "taskId" = ${row.taskId} AND status IN ('pending', 'submitted')`;
      if (n === 1 && row.mirrorTxId) await reverseTransfer(tx, row.mirrorTxId, "chain_settle_reversed", row.taskId);
    });
  }

  /** The contract already has the task (sent before, record lost): confirm it from the chain. */
  private async adopt(row: Row, status: number, releaseAt: bigint, payoutHash: Hex): Promise<void> {
    const split = {
      providers: row.entry.providers.map((p) => p.to),
      shares: row.entry.providers.map((p) => BigInt(p.share)),
      treasuryShare: BigInt(row.entry.treasuryShare),
      creatorShare: BigInt(row.entry.creator.share),
    };
    const hash = payoutHashOf(split);
    const account = await this.clients.publicClient.readContract({ address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName: "taskAccount", args: [row.entry.taskId32] });
    if (hash !== payoutHash || account !== row.entry.account32) {
      return this.fail(row, "the task id is taken on chain by another settlement");
    }
    const next = status === TaskStatus.Released ? "released" : status === TaskStatus.Disputed ? "disputed" : "confirmed";
    await this.markConfirmed(row, { ...split, shares: split.shares }, releaseAt, undefined, next);
    this.app.log.warn({ taskId: row.taskId, status: next }, "chain: settlement found on chain (adopted)");
  }

  private async markConfirmed(
    row: Row,
    payout: { providers: readonly Address[]; shares: readonly bigint[]; treasuryShare: bigint; creatorShare: bigint },
    releaseAt: bigint,
    blockNumber: bigint | undefined,
    status = "confirmed",
  ): Promise<void> {
    const entry: SettlementEntry = {
      ...row.entry,
      payout: { providers: [...payout.providers], shares: payout.shares.map(String), treasuryShare: payout.treasuryShare.toString(), creatorShare: payout.creatorShare.toString() },
      releaseAt: releaseAt.toString(),
      ...(blockNumber !== undefined ? { blockNumber: blockNumber.toString() } : {}),
    };
    await this.app.db.prisma.$executeRaw`
      UPDATE "ChainSettlement" SET status = ${status}, entry = ${JSON.stringify(entry)}::jsonb, "confirmedAt" = ${new Date()}, "updatedAt" = ${new Date()}, "lastError" = NULL
      WHERE "taskId" = ${row.taskId}`;
  }

  /**
   * Whether the marketplace was paused at the end of `blockNumber` (OpenZeppelin Pausable) — or now,
   * when the node no longer has that block's state (not an archive node, an old receipt).
   */
  private pausedAt(blockNumber: bigint): Promise<boolean> {
    const paused = (at?: bigint) =>
      this.clients.publicClient.readContract({ address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName: "paused", ...(at !== undefined ? { blockNumber: at } : {}) });
    return paused(blockNumber).catch(() => paused());
  }

  private async confirm(): Promise<void> {
    const { publicClient } = this.clients;
    const submitted = await this.rows("submitted", 500);
    const byTx = new Map<string, Row[]>();
    for (const r of submitted) byTx.set(r.txHash!, [...(byTx.get(r.txHash!) ?? []), r]);
    if (byTx.size === 0) return;
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    for (const [hash, rows] of byTx) {
      const receipt = await publicClient.getTransactionReceipt({ hash: hash as Hex }).catch(() => undefined);
      if (!receipt) {
        const age = Date.now() - (rows[0]!.submittedAt?.getTime() ?? 0);
        if (age > DROPPED_AFTER_MS) {
          this.app.log.warn({ txHash: hash }, "chain: settlement transaction not mined: back to pending");
          await this.app.db.prisma.chainSettlement.updateMany({ where: { txHash: hash, status: "submitted" }, data: { status: "pending", lastError: `not mined: ${hash}` } });
        }
        continue;
      }
      if (receipt.status !== "success") {
        // A pause mined before the transaction (after its simulation): waited out, the send not
        // counted — while paused nothing is sent again (the simulation refuses), so this cannot loop.
        if (await this.pausedAt(receipt.blockNumber)) {
          this.app.log.warn({ txHash: hash, tasks: rows.length }, "chain: settlement reverted while the marketplace is paused: kept pending for the unpause");
          await this.app.db.prisma.chainSettlement.updateMany({
            where: { txHash: hash, status: "submitted" },
            data: { status: "pending", attempts: { decrement: 1 }, lastError: `reverted while paused: ${hash}` },
          });
          continue;
        }
        for (const r of rows) {
          if (r.attempts >= MAX_ATTEMPTS) await this.fail(r, `reverted ${MAX_ATTEMPTS} times (last ${hash})`);
          else await this.app.db.prisma.chainSettlement.update({ where: { taskId: r.taskId }, data: { status: "pending", lastError: `reverted: ${hash}` } });
        }
        continue;
      }
      if (head - receipt.blockNumber + 1n < BigInt(this.cfg.confirmations)) continue;
      const settled = parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "TaskSettled" });
      for (const r of rows) {
        const event = settled.find((l) => l.args.taskId === r.entry.taskId32);
        if (!event) {
          await this.fail(r, `no TaskSettled for the task in ${hash}`);
          continue;
        }
        const p = event.args.payout;
        const shares = r.entry.providers.map((x) => BigInt(x.share));
        if (p.shares.some((s, i) => s !== shares[i]) || p.treasuryShare !== BigInt(r.entry.treasuryShare) || p.creatorShare !== BigInt(r.entry.creator.share)) {
          this.app.log.error({ taskId: r.taskId, onChain: p, ledger: r.entry }, "chain: the on-chain split differs from the ledger's (fee parameters changed on chain?)");
        }
        await this.markConfirmed(r, p, BigInt(event.args.releaseAt), receipt.blockNumber);
      }
      this.app.log.info({ txHash: hash, tasks: rows.length }, "chain: settlement confirmed");
    }
  }

  // ─── release ────────────────────────────────────────────────────────────────────────────

  private async release(): Promise<void> {
    const { publicClient, wallet } = this.clients;
    const confirmed = await this.rows("confirmed", 500);
    if (confirmed.length === 0) return;
    const block = await publicClient.getBlock({ blockTag: "latest" });
    // A quiet local chain mines no blocks: the next transaction's block is stamped with the wall clock.
    const now = block.timestamp > BigInt(Math.floor(Date.now() / 1000)) ? block.timestamp : BigInt(Math.floor(Date.now() / 1000));
    const due = confirmed.filter((r) => r.entry.releaseAt !== undefined && BigInt(r.entry.releaseAt) <= now).slice(0, this.cfg.batchSize);
    if (due.length === 0) return;
    const ready: Row[] = [];
    for (const r of due) {
      const task = await publicClient.readContract({ address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName: "getTask", args: [r.entry.taskId32] });
      if (task.status === TaskStatus.Settled) ready.push(r);
      else await this.setStatus(r.taskId, task.status === TaskStatus.Released ? "released" : "disputed");
    }
    if (ready.length === 0) return;
    const payouts = ready.map((r) => ({
      providers: r.entry.payout!.providers,
      shares: r.entry.payout!.shares.map(BigInt),
      treasuryShare: BigInt(r.entry.payout!.treasuryShare),
      creatorShare: BigInt(r.entry.payout!.creatorShare),
    }));
    try {
      const { request } = await publicClient.simulateContract({
        account: wallet.account,
        address: this.cfg.marketplace,
        abi: computeMarketplaceAbi,
        functionName: "releaseBatch",
        args: [ready.map((r) => r.entry.taskId32), payouts],
      });
      const hash = await wallet.writeContract(request);
      const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: 120_000 });
      if (receipt.status !== "success") throw new Error(`releaseBatch reverted (${hash})`);
      for (const r of ready) await this.setStatus(r.taskId, "released");
      this.app.log.info({ txHash: hash, tasks: ready.length }, "chain: settlements released");
    } catch (e) {
      // DisputeWindowOpen (the chain's clock is behind) or the RPC: the next round tries again.
      this.app.log.warn({ error: errorText(e) }, "chain: release not done (will retry)");
    }
  }

  private async setStatus(taskId: string, status: string): Promise<void> {
    if (status === "disputed") this.app.log.error({ taskId }, "chain: a settlement was disputed on chain; the ledger is not adjusted automatically");
    await this.app.db.prisma.chainSettlement.update({ where: { taskId }, data: { status } });
  }
}
