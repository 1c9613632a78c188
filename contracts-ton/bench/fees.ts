/**
 * Fees of the marketplace in @ton/sandbox (default mainnet config): a tagged deposit (the
 * marketplace's transfer_notification transaction) and payouts of 1 and 10 recipients.
 *
 *   npx tsx contracts-ton/bench/fees.ts
 *
 * Per row: the marketplace's own transaction — gas units, compute fee, forward fees of the messages
 * it sends (action phase), total fees — and, for context, the fees of the whole trace (every
 * transaction the message caused, jetton wallets included) and what the sender's TON balance lost.
 */
import type { BlockchainTransaction, SendMessageResult } from "@ton/sandbox";
import { toNano } from "@ton/core";
import { depositForwardPayload } from "../src-ts/account-tag";
import { MarketplaceOp, payoutOrderCell, signaturesCell, signPayoutOrder } from "../src-ts/marketplace";
import { computeOf, createWorld, NOW, ONE, txOf } from "../test/support/setup";

export interface FeeRow {
  operation: string;
  gasUsed: bigint;
  computeFee: bigint;
  forwardFees: bigint;
  totalFees: bigint;
  traceFees: bigint;
  senderSpent: bigint;
}

function row(operation: string, tx: BlockchainTransaction, result: SendMessageResult, senderSpent: bigint): FeeRow {
  const d = tx.description;
  const computeFee = d.type === "generic" && d.computePhase.type === "vm" ? d.computePhase.gasFees : 0n;
  const forwardFees = d.type === "generic" ? (d.actionPhase?.totalFwdFees ?? 0n) : 0n;
  return {
    operation,
    gasUsed: computeOf(tx).gasUsed,
    computeFee,
    forwardFees,
    totalFees: tx.totalFees.coins,
    traceFees: result.transactions.reduce((sum, t) => sum + t.totalFees.coins, 0n),
    senderSpent,
  };
}

export async function measureFees(): Promise<FeeRow[]> {
  const w = await createWorld();
  const rows: FeeRow[] = [];

  const aliceWallet = await w.wallet(w.usdt, w.alice.address);
  let before = await w.alice.getBalance();
  const deposited = await aliceWallet.sendTransfer(w.alice.getSender(), {
    to: w.marketplace.address,
    amount: 500n * ONE,
    responseTo: w.alice.address,
    forwardTonAmount: toNano("0.05"),
    forwardPayload: depositForwardPayload("acc_2f9c1d7e4b6a8c0e1f3a5b7d9e"),
  });
  rows.push(row("deposit (transfer_notification)", txOf(deposited.transactions, w.marketplace.address, MarketplaceOp.transferNotification), deposited, before - (await w.alice.getBalance())));

  let nonce = 1n;
  for (const count of [1, 10]) {
    const lines = [];
    for (let i = 0; i < count; i++) lines.push({ to: (await w.blockchain.treasury(`recipient-${i}`)).address, amount: ONE + BigInt(i) });
    const cell = payoutOrderCell({ marketplace: w.marketplace.address, nonce: nonce++, deadline: NOW + 600, lines });
    const signatures = signaturesCell(w.settlers.slice(0, 2).map((k) => ({ publicKey: k.publicKey, signature: signPayoutOrder(cell, k.secretKey) })));
    before = await w.relayer.getBalance();
    const paid = await w.marketplace.sendPayout(w.relayer.getSender(), { order: cell, signatures, value: toNano("0.05") * BigInt(count) + toNano("0.05") });
    const tx = txOf(paid.transactions, w.marketplace.address, MarketplaceOp.payout);
    if (computeOf(tx).exitCode !== 0) throw new Error(`payout of ${count} failed: exit ${computeOf(tx).exitCode}`);
    rows.push(row(`payout, ${count} recipient${count > 1 ? "s" : ""} (2-of-3 signatures)`, tx, paid, before - (await w.relayer.getBalance())));
  }
  return rows;
}

function ton(nano: bigint): string {
  return `${nano.toLocaleString("en-US")} (${(Number(nano) / 1e9).toFixed(6)} TON)`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await measureFees();
  console.log("| operation | gas | compute fee | forward fees | marketplace tx total | whole trace | sender spent |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(`| ${r.operation} | ${r.gasUsed.toLocaleString("en-US")} | ${ton(r.computeFee)} | ${ton(r.forwardFees)} | ${ton(r.totalFees)} | ${ton(r.traceFees)} | ${ton(r.senderSpent)} |`);
  }
}
