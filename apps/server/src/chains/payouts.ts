/**
 * Payouts (withdrawals) on any chain family, each paid at most once, batched where they fit.
 *
 * `request` debits the ledger (`acct:<id>:available → system:chain`, kind `external_payout`) and
 * writes an `ExternalPayout` row `pending` in the same database transaction. `tick`:
 * 1. checks every `sent` transaction (rows sharing a txId are one batch) with the rail:
 *    confirmed → `confirmed`; landed but failed → `failed` and the ledger debit reversed (kind
 *    `external_payout_reversed`); still in flight → broadcast the same signed bytes again (they can
 *    land at most once); expired (provably never landed, never can) → back to `pending`;
 * 2. takes the oldest `pending` rows, as many as fit one transaction, signs it, stores its txId,
 *    lifetime and bytes on the rows (`sent`) and only then broadcasts it. An order the chain refuses
 *    outright while being prepared (`PayoutRefused`: nothing sent, and no earlier transaction of a
 *    pending row can still land) is `failed` and its debit reversed.
 * A crash anywhere leaves rows `pending` (nothing signed left the process) or `sent` (the next
 * tick asks the chain about the stored txId instead of paying again).
 */
import { StunError } from "@stun/shared";
import type { Database, SqlClient } from "../db/database";
import { newId } from "../ids";
import { SYSTEM_CHAIN, available, postTransfer } from "../ledger";
import { type PayoutOrder, type PayoutRail, PayoutRefused, type PreparedPayout } from "./family";

export interface PayoutTick {
  sent: number;
  confirmed: number;
  failed: number;
  /** Payouts whose transaction expired unlanded: back to pending (and, in the same tick, sent anew). */
  expired: number;
}

export interface PayoutView {
  id: string;
  accountId: string;
  to: string;
  amount: bigint;
  status: string;
  txId: string | null;
  attempts: number;
  lastError: string | null;
}

type Row = { id: string; toAddress: string; amount: bigint; txId: string | null; lifetime: string | null; wire: string | null; accountId: string };

export class PayoutQueue {
  constructor(
    private readonly db: Database,
    private readonly rail: PayoutRail,
    private readonly opts: { maxBatch?: number; log?: (msg: string, data: Record<string, unknown>) => void } = {},
  ) {}

  /**
   * Debits the account and queues a payout of `amount` token base units to `to`. `guard` runs first
   * in the same database transaction (e.g. EVM: enough of the account's deposit left on chain) and
   * refuses by throwing.
   */
  async request(accountId: string, to: string, amount: bigint, opts: { guard?: (tx: SqlClient) => Promise<void> } = {}): Promise<PayoutView> {
    if (amount <= 0n) throw new StunError("VALIDATION_FAILED", "amount must be positive");
    if (!this.rail.isAddress(to)) throw new StunError("VALIDATION_FAILED", `not a ${this.rail.family} address: ${JSON.stringify(to.slice(0, 100))}`);
    const id = newId("xpay");
    const row = await this.db.prisma.$transaction(async (tx) => {
      await opts.guard?.(tx);
      const { txId } = await postTransfer(tx, {
        kind: "external_payout",
        entries: [
          { account: available(accountId), amount: -amount },
          { account: SYSTEM_CHAIN, amount },
        ],
      });
      return tx.externalPayout.create({
        data: { id, family: this.rail.family, network: this.rail.network, accountId, toAddress: to, token: this.rail.token, amount, status: "pending", ledgerTxId: txId },
      });
    });
    return view(row);
  }

  async get(id: string): Promise<PayoutView | undefined> {
    const row = await this.db.prisma.externalPayout.findUnique({ where: { id } });
    return row ? view(row) : undefined;
  }

  async tick(): Promise<PayoutTick> {
    const result: PayoutTick = { sent: 0, confirmed: 0, failed: 0, expired: 0 };
    await this.checkSent(result);
    await this.sendPending(result);
    return result;
  }

  /** Step 1: the chain's word on every sent transaction. */
  async checkSent(result: PayoutTick = { sent: 0, confirmed: 0, failed: 0, expired: 0 }): Promise<PayoutTick> {
    const rows = await this.rows("sent");
    const byTx = new Map<string, Row[]>();
    for (const r of rows) byTx.set(r.txId!, [...(byTx.get(r.txId!) ?? []), r]);
    for (const [txId, batch] of byTx) {
      const prepared: PreparedPayout = { txId, lifetime: batch[0]!.lifetime ?? "", wire: batch[0]!.wire ?? "" };
      const status = await this.rail.status(prepared, batch.map(orderOf));
      const ids = batch.map((r) => r.id);
      if (status.state === "confirmed") {
        await this.db.prisma.externalPayout.updateMany({ where: { id: { in: ids }, status: "sent", txId }, data: { status: "confirmed", confirmedAt: new Date() } });
        result.confirmed += ids.length;
      } else if (status.state === "failed") {
        await this.fail(batch, "sent", `transaction ${txId} failed: ${status.reason}`);
        result.failed += ids.length;
      } else if (status.state === "expired") {
        await this.db.prisma.externalPayout.updateMany({
          where: { id: { in: ids }, status: "sent", txId },
          data: { status: "pending", txId: null, lifetime: null, wire: null, lastError: `transaction ${txId} expired without landing` },
        });
        this.opts.log?.("payout transaction expired unlanded: paying with a new one", { txId, payouts: ids.length });
        result.expired += ids.length;
      } else {
        await this.rail.broadcast(prepared).catch((e) => this.opts.log?.("payout rebroadcast failed", { txId, error: String(e) }));
      }
    }
    return result;
  }

  /** Step 2: the oldest pending payouts, batched, stored as sent, then broadcast. */
  async sendPending(result: PayoutTick = { sent: 0, confirmed: 0, failed: 0, expired: 0 }): Promise<PayoutTick> {
    const max = this.opts.maxBatch ?? 10;
    for (;;) {
      const pending = await this.rows("pending", max);
      if (pending.length === 0) return result;
      const orders: PayoutOrder[] = pending.map(orderOf);
      const batch = await this.rail.fit(orders);
      if (batch.length === 0) throw new Error(`payout ${orders[0]!.id} does not fit a transaction`);
      let prepared: PreparedPayout;
      try {
        prepared = await this.rail.prepare(batch);
      } catch (e) {
        const refused = e instanceof PayoutRefused ? pending.find((r) => r.id === e.orderId) : undefined;
        if (!refused) throw e;
        await this.fail([refused], "pending", (e as PayoutRefused).message);
        result.failed++;
        continue;
      }
      const ids = batch.map((o) => o.id);
      const moved = await this.db.prisma.externalPayout.updateMany({
        where: { id: { in: ids }, status: "pending" },
        data: { status: "sent", txId: prepared.txId, lifetime: prepared.lifetime, wire: prepared.wire, attempts: { increment: 1 }, sentAt: new Date() },
      });
      if (moved.count !== ids.length) throw new Error("payouts changed while being sent (two submitters?)");
      result.sent += ids.length;
      await this.rail.broadcast(prepared).catch((e) => this.opts.log?.("payout broadcast failed (the next tick asks the chain)", { txId: prepared.txId, error: String(e) }));
      if (pending.length < max) return result;
    }
  }

  private async rows(status: string, take?: number): Promise<Row[]> {
    return this.db.prisma.externalPayout.findMany({
      where: { family: this.rail.family, network: this.rail.network, status },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take,
      select: { id: true, toAddress: true, amount: true, txId: true, lifetime: true, wire: true, accountId: true },
    });
  }

  /** A landed, failed transaction (or a refused order) paid nothing: its payouts fail and their debits are reversed, once (the status guard). */
  private async fail(batch: Row[], from: "sent" | "pending", reason: string): Promise<void> {
    await this.db.prisma.$transaction(async (tx) => {
      for (const r of batch) {
        const n = await tx.externalPayout.updateMany({ where: { id: r.id, status: from }, data: { status: "failed", lastError: reason.slice(0, 1000) } });
        if (n.count === 0) continue;
        await postTransfer(tx, {
          kind: "external_payout_reversed",
          entries: [
            { account: SYSTEM_CHAIN, amount: -r.amount },
            { account: available(r.accountId), amount: r.amount },
          ],
        });
      }
    });
    this.opts.log?.("payout transaction failed: debits reversed", { reason, payouts: batch.length });
  }
}

const orderOf = (r: Row): PayoutOrder => ({ id: r.id, to: r.toAddress, amount: r.amount, accountId: r.accountId });

const view = (r: { id: string; accountId: string; toAddress: string; amount: bigint; status: string; txId: string | null; attempts: number; lastError: string | null }): PayoutView => ({
  id: r.id,
  accountId: r.accountId,
  to: r.toAddress,
  amount: r.amount,
  status: r.status,
  txId: r.txId,
  attempts: r.attempts,
  lastError: r.lastError,
});
