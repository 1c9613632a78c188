import { type Address, beginCell, type Cell, toNano } from "@ton/core";
import { internal } from "@ton/sandbox";
import { beforeEach, describe, expect, it } from "vitest";
import { bytes32ToAccount, depositForwardPayload, depositTagCell } from "../src-ts/account-tag";
import { MarketplaceError, MarketplaceOp, type PayoutOrder, PAYOUT_TON_PER_LINE, marketplaceEvents, payoutOrderCell, signPayoutOrder, signaturesCell } from "../src-ts/marketplace";
import { computeOf, createWorld, NOW, ONE, txOf, type World } from "./support/setup";

let w: World;
beforeEach(async () => {
  w = await createWorld();
});

async function deposit(amount: bigint, forwardPayload: Cell | undefined, minter = w.usdt) {
  const aliceWallet = await w.wallet(minter, w.alice.address);
  const result = await aliceWallet.sendTransfer(w.alice.getSender(), {
    to: w.marketplace.address,
    amount,
    responseTo: w.alice.address,
    forwardTonAmount: toNano("0.05"),
    forwardPayload,
  });
  const tx = txOf(result.transactions, w.marketplace.address, MarketplaceOp.transferNotification);
  return { result, tx, events: marketplaceEvents(tx.outMessages.values(), w.marketplace.address) };
}

async function marketplaceJettons(): Promise<bigint> {
  return (await w.wallet(w.usdt, w.marketplace.address)).getBalance();
}

describe("deposits", () => {
  it("credits a tagged deposit: Deposited names the account, the jettons reach the marketplace's wallet", async () => {
    const { tx, events } = await deposit(25n * ONE, depositForwardPayload("acc_alice_0001"));
    expect(computeOf(tx).exitCode).toBe(0);
    expect(events).toHaveLength(1);
    const event = events[0];
    expect(event?.type).toBe("Deposited");
    if (event?.type !== "Deposited") throw new Error("unreachable");
    expect(bytes32ToAccount(event.account)).toBe("acc_alice_0001");
    expect(event.amount).toBe(25n * ONE);
    expect(event.from?.equals(w.alice.address)).toBe(true);
    expect(await marketplaceJettons()).toBe(25n * ONE);
    expect(await w.marketplace.getJettonBalance()).toBe(25n * ONE);
    expect(await (await w.wallet(w.usdt, w.alice.address)).getBalance()).toBe(975n * ONE);
  });

  it("reads the tag inline in the forward payload too (Either bit 0)", async () => {
    const inline = beginCell().storeBit(false).storeSlice(depositTagCell("acc_inline").beginParse()).endCell();
    const { events } = await deposit(3n * ONE, inline);
    expect(events.map((e) => e.type)).toEqual(["Deposited"]);
    if (events[0]?.type === "Deposited") expect(bytes32ToAccount(events[0].account)).toBe("acc_inline");
  });

  it("keeps a deposit with no tag or a garbage tag unmatched: DepositUnmatched, never Deposited", async () => {
    const none = await deposit(5n * ONE, undefined);
    expect(none.events.map((e) => e.type)).toEqual(["DepositUnmatched"]);
    const garbage = beginCell().storeBit(true).storeRef(beginCell().storeUint(0xdeadbeef, 32).storeUint(7, 256)).endCell();
    const bad = await deposit(7n * ONE, garbage);
    expect(bad.events.map((e) => e.type)).toEqual(["DepositUnmatched"]);
    const short = beginCell().storeBit(true).storeRef(beginCell().storeUint(0x5354554e, 32).storeUint(1, 8)).endCell();
    const truncated = await deposit(1n * ONE, short);
    expect(truncated.events.map((e) => e.type)).toEqual(["DepositUnmatched"]);
    if (bad.events[0]?.type === "DepositUnmatched") expect(bad.events[0].amount).toBe(7n * ONE);
    // the funds stay in the marketplace's wallet and count toward what it holds
    expect(await marketplaceJettons()).toBe(13n * ONE);
    expect(await w.marketplace.getJettonBalance()).toBe(13n * ONE);
  });

  it("does not credit another jetton: DepositRejected, and the jettons go back to the sender", async () => {
    const { result, tx, events } = await deposit(10n * ONE, depositForwardPayload("acc_alice_0001"), w.other);
    expect(computeOf(tx).exitCode).toBe(0);
    expect(events.map((e) => e.type)).toEqual(["DepositRejected"]);
    const otherWalletOfMarketplace = await w.wallet(w.other, w.marketplace.address);
    if (events[0]?.type === "DepositRejected") expect(events[0].wallet.equals(otherWalletOfMarketplace.address)).toBe(true);
    // the refund transfer ran: the marketplace holds none of the other token, alice has all hers back
    expect(txOf(result.transactions, otherWalletOfMarketplace.address, MarketplaceOp.jettonTransfer)).toBeDefined();
    expect(await otherWalletOfMarketplace.getBalance()).toBe(0n);
    expect(await (await w.wallet(w.other, w.alice.address)).getBalance()).toBe(1_000n * ONE);
    expect(await w.marketplace.getJettonBalance()).toBe(0n);
  });

  it("does not credit a forged transfer_notification sent by anyone but its jetton wallet", async () => {
    const body = beginCell()
      .storeUint(MarketplaceOp.transferNotification, 32)
      .storeUint(0, 64)
      .storeCoins(1_000_000n * ONE)
      .storeAddress(w.alice.address)
      .storeSlice(depositForwardPayload("acc_alice_0001").beginParse())
      .endCell();
    const result = await w.alice.send({ to: w.marketplace.address, value: toNano("0.1"), body });
    const tx = txOf(result.transactions, w.marketplace.address);
    expect(marketplaceEvents(tx.outMessages.values(), w.marketplace.address).map((e) => e.type)).toEqual(["DepositRejected"]);
    expect(await w.marketplace.getJettonBalance()).toBe(0n);
  });
});

describe("payouts", () => {
  let bob: Address;
  let carol: Address;
  beforeEach(async () => {
    await deposit(100n * ONE, depositForwardPayload("acc_alice_0001"));
    bob = (await w.blockchain.treasury("bob")).address;
    carol = (await w.blockchain.treasury("carol")).address;
  });

  function order(overrides: Partial<PayoutOrder> = {}): PayoutOrder {
    return {
      marketplace: w.marketplace.address,
      nonce: 1n,
      deadline: NOW + 600,
      lines: [
        { to: bob, amount: 30n * ONE },
        { to: carol, amount: 12n * ONE },
      ],
      ...overrides,
    };
  }

  /** Signs with the given settlers (indexes into w.settlers) and sends; returns the marketplace's tx. */
  async function payout(o: PayoutOrder | Cell, signerIndexes: number[], opts: { keepOrder?: boolean; value?: bigint } = {}) {
    const cell = "lines" in o ? payoutOrderCell(o) : o;
    const signatures = signerIndexes.map((i) => {
      const key = i < 0 ? w.outsider : w.settlers[i];
      if (!key) throw new Error("no such settler");
      return { publicKey: key.publicKey, signature: signPayoutOrder(cell, key.secretKey) };
    });
    const result = await w.marketplace.sendPayout(w.relayer.getSender(), {
      order: cell,
      signatures: signaturesCell(signatures, opts.keepOrder),
      value: opts.value ?? toNano("1"),
    });
    const tx = txOf(result.transactions, w.marketplace.address, MarketplaceOp.payout);
    return { result, tx, events: marketplaceEvents(tx.outMessages.values(), w.marketplace.address) };
  }

  async function balances() {
    return {
      bob: await (await w.wallet(w.usdt, bob)).getBalance(),
      carol: await (await w.wallet(w.usdt, carol)).getBalance(),
      marketplace: await marketplaceJettons(),
      counted: await w.marketplace.getJettonBalance(),
    };
  }

  async function expectRefused(run: Promise<{ tx: Parameters<typeof computeOf>[0]; events: unknown[] }>, code: number) {
    const before = await balances();
    const { tx, events } = await run;
    expect(computeOf(tx).exitCode).toBe(code);
    expect(tx.outMessages.size).toBe(1); // only the bounce of the payout message itself
    expect(events).toEqual([]);
    expect(await balances()).toEqual(before);
  }

  it("pays each recipient's jetton wallet once on M of N signatures, and marks the nonce used", async () => {
    expect(await w.marketplace.isNonceUsed(1n)).toBe(false);
    const tonBefore = (await w.blockchain.getContract(w.marketplace.address)).balance;
    const { result, tx, events } = await payout(order(), [0, 2]);
    expect(computeOf(tx).exitCode).toBe(0);
    // the action phase ran (a failed one would undo the payout) and the relayer got its surplus back
    expect(tx.description.type === "generic" && tx.description.actionPhase?.success).toBe(true);
    expect((await w.blockchain.getContract(w.marketplace.address)).balance).toBe(tonBefore);
    expect(txOf(result.transactions, w.relayer.address)).toBeDefined();
    expect(events).toEqual([{ type: "PaidOut", nonce: 1n, count: 2, total: 42n * ONE }]);
    expect(await balances()).toEqual({ bob: 30n * ONE, carol: 12n * ONE, marketplace: 58n * ONE, counted: 58n * ONE });
    expect(await w.marketplace.isNonceUsed(1n)).toBe(true);
  });

  it("counts a payout transfer bounced back by its jetton wallet again (PayoutBounced); ignores other bounces", async () => {
    await payout(order(), [0, 1]);
    expect(await w.marketplace.getJettonBalance()).toBe(58n * ONE);
    const bouncedTransfer = (amount: bigint) => beginCell().storeUint(0xffffffff, 32).storeUint(MarketplaceOp.jettonTransfer, 32).storeUint(1n, 64).storeCoins(amount).endCell();
    const stranger = await w.blockchain.treasury("stranger");
    const ignored = await w.blockchain.sendMessage(internal({ from: stranger.address, to: w.marketplace.address, value: toNano("0.05"), bounced: true, body: bouncedTransfer(30n * ONE) }));
    expect(marketplaceEvents(txOf(ignored.transactions, w.marketplace.address).outMessages.values(), w.marketplace.address)).toEqual([]);
    expect(await w.marketplace.getJettonBalance()).toBe(58n * ONE);

    const jettonWallet = await w.usdt.getWalletAddress(w.marketplace.address);
    const bounced = await w.blockchain.sendMessage(internal({ from: jettonWallet, to: w.marketplace.address, value: toNano("0.05"), bounced: true, body: bouncedTransfer(30n * ONE) }));
    const tx = txOf(bounced.transactions, w.marketplace.address);
    expect(marketplaceEvents(tx.outMessages.values(), w.marketplace.address)).toEqual([{ type: "PayoutBounced", nonce: 1n, amount: 30n * ONE }]);
    expect(await w.marketplace.getJettonBalance()).toBe(88n * ONE);
    expect(await w.marketplace.isNonceUsed(1n)).toBe(true);
  });

  it("refuses the same nonce twice", async () => {
    await payout(order(), [0, 1]);
    await expectRefused(payout(order({ lines: [{ to: bob, amount: 1n * ONE }] }), [0, 1]), MarketplaceError.NONCE_USED);
    expect((await balances()).bob).toBe(30n * ONE);
  });

  it("refuses an expired order (now > deadline) and accepts it at the deadline", async () => {
    await expectRefused(payout(order({ deadline: NOW - 1 }), [0, 1]), MarketplaceError.EXPIRED);
    expect(await w.marketplace.isNonceUsed(1n)).toBe(false);
    const { tx } = await payout(order({ deadline: NOW }), [0, 1]);
    expect(computeOf(tx).exitCode).toBe(0);
  });

  it("refuses M-1 signatures, a duplicated signer, an unknown signer, a signature over another order", async () => {
    await expectRefused(payout(order(), [1]), MarketplaceError.INSUFFICIENT_SIGNATURES);
    await expectRefused(payout(order(), [1, 1], { keepOrder: true }), MarketplaceError.SIGNERS_NOT_ASCENDING);
    // two valid settler signatures, listed in descending public-key order
    const descending = [0, 1, 2].sort((a, b) => Buffer.compare(w.settlers[b]?.publicKey ?? Buffer.alloc(0), w.settlers[a]?.publicKey ?? Buffer.alloc(0))).slice(0, 2);
    await expectRefused(payout(order(), descending, { keepOrder: true }), MarketplaceError.SIGNERS_NOT_ASCENDING);
    await expectRefused(payout(order(), [0, -1]), MarketplaceError.UNKNOWN_SIGNER);
    const other = payoutOrderCell(order({ nonce: 2n }));
    const cell = payoutOrderCell(order());
    const forged = [0, 1].map((i) => {
      const key = w.settlers[i];
      if (!key) throw new Error("no settler");
      return { publicKey: key.publicKey, signature: signPayoutOrder(other, key.secretKey) };
    });
    const before = await balances();
    const result = await w.marketplace.sendPayout(w.relayer.getSender(), { order: cell, signatures: signaturesCell(forged), value: toNano("1") });
    expect(computeOf(txOf(result.transactions, w.marketplace.address, MarketplaceOp.payout)).exitCode).toBe(MarketplaceError.INVALID_SIGNATURE);
    expect(await balances()).toEqual(before);
    expect(await w.marketplace.isNonceUsed(1n)).toBe(false);
  });

  it("refuses an order for another marketplace, an empty order, more than it holds, too little TON", async () => {
    await expectRefused(payout(order({ marketplace: bob }), [0, 1]), MarketplaceError.WRONG_MARKETPLACE);
    await expectRefused(payout(order({ lines: [] }), [0, 1]), MarketplaceError.EMPTY_PAYOUT);
    await expectRefused(payout(order({ lines: [{ to: bob, amount: 101n * ONE }] }), [0, 1]), MarketplaceError.INSUFFICIENT_BALANCE);
    await expectRefused(payout(order(), [0, 1], { value: 2n * PAYOUT_TON_PER_LINE - 1n }), MarketplaceError.NOT_ENOUGH_TON);
  });

  it("refuses while paused and pays again once unpaused; only the admin pauses", async () => {
    const stranger = await w.blockchain.treasury("stranger");
    const denied = await w.marketplace.sendSetPaused(stranger.getSender(), true);
    expect(computeOf(txOf(denied.transactions, w.marketplace.address)).exitCode).toBe(MarketplaceError.NOT_ADMIN);
    expect(await w.marketplace.getPaused()).toBe(false);

    const paused = await w.marketplace.sendSetPaused(w.admin.getSender(), true);
    const pausedTx = txOf(paused.transactions, w.marketplace.address);
    expect(marketplaceEvents(pausedTx.outMessages.values(), w.marketplace.address)).toEqual([{ type: "PausedChanged", paused: true }]);
    await expectRefused(payout(order(), [0, 1]), MarketplaceError.PAUSED);

    await w.marketplace.sendSetPaused(w.admin.getSender(), false);
    const { tx } = await payout(order(), [0, 1]);
    expect(computeOf(tx).exitCode).toBe(0);
    expect((await balances()).bob).toBe(30n * ONE);
  });
});

describe("admin", () => {
  it("replaces the settler set (admin only, 1 <= M <= N), and the new set signs", async () => {
    expect(await w.marketplace.getThreshold()).toBe(2);
    expect(await w.marketplace.getSettlers()).toEqual(w.settlers.map((k) => k.publicKey).sort(Buffer.compare));

    const stranger = await w.blockchain.treasury("stranger");
    const denied = await w.marketplace.sendSetSettlers(stranger.getSender(), { settlers: [w.outsider.publicKey], threshold: 1 });
    expect(computeOf(txOf(denied.transactions, w.marketplace.address)).exitCode).toBe(MarketplaceError.NOT_ADMIN);
    const invalid = await w.marketplace.sendSetSettlers(w.admin.getSender(), { settlers: [w.outsider.publicKey], threshold: 2 });
    expect(computeOf(txOf(invalid.transactions, w.marketplace.address)).exitCode).toBe(MarketplaceError.INVALID_SETTLER_SET);
    const zero = await w.marketplace.sendSetSettlers(w.admin.getSender(), { settlers: [w.outsider.publicKey], threshold: 0 });
    expect(computeOf(txOf(zero.transactions, w.marketplace.address)).exitCode).toBe(MarketplaceError.INVALID_SETTLER_SET);

    const ok = await w.marketplace.sendSetSettlers(w.admin.getSender(), { settlers: [w.outsider.publicKey], threshold: 1 });
    const tx = txOf(ok.transactions, w.marketplace.address);
    expect(marketplaceEvents(tx.outMessages.values(), w.marketplace.address)).toEqual([{ type: "SettlersChanged", threshold: 1, count: 1 }]);
    expect(await w.marketplace.getSettlers()).toEqual([w.outsider.publicKey]);
    expect(await w.marketplace.getThreshold()).toBe(1);

    // the new set alone signs payouts now; a former settler is unknown
    await deposit(10n * ONE, depositForwardPayload("acc_alice_0001"));
    const bob = (await w.blockchain.treasury("bob")).address;
    const cell = payoutOrderCell({ marketplace: w.marketplace.address, nonce: 9n, deadline: NOW + 60, lines: [{ to: bob, amount: 4n * ONE }] });
    const signedBy = (key: { publicKey: Buffer; secretKey: Buffer }) => signaturesCell([{ publicKey: key.publicKey, signature: signPayoutOrder(cell, key.secretKey) }]);
    const former = w.settlers[0];
    if (!former) throw new Error("no settler");
    const refused = await w.marketplace.sendPayout(w.relayer.getSender(), { order: cell, signatures: signedBy(former), value: toNano("1") });
    expect(computeOf(txOf(refused.transactions, w.marketplace.address, MarketplaceOp.payout)).exitCode).toBe(MarketplaceError.UNKNOWN_SIGNER);
    const paid = await w.marketplace.sendPayout(w.relayer.getSender(), { order: cell, signatures: signedBy(w.outsider), value: toNano("1") });
    expect(computeOf(txOf(paid.transactions, w.marketplace.address, MarketplaceOp.payout)).exitCode).toBe(0);
    expect(await (await w.wallet(w.usdt, bob)).getBalance()).toBe(4n * ONE);
  });

  it("sets the jetton wallet once", async () => {
    const again = await w.marketplace.sendSetJettonWallet(w.admin.getSender(), w.alice.address);
    expect(computeOf(txOf(again.transactions, w.marketplace.address)).exitCode).toBe(MarketplaceError.JETTON_WALLET_ALREADY_SET);
    expect((await w.marketplace.getJettonWallet())?.equals(await w.usdt.getWalletAddress(w.marketplace.address))).toBe(true);
  });
});
