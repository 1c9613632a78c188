/**
 * EscrowSubmitter: the on-chain side of tasks paid from a per-task escrow (`createTask`; linked at
 * submit by services/chain-escrow.ts and tasks/chain-escrow.ts), and disputes of overturned results
 * of every task settled on chain (escrowed or from deposits). docs/CHAIN.md "Paying a task from an
 * on-chain escrow".
 *
 * Life of a `ChainEscrow` row:
 * - `linked` (submit) → the task completes: `settling` (the ledger's change mirrored in the
 *   completing transaction) → `pending` (payees decided; the payouts' mirror, kind
 *   `chain_escrow_settle`, written with it) → `confirmed` (`settle`, or `settleBatch` for the rows
 *   pending together, mined, signed by the configured settlers; the payout and `releaseAt` kept) → `released` (`releaseBatch` after the window).
 * - A task that ends unpaid: `refund_due` (mirrored when it ended) → `refunded` (`refund` after the
 *   escrow's deadline; anyone may call it, the server does, once).
 * - An escrow that cannot be settled on chain — a winner with no linked wallet registered in
 *   Staking (`settle` pays only registered providers), or the contract refusing — is refunded too:
 *   its payouts' mirror is reversed and the requester's balance pays the cost the chain gives back.
 * - `confirmed` and the task's result overturned by a re-check (Task.correction) while the dispute
 *   window is open: `dispute` with the settlers' signatures → `disputed`; the payouts' mirror is
 *   reversed and the cost the chain credits back to the requester's wallet is taken from its
 *   balance (the ledger already refunded it from the slash). Past the window the ledger's
 *   correction stands alone (logged once, `entry.correctionPastWindow`).
 *
 * Every send is checked against the task's state on chain first (`getTask`), so a send whose record
 * was lost in a crash is adopted instead of repeated; every status change and its mirror are one
 * database transaction guarded by the row's status, so nothing is mirrored twice.
 */
import { type Address, type Hex, getAddress, parseEventLogs, zeroAddress } from "viem";
import type { Receipt } from "@stun/shared";
import { TaskStatus, computeMarketplaceAbi, idToBytes32, signDispute, signSettlement, signSettlementBatch, stakingAbi, zkProofArgs, zkResultDigest } from "@stun/contracts";
import type { EscrowOnChain } from "../chain-port";
import type { AppContext } from "../context";
import type { SqlClient } from "../db/database";
import { SYSTEM_CHAIN, SYSTEM_TREASURY, available, postTransfer, type LedgerLeg } from "../ledger";
import type { ChainClients } from "./clients";
import type { ChainConfig } from "./config";
import { paidExecutions } from "./paid-executions";
import { payoutHashOf, toHexDigest } from "./payout-hash";
import { reverseTransfer } from "./ledger";
import { errorText, revertOf } from "./settlements";

/** `ChainEscrow.entry`: the settlement as decided and, once mined, its payout. */
export interface EscrowEntry {
  resultDigest: Hex;
  cost: string;
  providers: Array<{ providerId: string; accountId: string; to: Address; price: string; share: string }>;
  treasuryShare: string;
  creatorShare: string;
  modelCreator: Address;
  releaseAt?: string;
  /** A zk task's proof (its receipt's), which settles it with `settleWithProof` instead of the settlers' signatures. */
  zk?: NonNullable<Receipt["zk"]>;
  /** Why it is refunded instead of settled. */
  reason?: string;
  disputeTxHash?: string;
  /** The task was corrected after the dispute window: the ledger's correction only. */
  correctionPastWindow?: boolean;
}

type Row = { taskId: string; escrowId: string; requesterId: string; amount: bigint; held: bigint; deadline: Date; status: string; entry: EscrowEntry | null; mirrorTxId: string | null };

/** The contract's refusals of a settlement that no retry can change. */
const PERMANENT_REFUSALS = new Set([
  "DeadlinePassed",
  "ProviderNotRegistered",
  "CostExceedsEscrow",
  "InvalidProviderCount",
  "LengthMismatch",
  "ZkTaskNeedsProof",
  "ZeroAddress",
  // settleWithProof (ZkProofChecker's errors bubble up)
  "NotZkTask",
  "ZkVerifierNotSet",
  "InvalidProof",
  "ProofTaskMismatch",
  "PublicSignalCount",
  "ModelHashMismatch",
  "InputHashMismatch",
  "InvalidProofProvider",
]);

const isPermanent = (err: unknown): boolean => PERMANENT_REFUSALS.has(revertOf(err)?.data?.errorName ?? "");

const payoutOf = (e: EscrowEntry) => ({
  providers: e.providers.map((p) => p.to),
  shares: e.providers.map((p) => BigInt(p.share)),
  treasuryShare: BigInt(e.treasuryShare),
  creatorShare: BigInt(e.creatorShare),
});

export class EscrowSubmitter {
  private staking: Address | undefined;

  constructor(
    private readonly app: AppContext,
    private readonly cfg: ChainConfig,
    private readonly clients: ChainClients,
  ) {}

  private read<T>(functionName: string, args: readonly unknown[] = [], blockNumber?: bigint): Promise<T> {
    return this.clients.publicClient.readContract({
      address: this.cfg.marketplace,
      abi: computeMarketplaceAbi,
      functionName,
      args,
      ...(blockNumber !== undefined ? { blockNumber } : {}),
    } as never) as Promise<T>;
  }

  private task(escrowId: string, blockNumber?: bigint) {
    return this.read<{
      requester: Address;
      deadline: number;
      status: number;
      zk: boolean;
      token: Address;
      amount: bigint;
      modelCreator: Address;
      cost: bigint;
      resultDigest: Hex;
      payoutHash: Hex;
      releaseAt: number;
    }>("getTask", [escrowId], blockNumber);
  }

  /** The escrow as of the latest block with CHAIN_CONFIRMATIONS (ChainPort.escrows.lookup). */
  async lookup(escrowId: Hex): Promise<EscrowOnChain | undefined> {
    const { publicClient } = this.clients;
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    const at = head - BigInt(Math.max(this.cfg.confirmations - 1, 0));
    if (at < 0n) return undefined;
    const [t, block] = await Promise.all([this.task(escrowId, at), publicClient.getBlock({ blockNumber: at })]);
    if (Number(t.status) === TaskStatus.None) return undefined;
    const zkTerms = t.zk ? await this.read<readonly [bigint, bigint]>("zkTermsOf", [escrowId], at) : undefined;
    return {
      ...(zkTerms ? { zkTerms: { modelHash: BigInt(zkTerms[0]), inputHash: BigInt(zkTerms[1]) } } : {}),
      status: Number(t.status),
      requester: getAddress(t.requester),
      token: getAddress(t.token),
      amount: BigInt(t.amount),
      deadline: Number(t.deadline),
      modelCreator: getAddress(t.modelCreator),
      zk: t.zk,
      blockTime: Number(block.timestamp),
    };
  }

  /** One round: decide → dispute → settle → release → refund. */
  async tick(): Promise<void> {
    this.staking ??= getAddress(await this.read<Address>("staking"));
    await this.decide();
    await this.dispute();
    await this.settle();
    await this.release();
    await this.refund();
  }

  private async rows(status: string, take = this.cfg.batchSize): Promise<Row[]> {
    const rows = await this.app.db.prisma.chainEscrow.findMany({
      where: { chainId: this.cfg.chainId, status },
      orderBy: [{ createdAt: "asc" }, { taskId: "asc" }],
      take,
      select: { taskId: true, escrowId: true, requesterId: true, amount: true, held: true, deadline: true, status: true, entry: true, mirrorTxId: true },
    });
    return rows.map((r) => ({ ...r, entry: r.entry as unknown as EscrowEntry | null }));
  }

  /** The chain's clock: a quiet local chain mines no blocks, so the next block is stamped with the wall clock. */
  private async now(): Promise<bigint> {
    const block = await this.clients.publicClient.getBlock({ blockTag: "latest" });
    const wall = BigInt(Math.floor(Date.now() / 1000));
    return block.timestamp > wall ? block.timestamp : wall;
  }

  // ─── settling → pending | refund_due ─────────────────────────────────────────────────────

  private async decide(): Promise<void> {
    for (const row of await this.rows("settling")) {
      const onChain = await this.task(row.escrowId);
      // Providers' wallets registered in Staking (settle pays no one else), read before the transaction.
      const wallets = await this.app.db.prisma.$queryRaw<Array<{ walletAddress: string }>>`
        SELECT DISTINCT ac."walletAddress" FROM "Assignment" a JOIN "Provider" p ON p.id = a."providerId" JOIN "Account" ac ON ac.id = p."accountId"
        WHERE a."taskId" = ${row.taskId} AND ac."walletAddress" IS NOT NULL`;
      const registered = new Set<string>();
      for (const w of wallets) {
        const ok = await this.clients.publicClient.readContract({ address: this.staking!, abi: stakingAbi, functionName: "isRegistered", args: [getAddress(w.walletAddress)] });
        if (ok) registered.add(w.walletAddress.toLowerCase());
      }
      await this.app.db.prisma.$transaction((tx) => this.decideOne(tx, row, getAddress(onChain.modelCreator), registered), { timeout: 30_000, maxWait: 30_000 });
    }
  }

  private async decideOne(tx: SqlClient, row: Row, modelCreator: Address, registered: Set<string>): Promise<void> {
    const [locked] = await tx.$queryRaw<unknown[]>`SELECT 1 FROM "ChainEscrow" WHERE "taskId" = ${row.taskId} AND status = 'settling' FOR UPDATE`;
    if (!locked) return;
    const [t] = await tx.$queryRaw<Array<{ cost: bigint; outputDigest: string | null; receipt: Receipt | null; ownerId: string }>>`
      SELECT t.cost, t."outputDigest", t.receipt, m."ownerId" FROM "Task" t JOIN "Model" m ON m.id = t."modelId" WHERE t.id = ${row.taskId}`;
    if (!t) throw new Error(`escrowed task ${row.taskId} is gone`);
    const cost = BigInt(t.cost);
    const unpayable = (reason: string) => this.toRefund(tx, row, cost, reason, null);
    if (cost <= 0n) return unpayable("the task cost nothing");

    const paid = await paidExecutions(tx, row.taskId, t.receipt, cost);
    if (!paid.ok) return unpayable(paid.reason);
    const { executions: ws, split } = paid;
    // A zk escrow pays the provider its proof names (settleWithProof; no registration in Staking).
    const zk = t.receipt?.zk;
    const provedFor = zk ? BigInt(zk.publicSignals[zk.publicSignals.length - 1] ?? 0) : undefined;

    // The requester too (a refund charges it): every account in one id-ordered lock, as the ledger takes them.
    const ids = [...new Set([...ws.map((w) => w.accountId), t.ownerId, row.requesterId])].sort();
    const accounts = await tx.$queryRaw<Array<{ id: string; balance: bigint; walletAddress: string | null }>>`
      SELECT id, balance, "walletAddress" FROM "Account" WHERE id = ANY(${ids}::text[]) ORDER BY id FOR UPDATE`;
    const byId = new Map(accounts.map((a) => [a.id, { ...a, left: BigInt(a.balance) }]));
    const legs: LedgerLeg[] = [{ account: SYSTEM_CHAIN, amount: cost }];
    const providers: EscrowEntry["providers"] = [];
    for (const [i, w] of ws.entries()) {
      const share = split.providers[i]!.amount;
      const a = byId.get(w.accountId);
      if (!a?.walletAddress) return unpayable(`provider ${w.providerId} has no linked wallet`);
      if (provedFor !== undefined) {
        if (provedFor !== BigInt(a.walletAddress)) return unpayable(`the proof pays ${provedFor}, not provider ${w.providerId}'s linked wallet ${a.walletAddress}`);
      } else if (!registered.has(a.walletAddress.toLowerCase())) return unpayable(`provider ${w.providerId}'s wallet ${a.walletAddress} is not registered in Staking`);
      if (a.left < share) return unpayable(`provider ${w.providerId}'s balance no longer holds its share ${share}`);
      a.left -= share;
      legs.push({ account: available(w.accountId), amount: -share });
      providers.push({ providerId: w.providerId, accountId: w.accountId, to: getAddress(a.walletAddress), price: String(w.price), share: share.toString() });
    }
    // The creator's share goes on chain to the escrow's modelCreator (checked at submit to be the
    // owner's wallet) or, for the zero address, to the treasury, which then holds it for the owner.
    let treasuryDebit = split.treasury;
    const owner = byId.get(t.ownerId);
    if (modelCreator !== zeroAddress && owner && owner.left >= split.creator) legs.push({ account: available(t.ownerId), amount: -split.creator });
    else treasuryDebit += split.creator;
    legs.push({ account: SYSTEM_TREASURY, amount: -treasuryDebit });
    const mirror = await postTransfer(tx, { kind: "chain_escrow_settle", taskId: row.taskId, entries: legs });
    const entry: EscrowEntry = {
      resultDigest: zk ? zkResultDigest(zk.publicSignals) : toHexDigest(t.outputDigest),
      ...(zk ? { zk } : {}),
      cost: cost.toString(),
      providers,
      treasuryShare: split.treasury.toString(),
      creatorShare: split.creator.toString(),
      modelCreator,
    };
    await tx.$executeRaw`
      UPDATE "ChainEscrow" SET status = 'pending', entry = ${JSON.stringify(entry)}::jsonb, "mirrorTxId" = ${mirror.txId}, "updatedAt" = ${new Date()}
      WHERE "taskId" = ${row.taskId}`;
  }

  /**
   * The escrow will be refunded instead of settled: the payouts' mirror (if any) is reversed and the
   * task's cost — paid in the ledger, given back on chain — is taken from the requester's balance
   * (from the treasury when the balance no longer holds it). Guarded by the row's status.
   */
  private async toRefund(tx: SqlClient, row: Row, cost: bigint, reason: string, from: string | null): Promise<void> {
    const n = await tx.$executeRaw`
      UPDATE "ChainEscrow" SET status = 'refund_due', "lastError" = ${reason.slice(0, 1000)},
             entry = COALESCE(entry, '{}'::jsonb) || ${JSON.stringify({ reason })}::jsonb, "updatedAt" = ${new Date()}
      WHERE "taskId" = ${row.taskId} AND status = ${from ?? "settling"}`;
    if (n !== 1) return;
    if (row.mirrorTxId && from !== null) await reverseTransfer(tx, row.mirrorTxId, "chain_escrow_settle_reversed", row.taskId);
    if (cost > 0n) await this.chargeRequester(tx, row, cost, "chain_escrow_unsettled");
    this.app.log.warn({ taskId: row.taskId, escrow: row.escrowId, reason }, "chain: escrowed task not settled on chain; its escrow is refunded after its deadline");
  }

  /** `amount` the chain credits to the requester's wallet that the ledger paid out: from its balance, else the treasury. */
  private async chargeRequester(tx: SqlClient, row: Row, amount: bigint, kind: string): Promise<void> {
    const [a] = await tx.$queryRaw<Array<{ balance: bigint }>>`SELECT balance FROM "Account" WHERE id = ${row.requesterId} FOR UPDATE`;
    const fromRequester = a && BigInt(a.balance) >= amount;
    if (!fromRequester) this.app.log.error({ taskId: row.taskId, amount: amount.toString() }, "chain: the requester's balance does not hold what the chain gave back; the treasury bears it");
    await postTransfer(tx, {
      kind,
      taskId: row.taskId,
      entries: [
        { account: fromRequester ? available(row.requesterId) : SYSTEM_TREASURY, amount: -amount },
        { account: SYSTEM_CHAIN, amount },
      ],
    });
  }

  // ─── pending → confirmed ─────────────────────────────────────────────────────────────────

  private async settle(): Promise<void> {
    const open: Row[] = [];
    for (const row of await this.rows("pending")) {
      const e = row.entry!;
      const onChain = await this.task(row.escrowId);
      const status = Number(onChain.status);
      if (e.zk) {
        await this.settleZk(row, status, onChain.resultDigest);
        continue;
      }
      if (status === TaskStatus.Settled || status === TaskStatus.Released || status === TaskStatus.Disputed) {
        // Sent before, its record lost: adopt it when it is this settlement.
        if (onChain.payoutHash !== payoutHashOf(payoutOf(e))) {
          this.app.log.error({ taskId: row.taskId, escrow: row.escrowId }, "chain: the escrow was settled on chain with another payout");
          await this.setStatus(row, "failed", "settled on chain with another payout");
          continue;
        }
        await this.markConfirmed(row, BigInt(onChain.releaseAt), undefined);
        this.app.log.warn({ taskId: row.taskId }, "chain: escrow settlement found on chain (adopted)");
        continue;
      }
      if (status !== TaskStatus.Escrowed) {
        await this.app.db.prisma.$transaction((tx) => this.toRefund(tx, row, BigInt(e.cost), `the escrow is no longer open on chain (status ${status})`, "pending"));
        continue;
      }
      open.push(row);
    }
    if (open.length === 0) return;
    try {
      await this.send(open);
    } catch (err) {
      // The contract refuses the batch for good: each alone, to find the ones it refuses (a pause,
      // say, is waited out as a batch).
      if (open.length > 1 && isPermanent(err)) for (const row of open) await this.send([row]).catch((one) => this.notSent(row, one));
      else for (const row of open) await this.notSent(row, err);
    }
  }

  /** `settle` (one) or `settleBatch` (several) signed by the settlers; each row confirmed from its TaskSettled. */
  private async send(rows: Row[]): Promise<void> {
    const { signers, domain } = this.clients;
    const settlements = rows.map((r) => ({
      taskId: r.escrowId as Hex,
      resultDigest: r.entry!.resultDigest,
      providers: r.entry!.providers.map((p) => p.to),
      amounts: r.entry!.providers.map((p) => BigInt(p.price)),
    }));
    const one = settlements.length === 1 ? settlements[0]! : undefined;
    const [fn, args] = one ? ["settle", [one, await signSettlement(signers, domain, one)]] : ["settleBatch", [settlements, await signSettlementBatch(signers, domain, settlements)]];
    const { hash, receipt } = await this.transact(fn, args, (h) => this.sent(rows, h), this.cfg.confirmations);
    const events = parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "TaskSettled" });
    for (const row of rows) {
      const event = events.find((l) => l.args.taskId.toLowerCase() === row.escrowId);
      if (!event) throw new Error(`no TaskSettled for ${row.escrowId} in ${hash}`);
      await this.markConfirmed(row, BigInt(event.args.releaseAt), receipt.blockNumber);
    }
    this.app.log.info({ txHash: hash, tasks: rows.length }, "chain: escrowed tasks settled");
  }

  /**
   * A zk escrow: `settleWithProof` with the task's proof (anyone may send it; the proof names the
   * provider paid), credited at once: the row goes straight to `released`. A proof already on chain
   * (a send whose record was lost) is adopted when it proves the same result.
   */
  private async settleZk(row: Row, status: number, resultDigest: Hex): Promise<void> {
    const e = row.entry!;
    if (status === TaskStatus.Released && resultDigest === e.resultDigest) return this.markReleased(row, undefined);
    if (status !== TaskStatus.Escrowed) {
      await this.app.db.prisma.$transaction((tx) => this.toRefund(tx, row, BigInt(e.cost), `the zk escrow is not open on chain (status ${status}) nor settled with this proof`, "pending"));
      return;
    }
    try {
      const { hash, receipt } = await this.transact("settleWithProof", [row.escrowId, ...zkProofArgs(e.zk!.proof, e.zk!.publicSignals)], (h) => this.sent([row], h), this.cfg.confirmations);
      await this.markReleased(row, receipt.blockNumber);
      this.app.log.info({ txHash: hash, taskId: row.taskId }, "chain: zk escrow settled with its proof");
    } catch (err) {
      await this.notSent(row, err);
    }
  }

  private async markReleased(row: Row, blockNumber: bigint | undefined): Promise<void> {
    const entry = { ...row.entry!, ...(blockNumber !== undefined ? { blockNumber: blockNumber.toString() } : {}) };
    await this.app.db.prisma.$executeRaw`
      UPDATE "ChainEscrow" SET status = 'released', entry = ${JSON.stringify(entry)}::jsonb, "lastError" = NULL, "updatedAt" = ${new Date()}
      WHERE "taskId" = ${row.taskId} AND status = 'pending'`;
  }

  /**
   * A send that failed. Refused for good while the escrow is still open (deadline passed, a
   * provider unregistered since, …): refunded instead. Anything else — a pause, the RPC, a send
   * that another one beat (adopted next round) — is retried.
   */
  private async notSent(row: Row, err: unknown): Promise<void> {
    if (isPermanent(err) && Number((await this.task(row.escrowId)).status) === TaskStatus.Escrowed) {
      await this.app.db.prisma.$transaction((tx) => this.toRefund(tx, row, BigInt(row.entry!.cost), `settle refused: ${errorText(err)}`, "pending"));
      return;
    }
    await this.app.db.prisma.chainEscrow.update({ where: { taskId: row.taskId }, data: { lastError: errorText(err).slice(0, 1000) } });
    this.app.log.warn({ taskId: row.taskId, error: errorText(err) }, "chain: escrow settlement not done (will retry)");
  }

  /** A send is recorded before it is waited for (its hash, one more attempt). */
  private async sent(rows: Row[], hash: Hex): Promise<void> {
    await this.app.db.prisma.chainEscrow.updateMany({ where: { taskId: { in: rows.map((r) => r.taskId) } }, data: { txHash: hash, attempts: { increment: 1 }, lastError: null } });
  }

  /**
   * Simulates `functionName(args)` on the marketplace (a refusal throws with the contract's error),
   * sends it, hands its hash to `sent`, and waits for it to be mined with `confirmations`: its
   * receipt, or it throws when the transaction reverted.
   */
  private async transact(functionName: string, args: readonly unknown[], sent?: (hash: Hex) => Promise<unknown>, confirmations = 1) {
    const { publicClient, wallet } = this.clients;
    const { request } = await publicClient.simulateContract({ account: wallet.account, address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName, args } as never);
    const hash = await wallet.writeContract(request);
    await sent?.(hash);
    const receipt = await publicClient.waitForTransactionReceipt({ hash, confirmations, timeout: 120_000 });
    if (receipt.status !== "success") throw new Error(`${functionName} reverted (${hash})`);
    return { hash, receipt };
  }

  private async markConfirmed(row: Row, releaseAt: bigint, blockNumber: bigint | undefined): Promise<void> {
    const entry = { ...row.entry!, releaseAt: releaseAt.toString(), ...(blockNumber !== undefined ? { blockNumber: blockNumber.toString() } : {}) };
    await this.app.db.prisma.$executeRaw`
      UPDATE "ChainEscrow" SET status = 'confirmed', entry = ${JSON.stringify(entry)}::jsonb, "lastError" = NULL, "updatedAt" = ${new Date()}
      WHERE "taskId" = ${row.taskId} AND status = 'pending'`;
  }

  private async setStatus(row: Row, status: string, lastError?: string): Promise<void> {
    await this.app.db.prisma.chainEscrow.update({ where: { taskId: row.taskId }, data: { status, ...(lastError !== undefined ? { lastError } : {}) } });
  }

  // ─── confirmed → released ────────────────────────────────────────────────────────────────

  private async release(): Promise<void> {
    const confirmed = await this.rows("confirmed", 500);
    if (confirmed.length === 0) return;
    const now = await this.now();
    const ready: Row[] = [];
    for (const r of confirmed.filter((r) => BigInt(r.entry?.releaseAt ?? "0") <= now).slice(0, this.cfg.batchSize)) {
      const status = Number((await this.task(r.escrowId)).status);
      if (status === TaskStatus.Settled) ready.push(r);
      else if (status === TaskStatus.Released) await this.setStatus(r, "released");
    }
    if (ready.length === 0) return;
    try {
      const { hash } = await this.transact("releaseBatch", [ready.map((r) => r.escrowId as Hex), ready.map((r) => payoutOf(r.entry!))]);
      for (const r of ready) await this.setStatus(r, "released");
      this.app.log.info({ txHash: hash, tasks: ready.length }, "chain: escrowed settlements released");
    } catch (e) {
      this.app.log.warn({ error: errorText(e) }, "chain: escrow release not done (will retry)");
    }
  }

  // ─── refund_due → refunded ───────────────────────────────────────────────────────────────

  private async refund(): Promise<void> {
    const due = await this.rows("refund_due", 500);
    if (due.length === 0) return;
    const now = await this.now();
    for (const r of due.filter((r) => BigInt(Math.floor(r.deadline.getTime() / 1000)) < now).slice(0, this.cfg.batchSize)) {
      const status = Number((await this.task(r.escrowId)).status);
      if (status === TaskStatus.Refunded) {
        await this.setStatus(r, "refunded");
        continue;
      }
      if (status !== TaskStatus.Escrowed) {
        this.app.log.error({ taskId: r.taskId, escrow: r.escrowId, status }, "chain: an escrow due a refund is neither open nor refunded on chain");
        await this.setStatus(r, "failed", `on chain status ${status} when a refund was due`);
        continue;
      }
      try {
        const { hash } = await this.transact("refund", [r.escrowId as Hex], (h) =>
          this.app.db.prisma.chainEscrow.update({ where: { taskId: r.taskId }, data: { txHash: h, attempts: { increment: 1 } } }),
        );
        await this.setStatus(r, "refunded");
        this.app.log.info({ taskId: r.taskId, txHash: hash, amount: r.amount.toString() }, "chain: escrow refunded");
      } catch (e) {
        // DeadlineNotReached (the chain's clock is behind) or the RPC: the next round tries again.
        this.app.log.warn({ taskId: r.taskId, error: errorText(e) }, "chain: escrow refund not done (will retry)");
      }
    }
  }

  // ─── confirmed + corrected → disputed ────────────────────────────────────────────────────

  /**
   * Results overturned by a re-check (Task.correction) of tasks settled on chain and not released:
   * disputed within the window — escrowed tasks (ChainEscrow) and tasks settled from deposits
   * (ChainSettlement, chain/settlements.ts) alike.
   */
  private async dispute(): Promise<void> {
    const corrected = await this.app.db.prisma.$queryRaw<Array<{ taskId: string; kind: "escrow" | "deposit" }>>`
      SELECT e."taskId", 'escrow' AS kind FROM "ChainEscrow" e JOIN "Task" t ON t.id = e."taskId"
      WHERE e."chainId" = ${this.cfg.chainId} AND e.status = 'confirmed' AND t.correction IS NOT NULL AND NOT (e.entry ? 'correctionPastWindow')
      UNION ALL
      SELECT s."taskId", 'deposit' AS kind FROM "ChainSettlement" s JOIN "Task" t ON t.id = s."taskId"
      WHERE s."chainId" = ${this.cfg.chainId} AND s.status = 'confirmed' AND t.correction IS NOT NULL AND NOT (s.entry ? 'correctionPastWindow')
      LIMIT 50`;
    for (const c of corrected) {
      try {
        await this.disputeOne(c.taskId, c.kind);
      } catch (e) {
        this.app.log.warn({ taskId: c.taskId, error: errorText(e) }, "chain: dispute not done (will retry)");
      }
    }
  }

  private async disputeOne(taskId: string, kind: "escrow" | "deposit"): Promise<void> {
    const { signers, domain } = this.clients;
    const table = kind === "escrow" ? "ChainEscrow" : "ChainSettlement";
    const row = kind === "escrow" ? await this.app.db.prisma.chainEscrow.findUniqueOrThrow({ where: { taskId } }) : await this.app.db.prisma.chainSettlement.findUniqueOrThrow({ where: { taskId } });
    const id32 = (kind === "escrow" ? (row as { escrowId: string }).escrowId : idToBytes32(taskId)) as Hex;
    const onChain = await this.task(id32);
    let status = Number(onChain.status);
    if (status === TaskStatus.Settled) {
      if (BigInt(onChain.releaseAt) <= (await this.now())) return this.pastWindow(table, taskId, status);
      const signatures = await signDispute(signers, domain, id32, onChain.resultDigest);
      const { hash } = await this.transact("dispute", [id32, signatures]);
      this.app.log.info({ taskId, txHash: hash, kind }, "chain: overturned result disputed on chain");
      status = TaskStatus.Disputed;
    }
    if (status === TaskStatus.Released) return this.pastWindow(table, taskId, status);
    if (status !== TaskStatus.Disputed) throw new Error(`task ${taskId} is ${status} on chain: not disputable`);
    // Disputed on chain (now, or by a send whose record was lost): mirror it once.
    await this.app.db.prisma.$transaction(async (tx) => {
      const n =
        kind === "escrow"
          ? await tx.$executeRaw`UPDATE "ChainEscrow" SET status = 'disputed', "updatedAt" = ${new Date()} WHERE "taskId" = ${taskId} AND status = 'confirmed'`
          : await tx.$executeRaw`UPDATE "ChainSettlement" SET status = 'disputed', "updatedAt" = ${new Date()} WHERE "taskId" = ${taskId} AND status = 'confirmed'`;
      if (n !== 1) return;
      // The payouts will not be made on chain: the payees keep their shares in the ledger.
      if (row.mirrorTxId) await reverseTransfer(tx, row.mirrorTxId, "chain_dispute", taskId);
      // An escrow's cost goes back to the requester's wallet (a deposit's back into its deposit,
      // which the reversal above already mirrors): the ledger refunded it already, so its balance pays.
      if (kind === "escrow") await this.chargeRequester(tx, row as unknown as Row, BigInt(onChain.cost), "chain_dispute_refund");
    });
  }

  private async pastWindow(table: "ChainEscrow" | "ChainSettlement", taskId: string, status: number): Promise<void> {
    this.app.log.warn({ taskId, status }, "chain: a result was overturned after the dispute window: the ledger's correction stands alone (the chain pays as settled)");
    if (table === "ChainEscrow") {
      await this.app.db.prisma.$executeRaw`UPDATE "ChainEscrow" SET entry = entry || '{"correctionPastWindow": true}'::jsonb WHERE "taskId" = ${taskId}`;
    } else {
      await this.app.db.prisma.$executeRaw`UPDATE "ChainSettlement" SET entry = entry || '{"correctionPastWindow": true}'::jsonb WHERE "taskId" = ${taskId}`;
    }
  }
}
