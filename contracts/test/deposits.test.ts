/**
 * ComputeMarketplace deposits of Stun accounts on a real EVM (anvil): `deposit` (ERC-20, ETH,
 * permit), `settleFromDeposits` (M-of-N EIP-712 batch, FeeSplit = packages/shared splitFee, the
 * dispute window, release, dispute back into the deposit), `withdrawDeposit`, pause — every happy
 * path and every custom error — and the bytes32 id encoding of src-ts/ids.ts.
 */
import { splitFee } from "@stun/shared";
import { type Address, type Hex, hashTypedData, parseEther, parseEventLogs, zeroAddress, zeroHash } from "viem";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type DepositSettlement,
  type DepositWithdrawal,
  ETH,
  TaskStatus,
  accountToBytes32,
  bytes32ToAccount,
  computeMarketplaceAbi,
  depositSettlementBatchTypedData,
  depositWithdrawalTypedData,
  idToBytes32,
  signDepositSettlements,
  signDepositWithdrawal,
  signDispute,
} from "../src-ts";
import { DISPUTE_WINDOW, type Stun, digest, expectRevert, settledEvents, startStun } from "./support/stun";

let stun: Stun;
let snapshot: Hex;
beforeAll(async () => {
  stun = await startStun();
});
afterAll(() => stun?.stop());
beforeEach(async () => {
  snapshot = await stun.chain.snapshot();
});
afterEach(async () => {
  await stun.chain.revert(snapshot);
});

const ALICE = accountToBytes32("acc_0000alice00000000000000000");
const BOB = accountToBytes32("acc_0000bob0000000000000000000");
let seq = 0;
const newTaskId = () => idToBytes32(`tsk_deposit_${seq++}`);

const deposited = (account: Hex, token: Address) => stun.market().read.depositOf([account, token]);
const claimable = (token: Address, who: Address) => stun.market().read.claimable([token, who]);
const usdBalance = (who: Address) => stun.musd().read.balanceOf([who]);

async function deposit(account: Hex, amount: bigint, opts: { token?: Address; who?: Address } = {}) {
  const token = opts.token ?? stun.usd;
  return stun.mined(stun.market(opts.who ?? stun.accounts.requester.address).write.deposit([token, amount, account], { value: token === ETH ? amount : 0n }));
}

function entry(opts: Partial<DepositSettlement> & { providers: Address[]; amounts: bigint[] }): DepositSettlement {
  const taskId = opts.taskId ?? newTaskId();
  return {
    taskId,
    resultDigest: opts.resultDigest ?? digest(`result:${taskId}`),
    account: opts.account ?? ALICE,
    token: opts.token ?? stun.usd,
    modelCreator: opts.modelCreator ?? stun.accounts.creator.address,
    providers: opts.providers,
    amounts: opts.amounts,
  };
}

const signBatch = (batch: readonly DepositSettlement[], signers = stun.settlers.slice(0, 2)) => signDepositSettlements(signers, stun.domain, batch);

async function settleBatch(batch: DepositSettlement[], signers = stun.settlers.slice(0, 2)) {
  return stun.mined(stun.market(stun.accounts.outsider.address).write.settleFromDeposits([batch, await signBatch(batch, signers)]));
}

/** A withdrawal deadline no test's clock reaches. */
const FAR_FUTURE = 2n ** 40n;

function withdrawal(opts: Partial<DepositWithdrawal> = {}): DepositWithdrawal {
  return {
    account: opts.account ?? ALICE,
    token: opts.token ?? stun.usd,
    amount: opts.amount ?? 100n,
    to: opts.to ?? stun.accounts.requester.address,
    nonce: opts.nonce ?? idToBytes32(`wdr_${seq++}`),
    deadline: opts.deadline ?? FAR_FUTURE,
  };
}
const signWithdrawal = (w: DepositWithdrawal, signers = stun.settlers.slice(0, 2)) => signDepositWithdrawal(signers, stun.domain, w);

describe("bytes32 ids (src-ts/ids.ts)", () => {
  it("encodes an id's UTF-8 bytes right-padded, and decodes only well-formed values", () => {
    const id = "acc_00abc12345def0123456789ab";
    const encoded = accountToBytes32(id);
    expect(encoded).toBe(`0x${Buffer.from(id).toString("hex")}${"00".repeat(32 - id.length)}`);
    expect(bytes32ToAccount(encoded)).toBe(id);
    expect(bytes32ToAccount(accountToBytes32("x".repeat(32)))).toBe("x".repeat(32));
    expect(() => accountToBytes32("")).toThrow(/1–32/);
    expect(() => accountToBytes32("x".repeat(33))).toThrow(/1–32/);
    expect(() => accountToBytes32("a\0b")).toThrow(/NUL/);
    expect(bytes32ToAccount(zeroHash)).toBeUndefined();
    expect(bytes32ToAccount(`0x61${"00".repeat(30)}62`)).toBeUndefined(); // bytes after the padding
    expect(bytes32ToAccount(`0xff${"00".repeat(31)}`)).toBeUndefined(); // not UTF-8
    expect(bytes32ToAccount("0x1234")).toBeUndefined();
  });
});

describe("deposit", () => {
  it("adds an ERC-20 to the account's deposit: pulls it, emits Deposited; anyone may fund any account", async () => {
    const { requester, requester2 } = stun.accounts;
    const before = await usdBalance(requester.address);
    const receipt = await deposit(ALICE, 12_345n);
    expect(await usdBalance(requester.address)).toBe(before - 12_345n);
    expect(await usdBalance(stun.deployment.marketplace)).toBe(12_345n);
    expect(await deposited(ALICE, stun.usd)).toBe(12_345n);
    const [event] = parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "Deposited" });
    expect(event?.args).toEqual({ account: ALICE, from: requester.address, token: stun.usd, amount: 12_345n });
    await deposit(ALICE, 5n, { who: requester2.address });
    expect(await deposited(ALICE, stun.usd)).toBe(12_350n);
    expect(await deposited(BOB, stun.usd)).toBe(0n);
  });

  it("takes native ETH as msg.value, kept apart from the same account's ERC-20 deposit", async () => {
    await deposit(ALICE, parseEther("1.5"), { token: ETH });
    await deposit(ALICE, 7n);
    expect(await stun.chain.publicClient.getBalance({ address: stun.deployment.marketplace })).toBe(parseEther("1.5"));
    expect(await deposited(ALICE, ETH)).toBe(parseEther("1.5"));
    expect(await deposited(ALICE, stun.usd)).toBe(7n);
  });

  it("takes an ERC-2612 permit instead of an approval (depositWithPermit)", async () => {
    const { voter1 } = stun.accounts;
    await stun.mined(stun.stun().write.transfer([voter1.address, 5_000n]));
    const deadline = (await stun.chain.now()) + 3_600n;
    const { r, s, v } = await stun.signPermit(voter1, stun.deployment.marketplace, 5_000n, deadline);
    const m = stun.market(voter1.address);
    await stun.mined(m.write.depositWithPermit([stun.deployment.token, 5_000n, BOB, deadline, v, r, s]));
    expect(await deposited(BOB, stun.deployment.token)).toBe(5_000n);
    expect(await stun.stun().read.balanceOf([voter1.address])).toBe(0n);
    // A used permit is ignored; with no allowance the transfer then fails. ETH has no permit.
    await stun.mined(stun.stun().write.transfer([voter1.address, 5_000n]));
    await expectRevert(m.write.depositWithPermit([stun.deployment.token, 5_000n, BOB, deadline, 27, r, s]), "ERC20InsufficientAllowance", [stun.deployment.marketplace, 0n, 5_000n]);
    await expectRevert(m.write.depositWithPermit([ETH, 1n, BOB, deadline, 27, r, s]), "TokenNotAllowed", [ETH]);
  });

  it("reverts: token not allowed, zero amount, zero account, wrong ETH value, missing allowance", async () => {
    const m = stun.market(stun.accounts.requester.address);
    const stranger = stun.accounts.outsider.address;
    await expectRevert(m.write.deposit([stranger, 1n, ALICE]), "TokenNotAllowed", [stranger]);
    await expectRevert(m.write.deposit([stun.usd, 0n, ALICE]), "ZeroAmount", []);
    await expectRevert(m.write.deposit([stun.usd, 1n, zeroHash]), "ZeroAccount", []);
    await expectRevert(m.write.deposit([ETH, 100n, ALICE], { value: 99n }), "InvalidEthValue", [100n, 99n]);
    await expectRevert(m.write.deposit([stun.usd, 100n, ALICE], { value: 1n }), "InvalidEthValue", [0n, 1n]);
    await expectRevert(stun.market(stun.accounts.voter2.address).write.deposit([stun.usd, 100n, ALICE]), "ERC20InsufficientAllowance", [stun.deployment.marketplace, 0n, 100n]);
  });
});

describe("settleFromDeposits", () => {
  it("takes each task's cost from its account's deposit, settles it with the 80/15/5 split (= splitFee) and releases after the window", async () => {
    const { p1, p2, p3, treasury, creator } = stun.accounts;
    await deposit(ALICE, 10_000n);
    await deposit(BOB, 500n);
    const a = entry({ providers: [p1.address, p2.address, p3.address], amounts: [10n, 10n, 13n] });
    const b = entry({ account: BOB, providers: [p1.address], amounts: [400n], modelCreator: zeroAddress });
    const receipt = await settleBatch([a, b]);
    const now = await stun.chain.now();

    expect(await deposited(ALICE, stun.usd)).toBe(10_000n - 33n);
    expect(await deposited(BOB, stun.usd)).toBe(100n);
    const spent = parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "SettledFromDeposit" }).map((l) => l.args);
    expect(spent).toEqual([
      { taskId: a.taskId, account: ALICE, token: stun.usd, cost: 33n },
      { taskId: b.taskId, account: BOB, token: stun.usd, cost: 400n },
    ]);
    const [ea, eb] = settledEvents(receipt);
    // The server's split of the same prices, to the unit.
    const split = splitFee([10n, 10n, 13n].map((amount, i) => ({ id: String(i), amount })));
    expect(ea).toEqual({
      taskId: a.taskId,
      resultDigest: a.resultDigest,
      cost: 33n,
      change: 0n,
      releaseAt: now + DISPUTE_WINDOW,
      payout: { providers: a.providers, shares: split.providers.map((p) => p.amount), treasuryShare: split.treasury, creatorShare: split.creator },
    });
    expect(ea!.payout.shares).toEqual([9n, 8n, 11n]);
    expect(eb?.payout).toEqual({ providers: [p1.address], shares: [320n], treasuryShare: 60n, creatorShare: 20n });

    const task = await stun.market().read.getTask([a.taskId]);
    expect(task).toMatchObject({
      requester: zeroAddress,
      status: TaskStatus.Settled,
      token: stun.usd,
      amount: 33n,
      cost: 33n,
      modelCreator: creator.address,
      resultDigest: a.resultDigest,
      releaseAt: Number(now + DISPUTE_WINDOW),
      deadline: 0,
    });
    expect(await stun.market().read.taskAccount([a.taskId])).toBe(ALICE);
    expect(await stun.market().read.taskAccount([b.taskId])).toBe(BOB);

    // The same dispute window and release as an escrowed task.
    const m = stun.market(stun.accounts.outsider.address);
    await expectRevert(m.write.release([a.taskId, ea!.payout]), "DisputeWindowOpen", [a.taskId, ea!.releaseAt]);
    await expectRevert(m.write.refund([a.taskId]), "InvalidTaskStatus", [a.taskId, TaskStatus.Settled]);
    await stun.chain.increaseTime(DISPUTE_WINDOW);
    await stun.mined(
      m.write.releaseBatch([
        [a.taskId, b.taskId],
        [ea!.payout, eb!.payout],
      ]),
    );
    expect(await claimable(stun.usd, p1.address)).toBe(9n + 320n);
    expect(await claimable(stun.usd, p2.address)).toBe(8n);
    expect(await claimable(stun.usd, p3.address)).toBe(11n);
    expect(await claimable(stun.usd, creator.address)).toBe(split.creator);
    expect(await claimable(stun.usd, treasury.address)).toBe(split.treasury + 60n + 20n); // b has no creator

    const before = await usdBalance(p1.address);
    await stun.mined(stun.market(p1.address).write.withdraw([stun.usd]));
    expect(await usdBalance(p1.address)).toBe(before + 329n);
    // What stays in the marketplace is exactly the unspent deposits plus unclaimed credits.
    expect(await usdBalance(stun.deployment.marketplace)).toBe(9_967n + 100n + 8n + 11n + split.creator + split.treasury + 80n);
  });

  it("pays providers without stake on chain, and settles ETH deposits", async () => {
    const { outsider } = stun.accounts;
    await deposit(ALICE, parseEther("1"), { token: ETH });
    const e = entry({ token: ETH, providers: [outsider.address], amounts: [parseEther("0.5")] });
    const [event] = settledEvents(await settleBatch([e]));
    expect(event?.payout.shares).toEqual([parseEther("0.4")]);
    expect(await deposited(ALICE, ETH)).toBe(parseEther("0.5"));
    await stun.chain.increaseTime(DISPUTE_WINDOW);
    await stun.mined(stun.market().write.release([e.taskId, event!.payout]));
    const before = await stun.chain.publicClient.getBalance({ address: outsider.address });
    const receipt = await stun.mined(stun.market(outsider.address).write.withdraw([ETH]));
    const after = await stun.chain.publicClient.getBalance({ address: outsider.address });
    expect(after - before + receipt.gasUsed * receipt.effectiveGasPrice).toBe(parseEther("0.4"));
  });

  it("a dispute within the window puts the cost back into the paying account's deposit", async () => {
    const { p1 } = stun.accounts;
    await deposit(ALICE, 1_000n);
    const e = entry({ providers: [p1.address], amounts: [600n] });
    const [event] = settledEvents(await settleBatch([e]));
    expect(await deposited(ALICE, stun.usd)).toBe(400n);
    const receipt = await stun.mined(stun.market().write.dispute([e.taskId, await signDispute(stun.settlers.slice(0, 2), stun.domain, e.taskId, e.resultDigest)]));
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "TaskDisputed" })[0]?.args).toEqual({ taskId: e.taskId, refunded: 600n });
    expect(await deposited(ALICE, stun.usd)).toBe(1_000n);
    expect(await claimable(stun.usd, zeroAddress)).toBe(0n);
    await stun.chain.increaseTime(DISPUTE_WINDOW);
    await expectRevert(stun.market().write.release([e.taskId, event!.payout]), "InvalidTaskStatus", [e.taskId, TaskStatus.Disputed]);
  });

  it("reverts on bad signatures: too few, unknown signer, another message, a Settlement batch signature", async () => {
    await deposit(ALICE, 1_000n);
    const e = entry({ providers: [stun.accounts.p1.address], amounts: [100n] });
    const m = stun.market();
    const [a, b] = stun.settlers as [(typeof stun.settlers)[number], (typeof stun.settlers)[number]];
    await expectRevert(m.write.settleFromDeposits([[e], await signBatch([e], [a])]), "InsufficientSignatures", [1n, 2n]);
    await expectRevert(m.write.settleFromDeposits([[e], await signBatch([e], [a, stun.accounts.outsider])]), "UnknownSigner");
    await expectRevert(m.write.settleFromDeposits([[e], await signBatch([{ ...e, account: BOB }], [a, b])]), "UnknownSigner");
    await expectRevert(m.write.settleFromDeposits([[e], await signBatch([{ ...e, modelCreator: zeroAddress }], [a, b])]), "UnknownSigner");
    const plain = { taskId: e.taskId, resultDigest: e.resultDigest, providers: e.providers, amounts: e.amounts };
    await expectRevert(m.write.settleFromDeposits([[e], await stun.signSettlement(plain)]), "UnknownSigner");
    await expectRevert(m.write.settleFromDeposits([[], await signBatch([e])]), "EmptyBatch", []);
    expect(await deposited(ALICE, stun.usd)).toBe(1_000n);
  });

  it("reverts on an entry it cannot settle, all or nothing: used id, zero account, provider count, length mismatch, zero provider, deposit too small, cost over 2^96", async () => {
    const { p1, requester } = stun.accounts;
    await deposit(ALICE, 1_000n);
    const m = stun.market();
    const attempt = async (bad: DepositSettlement, error: string, args?: readonly unknown[]) => {
      const ok = entry({ providers: [p1.address], amounts: [1n] });
      const before = await deposited(ALICE, stun.usd);
      await expectRevert(m.write.settleFromDeposits([[ok, bad], await signBatch([ok, bad])]), error, args);
      expect(await deposited(ALICE, stun.usd)).toBe(before);
      expect((await m.read.getTask([ok.taskId])).status).toBe(TaskStatus.None);
    };

    const done = entry({ providers: [p1.address], amounts: [10n] });
    await settleBatch([done]);
    await attempt({ ...done, resultDigest: digest("again") }, "TaskExists", [done.taskId]);
    // An id an escrowed task already uses is taken too.
    const escrowed = newTaskId();
    await stun.mined(stun.market(requester.address).write.createTask([escrowed, stun.usd, 5n, (await stun.chain.now()) + 3_600n, zeroAddress]));
    await attempt(entry({ taskId: escrowed, providers: [p1.address], amounts: [1n] }), "TaskExists", [escrowed]);

    await attempt(entry({ account: zeroHash, providers: [p1.address], amounts: [1n] }), "ZeroAccount", []);
    await attempt(entry({ providers: [], amounts: [] }), "InvalidProviderCount", [0n]);
    await attempt(entry({ providers: Array(33).fill(p1.address), amounts: Array(33).fill(1n) }), "InvalidProviderCount", [33n]);
    await attempt(entry({ providers: [p1.address, p1.address], amounts: [1n] }), "LengthMismatch", [2n, 1n]);
    await attempt(entry({ providers: [p1.address, zeroAddress], amounts: [1n, 1n] }), "ZeroAddress", []);
    // 990 left after `done`; the batch's first entry takes 1 more.
    await attempt(entry({ providers: [p1.address, p1.address], amounts: [500n, 490n] }), "InsufficientDeposit", [ALICE, stun.usd, 990n, 989n]);
    await attempt(entry({ account: BOB, providers: [p1.address], amounts: [1n] }), "InsufficientDeposit", [BOB, stun.usd, 1n, 0n]);
    await attempt(entry({ token: ETH, providers: [p1.address], amounts: [1n] }), "InsufficientDeposit", [ALICE, ETH, 1n, 0n]);

    // A cost that does not fit the task record (uint96) is refused even when the deposit covers it.
    await stun.mined(stun.musd().write.mint([requester.address, 2n ** 97n]));
    await deposit(BOB, 2n ** 97n);
    await attempt(entry({ account: BOB, providers: [p1.address], amounts: [2n ** 96n] }), "SafeCastOverflowedUintDowncast", [96, 2n ** 96n]);

    // The same provider twice and 32 providers are fine; so is a zero cost.
    const max = entry({ providers: Array(32).fill(p1.address), amounts: Array(32).fill(30n) });
    const zero = entry({ providers: [p1.address], amounts: [0n] });
    await settleBatch([max, zero]);
    expect(await deposited(ALICE, stun.usd)).toBe(990n - 32n * 30n);
  });
});

describe("withdrawDeposit", () => {
  it("credits part of an account's unspent deposit to a wallet, once per nonce; withdraw pays it", async () => {
    const { requester2 } = stun.accounts;
    await deposit(ALICE, 1_000n);
    const w = withdrawal({ amount: 300n, to: requester2.address });
    const receipt = await stun.mined(stun.market(stun.accounts.outsider.address).write.withdrawDeposit([w, await signWithdrawal(w)]));
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "DepositWithdrawn" })[0]?.args).toEqual({
      account: ALICE,
      token: stun.usd,
      to: requester2.address,
      amount: 300n,
      nonce: w.nonce,
    });
    expect(await deposited(ALICE, stun.usd)).toBe(700n);
    expect(await claimable(stun.usd, requester2.address)).toBe(300n);
    expect(await stun.market().read.withdrawalNonceUsed([w.nonce])).toBe(true);
    const before = await usdBalance(requester2.address);
    await stun.mined(stun.market(requester2.address).write.withdraw([stun.usd]));
    expect(await usdBalance(requester2.address)).toBe(before + 300n);

    // Replaying the same signed withdrawal is refused.
    await expectRevert(stun.market().write.withdrawDeposit([w, await signWithdrawal(w)]), "WithdrawalNonceUsed", [w.nonce]);
  });

  it("reverts: zero amount, zero recipient, more than the deposit, bad signatures", async () => {
    await deposit(ALICE, 100n);
    const m = stun.market();
    const zero = withdrawal({ amount: 0n });
    await expectRevert(m.write.withdrawDeposit([zero, await signWithdrawal(zero)]), "ZeroAmount", []);
    const nowhere = withdrawal({ to: zeroAddress });
    await expectRevert(m.write.withdrawDeposit([nowhere, await signWithdrawal(nowhere)]), "ZeroAddress", []);
    const tooMuch = withdrawal({ amount: 101n });
    await expectRevert(m.write.withdrawDeposit([tooMuch, await signWithdrawal(tooMuch)]), "InsufficientDeposit", [ALICE, stun.usd, 101n, 100n]);
    const w = withdrawal({ amount: 100n });
    await expectRevert(m.write.withdrawDeposit([w, await signWithdrawal(w, stun.settlers.slice(0, 1))]), "InsufficientSignatures", [1n, 2n]);
    await expectRevert(m.write.withdrawDeposit([w, await signWithdrawal({ ...w, to: stun.accounts.outsider.address })]), "UnknownSigner");
    expect(await deposited(ALICE, stun.usd)).toBe(100n);
    await stun.mined(m.write.withdrawDeposit([w, await signWithdrawal(w, stun.settlers)]));
    expect(await deposited(ALICE, stun.usd)).toBe(0n);
  });
});

describe("withdrawDeposit deadline", () => {
  it("executes an order up to its deadline second and refuses it after (WithdrawalExpired), leaving the nonce unused", async () => {
    await deposit(ALICE, 200n);
    const m = stun.market(stun.accounts.outsider.address);
    const now = await stun.chain.now();
    // The next block's timestamp is set explicitly: exactly the deadline passes, one second later does not.
    const onTime = withdrawal({ amount: 50n, deadline: now + 100n });
    await stun.chain.testClient.setNextBlockTimestamp({ timestamp: now + 100n });
    await stun.mined(m.write.withdrawDeposit([onTime, await signWithdrawal(onTime)]));
    expect(await stun.market().read.withdrawalNonceUsed([onTime.nonce])).toBe(true);

    const late = withdrawal({ amount: 50n, deadline: now + 200n });
    const signatures = await signWithdrawal(late);
    await stun.chain.increaseTime(101n); // the latest block is at now + 201
    expect(await stun.chain.now()).toBeGreaterThan(late.deadline);
    await expectRevert(m.write.withdrawDeposit([late, signatures]), "WithdrawalExpired", [late.nonce, late.deadline]);
    expect(await stun.market().read.withdrawalNonceUsed([late.nonce])).toBe(false);
    expect(await deposited(ALICE, stun.usd)).toBe(150n);
    // Signatures bind the deadline: the same order with a later deadline is not what they signed.
    await expectRevert(m.write.withdrawDeposit([{ ...late, deadline: FAR_FUTURE }, signatures]), "UnknownSigner");
  });
});

describe("digests and pause", () => {
  it("the contract's digests are the EIP-712 hashes viem signs (src-ts/typed-data.ts)", async () => {
    const e = entry({ providers: [stun.accounts.p1.address, stun.accounts.p2.address], amounts: [3n, 4n] });
    const f = entry({ account: BOB, token: ETH, modelCreator: zeroAddress, providers: [stun.accounts.p3.address], amounts: [5n] });
    expect(await stun.market().read.depositSettlementBatchDigest([[e, f]])).toBe(hashTypedData(depositSettlementBatchTypedData(stun.domain, [e, f])));
    const w = withdrawal();
    expect(await stun.market().read.depositWithdrawalDigest([w])).toBe(hashTypedData(depositWithdrawalTypedData(stun.domain, w)));
    await expectRevert(stun.market().read.depositSettlementBatchDigest([[]]), "EmptyBatch", []);
  });

  it("while paused: no deposit, settlement from deposits or deposit withdrawal; a dispute still works", async () => {
    const { deployer, p1 } = stun.accounts;
    await deposit(ALICE, 1_000n);
    const settled = entry({ providers: [p1.address], amounts: [100n] });
    await settleBatch([settled]);
    await stun.mined(stun.market(deployer.address).write.pause());
    const m = stun.market(stun.accounts.requester.address);
    await expectRevert(m.write.deposit([stun.usd, 1n, ALICE]), "EnforcedPause", []);
    await expectRevert(m.write.depositWithPermit([stun.usd, 1n, ALICE, 0n, 27, zeroHash, zeroHash]), "EnforcedPause", []);
    const e = entry({ providers: [p1.address], amounts: [1n] });
    await expectRevert(m.write.settleFromDeposits([[e], await signBatch([e])]), "EnforcedPause", []);
    const w = withdrawal();
    await expectRevert(m.write.withdrawDeposit([w, await signWithdrawal(w)]), "EnforcedPause", []);
    await stun.mined(m.write.dispute([settled.taskId, await signDispute(stun.settlers.slice(0, 2), stun.domain, settled.taskId, settled.resultDigest)]));
    expect(await deposited(ALICE, stun.usd)).toBe(1_000n);
    await stun.mined(stun.market(deployer.address).write.unpause());
    await stun.mined(m.write.deposit([stun.usd, 1n, ALICE]));
  });
});
