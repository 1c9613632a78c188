/**
 * Solana payouts on litesvm: SPL TransferChecked batches signed by the settlement key, each payout
 * paid exactly once — across a crash between send and confirmation (a fresh queue asks the chain
 * about the stored signature instead of paying again), across a crash before the broadcast (the
 * same signed bytes are sent again), and when the blockhash expired without the transaction
 * landing (paid once with a new transaction). A transaction that lands failed reverses the debits.
 * The ledger's invariants hold after each.
 */
import { generateKeyPairSigner } from "@solana/kit";
import { beforeAll, expect, it } from "vitest";
import { StunError } from "@stun/shared";
import type { PayoutRail } from "../../../src/chains/family";
import { PayoutQueue } from "../../../src/chains/payouts";
import { SolanaPayoutRail } from "../../../src/chains/solana/payouts";
import { getBalances, getLedgerBalance, mint, SYSTEM_CHAIN } from "../../../src/ledger";
import { newId } from "../../../src/ids";
import { describeDb } from "../../support/database";
import { expectLedgerInvariantsHold, useLedgerDatabase } from "../../ledger/support";
import { createTestbed, type Testbed } from "./testbed";

describeDb("solana payouts: batched, idempotent across restarts", () => {
  const db = useLedgerDatabase();
  let bed: Testbed;
  const rail = () => new SolanaPayoutRail(bed.chain, "localnet", bed.mint, bed.settlement);
  const queue = (r: PayoutRail = rail()) => new PayoutQueue(db(), r, { maxBatch: 10 });
  const funded = async (amount: bigint) => {
    const id = newId("acc");
    await db().prisma.account.create({ data: { id } });
    await db().prisma.$transaction((tx) => mint(tx, id, amount));
    return id;
  };
  const recipients = async (n: number) => Promise.all(Array.from({ length: n }, () => bed.newUser(0n)));
  const rowsOf = (ids: string[]) => db().prisma.externalPayout.findMany({ where: { id: { in: ids } }, orderBy: { createdAt: "asc" } });

  beforeAll(async () => {
    bed = await createTestbed();
  });

  it("pays a batch once across a crash between send and confirmation", async () => {
    const account = await funded(10_000n);
    const to = await recipients(3);
    const q1 = queue();
    const payouts = [];
    for (const [i, r] of to.entries()) payouts.push(await q1.request(account, r.address, BigInt(100 * (i + 1))));
    expect((await getBalances(db(), account)).balance).toBe(10_000n - 600n);
    const settlementBefore = await bed.balance(bed.settlement.address);
    const sendsBefore = bed.chain.sends;

    // The first instance signs, stores and broadcasts, then "crashes" before confirming.
    expect(await q1.sendPending()).toMatchObject({ sent: 3 });
    const sent = await rowsOf(payouts.map((p) => p.id));
    expect(sent.map((r) => r.status)).toEqual(["sent", "sent", "sent"]);
    expect(new Set(sent.map((r) => r.txId)).size).toBe(1); // one transaction for the batch
    expect(sent[0]!.lifetime).toContain("blockhash");

    // A fresh instance confirms from the stored signature; it does not pay again.
    const q2 = queue();
    expect(await q2.tick()).toEqual({ sent: 0, confirmed: 3, failed: 0, expired: 0 });
    expect(await q2.tick()).toEqual({ sent: 0, confirmed: 0, failed: 0, expired: 0 });
    expect(bed.chain.sends - sendsBefore).toBe(1);
    const done = await rowsOf(payouts.map((p) => p.id));
    expect(done.map((r) => [r.status, r.attempts])).toEqual([
      ["confirmed", 1],
      ["confirmed", 1],
      ["confirmed", 1],
    ]);
    for (const [i, r] of to.entries()) expect(await bed.balance(r.address)).toBe(BigInt(100 * (i + 1)));
    expect(settlementBefore - (await bed.balance(bed.settlement.address))).toBe(600n);
    await expectLedgerInvariantsHold(db());
  });

  it("sends the same signed bytes again after a crash before the broadcast: paid once", async () => {
    const account = await funded(1_000n);
    const [r] = await recipients(1);
    const crashing: PayoutRail = Object.assign(Object.create(rail()), {
      broadcast: async () => {
        throw new Error("crash: the process died before the broadcast");
      },
    });
    const p = await queue(crashing).request(account, r!.address, 42n);
    await queue(crashing).sendPending();
    const [row] = await rowsOf([p.id]);
    expect(row).toMatchObject({ status: "sent", attempts: 1 });
    expect(bed.chain.landed.has(row!.txId!)).toBe(false);

    const q = queue();
    expect(await q.tick()).toEqual({ sent: 0, confirmed: 0, failed: 0, expired: 0 }); // in flight: rebroadcast
    expect(await q.tick()).toEqual({ sent: 0, confirmed: 1, failed: 0, expired: 0 });
    expect(await rowsOf([p.id])).toMatchObject([{ status: "confirmed", attempts: 1, txId: row!.txId }]);
    expect(await bed.balance(r!.address)).toBe(42n);
    await expectLedgerInvariantsHold(db());
  });

  it("resends once, with a new blockhash, a payout whose transaction expired without landing", async () => {
    const account = await funded(1_000n);
    const to = await recipients(2);
    const q1 = queue();
    const ids = [(await q1.request(account, to[0]!.address, 300n)).id, (await q1.request(account, to[1]!.address, 200n)).id];
    bed.chain.dropNext(); // the network loses the transaction
    await q1.sendPending();
    const [lost] = await rowsOf(ids);
    expect(lost).toMatchObject({ status: "sent", attempts: 1 });
    bed.chain.expireBlockhash();

    const q2 = queue();
    const t = await q2.tick();
    expect(t).toEqual({ sent: 2, confirmed: 0, failed: 0, expired: 2 });
    const resent = await rowsOf(ids);
    expect(resent.map((r) => r.status)).toEqual(["sent", "sent"]);
    expect(resent[0]!.txId).not.toBe(lost!.txId);
    expect(resent[0]!.lastError).toContain("expired without landing");
    expect(await q2.tick()).toEqual({ sent: 0, confirmed: 2, failed: 0, expired: 0 });
    expect(await q2.tick()).toEqual({ sent: 0, confirmed: 0, failed: 0, expired: 0 });
    expect((await rowsOf(ids)).map((r) => [r.status, r.attempts])).toEqual([
      ["confirmed", 2],
      ["confirmed", 2],
    ]);
    expect(bed.chain.landed.has(lost!.txId!)).toBe(false);
    expect(await bed.balance(to[0]!.address)).toBe(300n);
    expect(await bed.balance(to[1]!.address)).toBe(200n);
    await expectLedgerInvariantsHold(db());
  });

  it("reverses the debits of a batch whose transaction landed and failed", async () => {
    const account = await funded(5_000_000_000n);
    const [r] = await recipients(1);
    const q = queue();
    const p = await q.request(account, r!.address, 4_000_000_000n); // more than the settlement account holds
    const chainBefore = await getLedgerBalance(db(), SYSTEM_CHAIN);
    await q.tick();
    expect(await q.tick()).toMatchObject({ failed: 1 });
    const [row] = await rowsOf([p.id]);
    expect(row).toMatchObject({ status: "failed" });
    expect(row!.lastError).toMatch(/failed/);
    expect((await getBalances(db(), account)).balance).toBe(5_000_000_000n);
    expect(await getLedgerBalance(db(), SYSTEM_CHAIN)).toBe(chainBefore - 4_000_000_000n);
    expect(await bed.balance(r!.address)).toBe(0n);
    await expectLedgerInvariantsHold(db());
  });

  it("batches as many recipients as fit one transaction, creating the token accounts new wallets lack", async () => {
    const account = await funded(100_000n);
    const holders = await recipients(6);
    const fresh = await Promise.all(Array.from({ length: 6 }, () => generateKeyPairSigner()));
    const q = queue();
    const fit = await rail().fit(fresh.map((r, i) => ({ id: String(i), to: r.address, amount: 1n })));
    expect(fit.length).toBe(6);
    const ids = [];
    const to = [...holders, ...fresh, fresh[0]!]; // 13 payouts, the last to a wallet paid earlier in the queue
    for (const r of to) ids.push((await q.request(account, r.address, 7n)).id);
    await q.tick();
    await q.tick();
    const rows = await rowsOf(ids);
    expect(rows.every((row) => row.status === "confirmed")).toBe(true);
    expect(new Set(rows.map((row) => row.txId)).size).toBe(2); // 10 + 3 (SOLANA_PAYOUT_BATCH 10)
    for (const r of holders) expect(await bed.balance(r.address)).toBe(7n);
    for (const r of fresh.slice(1)) expect(await bed.balance(r.address)).toBe(7n);
    expect(await bed.balance(fresh[0]!.address)).toBe(14n);
    await expectLedgerInvariantsHold(db());
  });

  it("pays twice to one new wallet in one batch with one token-account create", async () => {
    const account = await funded(1_000n);
    const wallet = await generateKeyPairSigner();
    const q = queue();
    const ids = [(await q.request(account, wallet.address, 5n)).id, (await q.request(account, wallet.address, 6n)).id];
    expect(await q.tick()).toMatchObject({ sent: 2 });
    expect(await q.tick()).toMatchObject({ confirmed: 2 });
    const rows = await rowsOf(ids);
    expect(rows[0]!.txId).toBe(rows[1]!.txId);
    expect(await bed.balance(wallet.address)).toBe(11n);
    await expectLedgerInvariantsHold(db());
  });

  it("refuses a bad address and an amount beyond the balance with stable codes", async () => {
    const account = await funded(10n);
    const q = queue();
    await expect(q.request(account, "not-an-address", 1n)).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    await expect(q.request(account, bed.payer.address, 0n)).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    await expect(q.request(account, bed.payer.address, 11n)).rejects.toBeInstanceOf(StunError);
    await expect(q.request(account, bed.payer.address, 11n)).rejects.toMatchObject({ code: "INSUFFICIENT_FUNDS" });
    expect(await db().prisma.externalPayout.count({ where: { accountId: account } })).toBe(0);
    await expectLedgerInvariantsHold(db());
  });
});
