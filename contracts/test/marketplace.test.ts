/**
 * ComputeMarketplace on a real EVM (anvil): escrow, settlement by M-of-N settlers, release after the
 * dispute window, disputes, refunds, withdrawals, stake, slashing and pause — every happy path and
 * every custom error.
 */
import { type Address, type Hex, hashTypedData, keccak256, parseEther, parseEventLogs, parseUnits, toHex, zeroAddress, zeroHash } from "viem";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ETH,
  type Settlement,
  TaskStatus,
  computeMarketplaceAbi,
  stakingAbi,
  disputeTypedData,
  settlementBatchTypedData,
  settlementTypedData,
  signDispute,
  signSettlementBatch,
  signSlash,
  slashTypedData,
} from "../src-ts";
import { readArtifacts } from "../scripts/compile";
import { DISPUTE_WINDOW, MIN_STAKE, type Stun, UNBONDING_DELAY, digest, expectRevert, settledEvents, startStun } from "./support/stun";

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

const HOUR = 3_600n;

/** Creates a task; defaults: requester, mUSD, 10,000 units, deadline in 1 hour, creator set. */
async function createTask(opts: { id?: Hex; who?: Address; token?: Address; amount?: bigint; deadlineIn?: bigint; creator?: Address } = {}) {
  const id = opts.id ?? stun.taskId(Math.random());
  const token = opts.token ?? stun.usd;
  const amount = opts.amount ?? 10_000n;
  const deadline = (await stun.chain.now()) + (opts.deadlineIn ?? HOUR);
  const creator = opts.creator ?? stun.accounts.creator.address;
  const receipt = await stun.mined(
    stun.market(opts.who ?? stun.accounts.requester.address).write.createTask([id, token, amount, deadline, creator], {
      value: token === ETH ? amount : 0n,
    }),
  );
  return { id, token, amount, deadline, creator, receipt };
}

function settlement(id: Hex, providers: Address[], amounts: bigint[], result = digest(`result:${id}`)): Settlement {
  return { taskId: id, resultDigest: result, providers, amounts };
}

async function settle(s: Settlement, signers = stun.settlers.slice(0, 2)) {
  const signatures = await stun.signSettlement(s, signers);
  return stun.mined(stun.market(stun.accounts.outsider.address).write.settle([s, signatures]));
}

const claimable = (token: Address, who: Address) => stun.market().read.claimable([token, who]);
const usdBalance = (who: Address) => stun.musd().read.balanceOf([who]);

describe("createTask", () => {
  it("escrows an ERC-20: pulls the amount, records the task and emits TaskCreated", async () => {
    const { requester, creator } = stun.accounts;
    const before = await usdBalance(requester.address);
    const { id, deadline, receipt } = await createTask({ amount: 12_345n });
    expect(await usdBalance(requester.address)).toBe(before - 12_345n);
    expect(await usdBalance(stun.deployment.marketplace)).toBe(12_345n);
    const task = await stun.market().read.getTask([id]);
    expect(task).toMatchObject({
      requester: requester.address,
      deadline: Number(deadline), // uint40 in storage
      status: TaskStatus.Escrowed,
      token: stun.usd,
      releaseAt: 0,
      modelCreator: creator.address,
      amount: 12_345n,
      cost: 0n,
      resultDigest: zeroHash,
      payoutHash: zeroHash,
    });
    const [event] = parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "TaskCreated" });
    expect(event?.args).toEqual({ taskId: id, requester: requester.address, token: stun.usd, amount: 12_345n, deadline, modelCreator: creator.address });
  });

  it("escrows native ETH sent as msg.value", async () => {
    const { id } = await createTask({ token: ETH, amount: parseEther("1.5") });
    expect(await stun.chain.publicClient.getBalance({ address: stun.deployment.marketplace })).toBe(parseEther("1.5"));
    expect((await stun.market().read.getTask([id])).token).toBe(zeroAddress);
  });

  it("escrows STUN (the stake token is also an escrow token) apart from the stakes, which Staking holds", async () => {
    const staked = MIN_STAKE * 30n;
    expect(await stun.stun().read.balanceOf([stun.deployment.staking])).toBe(staked);
    expect(await stun.stun().read.balanceOf([stun.deployment.marketplace])).toBe(0n);
    await createTask({ token: stun.deployment.token, amount: 777n });
    expect(await stun.stun().read.balanceOf([stun.deployment.marketplace])).toBe(777n);
    expect(await stun.stun().read.balanceOf([stun.deployment.staking])).toBe(staked);
  });

  it("takes an ERC-2612 permit instead of an approval (createTaskWithPermit)", async () => {
    const { voter1, deployer } = stun.accounts;
    await stun.mined(stun.stun().write.transfer([voter1.address, 5_000n]));
    const deadline = (await stun.chain.now()) + HOUR;
    const { r, s, v } = await stun.signPermit(voter1, stun.deployment.marketplace, 5_000n, deadline);
    const id = stun.taskId("permit");
    await stun.mined(stun.market(voter1.address).write.createTaskWithPermit([id, stun.deployment.token, 5_000n, deadline, deployer.address, deadline, v, r, s]));
    expect(await stun.stun().read.balanceOf([voter1.address])).toBe(0n);
    expect((await stun.market().read.getTask([id])).amount).toBe(5_000n);

    // A used (or invalid) permit is ignored; without an allowance the transfer then fails.
    await stun.mined(stun.stun().write.transfer([voter1.address, 5_000n]));
    await expectRevert(
      stun.market(voter1.address).write.createTaskWithPermit([stun.taskId("permit2"), stun.deployment.token, 5_000n, deadline, deployer.address, deadline, 27, r, s]),
      "ERC20InsufficientAllowance",
      [stun.deployment.marketplace, 0n, 5_000n],
    );
    await expectRevert(stun.market(voter1.address).write.createTaskWithPermit([stun.taskId("permit3"), ETH, 1n, deadline, deployer.address, deadline, 27, r, s]), "TokenNotAllowed", [ETH]);
  });

  it("reverts: token not allowed, zero amount, past deadline, reused id, wrong ETH value, missing allowance", async () => {
    const m = stun.market(stun.accounts.requester.address);
    const now = await stun.chain.now();
    const later = now + HOUR;
    const creator = stun.accounts.creator.address;
    const stranger = stun.accounts.outsider.address;
    await expectRevert(m.write.createTask([stun.taskId(1), stranger, 1n, later, creator]), "TokenNotAllowed", [stranger]);
    await expectRevert(m.write.createTask([stun.taskId(1), stun.usd, 0n, later, creator]), "ZeroAmount", []);
    await expectRevert(m.write.createTask([stun.taskId(1), stun.usd, 1n, now - 1n, creator]), "InvalidDeadline", [now - 1n]);
    await expectRevert(m.write.createTask([stun.taskId(1), stun.usd, 1n, 2n ** 40n, creator]), "InvalidDeadline", [2n ** 40n]);
    await expectRevert(m.write.createTask([stun.taskId(1), stun.usd, 2n ** 96n, later, creator]), "SafeCastOverflowedUintDowncast", [96, 2n ** 96n]);
    await createTask({ id: stun.taskId("dup") });
    await expectRevert(m.write.createTask([stun.taskId("dup"), stun.usd, 1n, later, creator]), "TaskExists", [stun.taskId("dup")]);
    await expectRevert(m.write.createTask([stun.taskId(2), ETH, 100n, later, creator], { value: 99n }), "InvalidEthValue", [100n, 99n]);
    await expectRevert(m.write.createTask([stun.taskId(3), stun.usd, 100n, later, creator], { value: 1n }), "InvalidEthValue", [0n, 1n]);
    await expectRevert(stun.market(stun.accounts.voter2.address).write.createTask([stun.taskId(4), stun.usd, 100n, later, creator]), "ERC20InsufficientAllowance", [
      stun.deployment.marketplace,
      0n,
      100n,
    ]);
  });
});

describe("settle", () => {
  it("records the result, credits the change at once and commits the 80/15/5 split (TaskSettled)", async () => {
    const { requester, p1 } = stun.accounts;
    const { id } = await createTask({ amount: 3_000n });
    const s = settlement(id, [p1.address], [2_000n]);
    const receipt = await settle(s);
    const now = await stun.chain.now();
    const [event] = settledEvents(receipt);
    expect(event).toEqual({
      taskId: id,
      resultDigest: s.resultDigest,
      cost: 2_000n,
      change: 1_000n,
      releaseAt: now + DISPUTE_WINDOW,
      payout: { providers: [p1.address], shares: [1_600n], treasuryShare: 300n, creatorShare: 100n },
    });
    const task = await stun.market().read.getTask([id]);
    expect(task).toMatchObject({ status: TaskStatus.Settled, cost: 2_000n, resultDigest: s.resultDigest, releaseAt: Number(now + DISPUTE_WINDOW) });
    expect(await claimable(stun.usd, requester.address)).toBe(1_000n);
    expect(await claimable(stun.usd, p1.address)).toBe(0n); // only after the dispute window
  });

  it("splits among several providers pro rata with the largest-remainder rule", async () => {
    const { p1, p2, p3 } = stun.accounts;
    const { id } = await createTask({ amount: 100n });
    const [event] = settledEvents(await settle(settlement(id, [p1.address, p2.address, p3.address], [1n, 1n, 1n])));
    // total 3: treasury ⌊0.45⌋ = 0, creator ⌊0.15⌋ = 0, pool 3 → 1 each.
    expect(event?.payout).toEqual({ providers: [p1.address, p2.address, p3.address], shares: [1n, 1n, 1n], treasuryShare: 0n, creatorShare: 0n });

    const { id: id2 } = await createTask({ amount: 100n });
    const [event2] = settledEvents(await settle(settlement(id2, [p1.address, p2.address, p3.address], [10n, 10n, 13n])));
    // total 33: treasury 4, creator 1, pool 28 → 8.48, 8.48, 11.03 → 8, 8, 11 + 1 left to the first largest remainder (p1).
    expect(event2?.payout).toEqual({ providers: [p1.address, p2.address, p3.address], shares: [9n, 8n, 11n], treasuryShare: 4n, creatorShare: 1n });
  });

  it("accepts more signatures than the threshold, and a zero cost (everything back to the requester)", async () => {
    const { requester, p1 } = stun.accounts;
    const { id } = await createTask({ amount: 500n });
    const [event] = settledEvents(await settle(settlement(id, [p1.address], [0n]), stun.settlers));
    expect(event).toMatchObject({ cost: 0n, change: 500n });
    expect(await claimable(stun.usd, requester.address)).toBe(500n);
  });

  it("reverts on bad signatures: too few, unknown signer, unsorted, duplicated, malformed", async () => {
    const { id } = await createTask();
    const s = settlement(id, [stun.accounts.p1.address], [100n]);
    const m = stun.market();
    const [a, b] = stun.settlers as [(typeof stun.settlers)[number], (typeof stun.settlers)[number]];
    const sigA = await stun.signSettlement(s, [a]);
    await expectRevert(m.write.settle([s, sigA]), "InsufficientSignatures", [1n, 2n]);
    const sorted = await stun.signSettlement(s, [a, b]);
    await expectRevert(m.write.settle([s, [...sorted].reverse()]), "SignersNotAscending");
    await expectRevert(m.write.settle([s, [sorted[0]!, sorted[0]!]]), "SignersNotAscending");
    const outsider = stun.accounts.outsider;
    const withOutsider = await stun.signSettlement(s, [a, outsider]);
    await expectRevert(m.write.settle([s, withOutsider]), "UnknownSigner");
    // Signatures over another message recover to other addresses.
    const other = await stun.signSettlement({ ...s, amounts: [101n] }, [a, b]);
    await expectRevert(m.write.settle([s, other]), "UnknownSigner");
    await expectRevert(m.write.settle([s, [`0x${"11".repeat(65)}`, sorted[1]!]]), "ECDSAInvalidSignature");
    await expectRevert(m.write.settle([s, ["0x1234", sorted[1]!]]), "ECDSAInvalidSignatureLength", [2n]);
  });

  it("reverts on a task it cannot settle: unknown, settled, past deadline, no/too many providers, length mismatch, unregistered provider, cost over escrow", async () => {
    const { p1, outsider } = stun.accounts;
    const m = stun.market();
    const sign = (s: Settlement) => stun.signSettlement(s);
    const unknown = settlement(stun.taskId("nope"), [p1.address], [1n]);
    await expectRevert(m.write.settle([unknown, await sign(unknown)]), "InvalidTaskStatus", [unknown.taskId, TaskStatus.None]);

    const { id } = await createTask({ amount: 1_000n });
    const ok = settlement(id, [p1.address], [10n]);
    await settle(ok);
    await expectRevert(m.write.settle([ok, await sign(ok)]), "InvalidTaskStatus", [id, TaskStatus.Settled]);

    const { id: late, deadline } = await createTask({ deadlineIn: 100n });
    await stun.chain.increaseTime(101n);
    const lateS = settlement(late, [p1.address], [1n]);
    await expectRevert(m.write.settle([lateS, await sign(lateS)]), "DeadlinePassed", [late, deadline]);

    const { id: t } = await createTask({ amount: 1_000n });
    const none = settlement(t, [], []);
    await expectRevert(m.write.settle([none, await sign(none)]), "InvalidProviderCount", [0n]);
    const many = settlement(t, Array(33).fill(p1.address), Array(33).fill(1n));
    await expectRevert(m.write.settle([many, await sign(many)]), "InvalidProviderCount", [33n]);
    const mismatch = settlement(t, [p1.address, p1.address], [1n]);
    await expectRevert(m.write.settle([mismatch, await sign(mismatch)]), "LengthMismatch", [2n, 1n]);
    const unregistered = settlement(t, [outsider.address], [1n]);
    await expectRevert(m.write.settle([unregistered, await sign(unregistered)]), "ProviderNotRegistered", [outsider.address]);
    const tooMuch = settlement(t, [p1.address, p1.address], [600n, 401n]);
    await expectRevert(m.write.settle([tooMuch, await sign(tooMuch)]), "CostExceedsEscrow", [t, 1_001n, 1_000n]);
    // The same provider twice (two executions) and 32 providers are fine.
    const max = settlement(t, Array(32).fill(p1.address), Array(32).fill(31n));
    await stun.mined(m.write.settle([max, await sign(max)]));
  });

  it("settleBatch settles many tasks with one set of signatures, all or nothing", async () => {
    const { p1, p2, requester } = stun.accounts;
    const tasks: Hex[] = [];
    for (let i = 0; i < 3; i++) tasks.push((await createTask({ amount: 1_000n })).id);
    const batch = tasks.map((id, i) => settlement(id, [p1.address, p2.address], [100n * BigInt(i + 1), 50n]));
    const m = stun.market();
    // A batch signature is not a single settlement's signature, and vice versa.
    const single = await stun.signSettlement(batch[0]!);
    await expectRevert(m.write.settleBatch([batch.slice(0, 1), single]), "UnknownSigner");
    await expectRevert(m.write.settleBatch([[], single]), "EmptyBatch", []);

    // One bad task (over its escrow) reverts the whole batch.
    const bad = [...batch.slice(0, 2), settlement(tasks[2]!, [p1.address], [1_001n])];
    await expectRevert(m.write.settleBatch([bad, await signSettlementBatch(stun.settlers.slice(1), stun.domain, bad)]), "CostExceedsEscrow");

    const receipt = await stun.mined(m.write.settleBatch([batch, await signSettlementBatch(stun.settlers.slice(1), stun.domain, batch)]));
    const events = settledEvents(receipt);
    expect(events.map((e) => e.taskId)).toEqual(tasks);
    expect(events.map((e) => e.cost)).toEqual([150n, 250n, 350n]);
    for (const id of tasks) expect((await m.read.getTask([id])).status).toBe(TaskStatus.Settled);
    expect(await claimable(stun.usd, requester.address)).toBe(3_000n - 750n);
  });
});

describe("release, dispute, refund, withdraw", () => {
  it("release credits providers, treasury and creator after the window; withdraw pays them", async () => {
    const { p1, p2, treasury, creator, outsider } = stun.accounts;
    const { id } = await createTask({ amount: 5_000n });
    const [event] = settledEvents(await settle(settlement(id, [p1.address, p2.address], [3_000n, 1_000n])));
    const payout = event!.payout;
    const m = stun.market(outsider.address);
    await expectRevert(m.write.release([id, payout]), "DisputeWindowOpen", [id, event!.releaseAt]);
    await stun.chain.increaseTime(DISPUTE_WINDOW);
    await expectRevert(m.write.release([id, { ...payout, shares: [payout.shares[1]!, payout.shares[0]!] }]), "PayoutMismatch", [id]);
    const receipt = await stun.mined(m.write.release([id, payout]));
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "TaskReleased" })[0]?.args).toEqual({ taskId: id });
    expect((await m.read.getTask([id])).status).toBe(TaskStatus.Released);
    // 4,000: treasury 600, creator 200, pool 3,200 → 2,400 / 800.
    expect(await claimable(stun.usd, p1.address)).toBe(2_400n);
    expect(await claimable(stun.usd, p2.address)).toBe(800n);
    expect(await claimable(stun.usd, treasury.address)).toBe(600n);
    expect(await claimable(stun.usd, creator.address)).toBe(200n);
    await expectRevert(m.write.release([id, payout]), "InvalidTaskStatus", [id, TaskStatus.Released]);

    const before = await usdBalance(p1.address);
    const w = await stun.mined(stun.market(p1.address).write.withdraw([stun.usd]));
    expect(await usdBalance(p1.address)).toBe(before + 2_400n);
    expect(await claimable(stun.usd, p1.address)).toBe(0n);
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: w.logs, eventName: "Withdrawn" })[0]?.args).toEqual({
      token: stun.usd,
      account: p1.address,
      amount: 2_400n,
    });
    await expectRevert(stun.market(p1.address).write.withdraw([stun.usd]), "NothingToWithdraw", [stun.usd, p1.address]);
    await stun.mined(stun.market(p2.address).write.withdraw([stun.usd]));
    await stun.mined(stun.market(treasury.address).write.withdraw([stun.usd]));
    await stun.mined(stun.market(creator.address).write.withdraw([stun.usd]));
    await stun.mined(stun.market(stun.accounts.requester.address).write.withdraw([stun.usd]));
    expect(await usdBalance(stun.deployment.marketplace)).toBe(0n);
  });

  it("without a model creator, the creator share goes to the treasury; releaseBatch releases several", async () => {
    const { p1, treasury } = stun.accounts;
    const a = await createTask({ amount: 1_000n, creator: zeroAddress });
    const b = await createTask({ amount: 1_000n, creator: zeroAddress });
    const [ea] = settledEvents(await settle(settlement(a.id, [p1.address], [1_000n])));
    const [eb] = settledEvents(await settle(settlement(b.id, [p1.address], [200n])));
    await stun.chain.increaseTime(DISPUTE_WINDOW);
    const m = stun.market();
    await expectRevert(m.write.releaseBatch([[a.id, b.id], [ea!.payout]]), "LengthMismatch", [2n, 1n]);
    await stun.mined(
      m.write.releaseBatch([
        [a.id, b.id],
        [ea!.payout, eb!.payout],
      ]),
    );
    expect(await claimable(stun.usd, treasury.address)).toBe(150n + 50n + 30n + 10n);
    expect(await claimable(stun.usd, p1.address)).toBe(800n + 160n);
  });

  it("withdraw pays native ETH", async () => {
    const { requester, p1 } = stun.accounts;
    const { id } = await createTask({ token: ETH, amount: parseEther("2") });
    const [event] = settledEvents(await settle(settlement(id, [p1.address], [parseEther("1")])));
    await stun.chain.increaseTime(DISPUTE_WINDOW);
    await stun.mined(stun.market().write.release([id, event!.payout]));
    for (const [who, expected] of [
      [requester.address, parseEther("1")],
      [p1.address, parseEther("0.8")],
    ] as const) {
      const before = await stun.chain.publicClient.getBalance({ address: who });
      const receipt = await stun.mined(stun.market(who).write.withdraw([ETH]));
      const after = await stun.chain.publicClient.getBalance({ address: who });
      expect(after - before + receipt.gasUsed * receipt.effectiveGasPrice).toBe(expected);
    }
  });

  it("withdraw cannot be re-entered", async () => {
    const artifact = readArtifacts().get("ReentrantRequester")!;
    const wallet = stun.chain.wallets[0]!;
    const hash = await wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args: [stun.deployment.marketplace] });
    const address = (await stun.mined(hash)).contractAddress!;
    const deadline = (await stun.chain.now()) + 100n;
    const call = (functionName: string, args: unknown[], value = 0n) => wallet.writeContract({ address, abi: artifact.abi, functionName, args, value });
    const id = stun.taskId("reenter");
    await stun.mined(call("createTask", [id, deadline], 1_000n));
    await stun.chain.increaseTime(101n);
    await stun.mined(stun.market().write.refund([id]));
    await expectRevert(call("withdraw", []), "ReentrancyGuardReentrantCall", []);
    expect(await claimable(ETH, address)).toBe(1_000n);
  });

  it("dispute within the window reverses the settlement and credits the cost back", async () => {
    const { requester, p1, outsider } = stun.accounts;
    const { id } = await createTask({ amount: 1_000n });
    const s = settlement(id, [p1.address], [600n]);
    const [event] = settledEvents(await settle(s));
    const m = stun.market(outsider.address);
    const wrong = await signDispute(stun.settlers.slice(0, 2), stun.domain, id, digest("other result"));
    await expectRevert(m.write.dispute([id, wrong]), "UnknownSigner");
    const one = await signDispute(stun.settlers.slice(0, 1), stun.domain, id, s.resultDigest);
    await expectRevert(m.write.dispute([id, one]), "InsufficientSignatures", [1n, 2n]);
    const sigs = await signDispute(stun.settlers.slice(1), stun.domain, id, s.resultDigest);
    const receipt = await stun.mined(m.write.dispute([id, sigs]));
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "TaskDisputed" })[0]?.args).toEqual({ taskId: id, refunded: 600n });
    expect((await m.read.getTask([id])).status).toBe(TaskStatus.Disputed);
    expect(await claimable(stun.usd, requester.address)).toBe(1_000n);
    await stun.chain.increaseTime(DISPUTE_WINDOW);
    await expectRevert(m.write.release([id, event!.payout]), "InvalidTaskStatus", [id, TaskStatus.Disputed]);
    await expectRevert(m.write.dispute([id, sigs]), "InvalidTaskStatus", [id, TaskStatus.Disputed]);
  });

  it("dispute reverts outside the window or on an unsettled task", async () => {
    const { p1 } = stun.accounts;
    const { id } = await createTask({ amount: 1_000n });
    const s = settlement(id, [p1.address], [600n]);
    const sigs = await signDispute(stun.settlers.slice(0, 2), stun.domain, id, s.resultDigest);
    await expectRevert(stun.market().write.dispute([id, sigs]), "InvalidTaskStatus", [id, TaskStatus.Escrowed]);
    const [event] = settledEvents(await settle(s));
    await stun.chain.increaseTime(DISPUTE_WINDOW);
    await expectRevert(stun.market().write.dispute([id, sigs]), "DisputeWindowClosed", [id, event!.releaseAt]);
  });

  it("refund: anyone, after the deadline, the whole escrow, once", async () => {
    const { requester, outsider, p1 } = stun.accounts;
    const { id, deadline } = await createTask({ amount: 4_321n, deadlineIn: 600n });
    const m = stun.market(outsider.address);
    await expectRevert(m.write.refund([id]), "DeadlineNotReached", [id, deadline]);
    await stun.chain.increaseTime(601n);
    const receipt = await stun.mined(m.write.refund([id]));
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "TaskRefunded" })[0]?.args).toEqual({ taskId: id, refunded: 4_321n });
    expect((await m.read.getTask([id])).status).toBe(TaskStatus.Refunded);
    expect(await claimable(stun.usd, requester.address)).toBe(4_321n);
    await expectRevert(m.write.refund([id]), "InvalidTaskStatus", [id, TaskStatus.Refunded]);
    await expectRevert(m.write.refund([stun.taskId("unknown")]), "InvalidTaskStatus", [stun.taskId("unknown"), TaskStatus.None]);
    const { id: settled } = await createTask({ deadlineIn: 600n });
    await settle(settlement(settled, [p1.address], [1n]));
    await stun.chain.increaseTime(601n);
    await expectRevert(m.write.refund([settled]), "InvalidTaskStatus", [settled, TaskStatus.Settled]);
  });
});

describe("stake", () => {
  it("register, add, request unstake, withdraw after the unbonding delay (on Staking)", async () => {
    const { outsider } = stun.accounts;
    const m = stun.staking(outsider.address);
    await expectRevert(m.write.registerProvider([MIN_STAKE - 1n]), "StakeBelowMinimum", [MIN_STAKE - 1n, MIN_STAKE]);
    await expectRevert(m.write.addStake([1n]), "ProviderNotRegistered", [outsider.address]);
    await expectRevert(m.write.requestUnstake([1n]), "ProviderNotRegistered", [outsider.address]);
    const r = await stun.mined(m.write.registerProvider([MIN_STAKE]));
    expect(parseEventLogs({ abi: stakingAbi, logs: r.logs, eventName: "ProviderRegistered" })[0]?.args).toEqual({
      provider: outsider.address,
      stake: MIN_STAKE,
    });
    await expectRevert(m.write.registerProvider([MIN_STAKE]), "AlreadyRegistered", [outsider.address]);
    await expectRevert(m.write.addStake([0n]), "ZeroAmount", []);
    const add = await stun.mined(m.write.addStake([50n]));
    expect(parseEventLogs({ abi: stakingAbi, logs: add.logs, eventName: "StakeAdded" })[0]?.args).toEqual({
      provider: outsider.address,
      amount: 50n,
      staked: MIN_STAKE + 50n,
    });

    await expectRevert(m.write.requestUnstake([0n]), "ZeroAmount", []);
    await expectRevert(m.write.requestUnstake([MIN_STAKE + 51n]), "InsufficientStake", [MIN_STAKE + 51n, MIN_STAKE + 50n]);
    await expectRevert(m.write.withdrawStake(), "NothingUnbonding", [outsider.address]);
    const u = await stun.mined(m.write.requestUnstake([60n]));
    const end = (await stun.chain.now()) + UNBONDING_DELAY;
    expect(parseEventLogs({ abi: stakingAbi, logs: u.logs, eventName: "UnstakeRequested" })[0]?.args).toEqual({
      provider: outsider.address,
      amount: 60n,
      unbonding: 60n,
      unbondingEnd: end,
    });
    expect(await m.read.stakeOf([outsider.address])).toEqual({ staked: MIN_STAKE - 10n, unbonding: 60n, unbondingEnd: end, registered: true });
    await expectRevert(m.write.withdrawStake(), "UnbondingNotOver", [end]);
    await stun.chain.increaseTime(UNBONDING_DELAY);
    const before = await stun.stun().read.balanceOf([outsider.address]);
    const w = await stun.mined(m.write.withdrawStake());
    expect(parseEventLogs({ abi: stakingAbi, logs: w.logs, eventName: "StakeWithdrawn" })[0]?.args).toEqual({ provider: outsider.address, amount: 60n });
    expect(await stun.stun().read.balanceOf([outsider.address])).toBe(before + 60n);
    expect((await m.read.stakeOf([outsider.address])).unbonding).toBe(0n);
  });

  it("slash: M settlers take stake (active, then unbonding) to a wronged requester and the treasury", async () => {
    const { p1, requester, treasury, outsider } = stun.accounts;
    const stake = MIN_STAKE * 10n;
    await stun.mined(stun.staking(p1.address).write.requestUnstake([stake - 100n]));
    const order = { provider: p1.address, amount: 150n, beneficiary: requester.address, beneficiaryAmount: 40n, nonce: keccak256(toHex("slash-1")) };
    const sigs = await signSlash(stun.settlers.slice(0, 2), stun.domain, order);
    const m = stun.market(outsider.address);
    const receipt = await stun.mined(m.write.slash([order, sigs]));
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "ProviderSlashed" })[0]?.args).toEqual({
      provider: p1.address,
      nonce: order.nonce,
      slashed: 150n,
      beneficiary: requester.address,
      toBeneficiary: 40n,
      toTreasury: 110n,
    });
    expect(parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: "StakeSlashed" })[0]?.args).toEqual({ provider: p1.address, amount: 150n });
    const after = await stun.staking().read.stakeOf([p1.address]);
    expect(after.staked).toBe(0n);
    expect(after.unbonding).toBe(stake - 100n - 50n);
    expect(await claimable(stun.deployment.token, requester.address)).toBe(40n);
    expect(await claimable(stun.deployment.token, treasury.address)).toBe(110n);
    await expectRevert(m.write.slash([order, sigs]), "SlashNonceUsed", [order.nonce]);

    // More than what is left: capped at the stake; the beneficiary first.
    const all = { ...order, amount: 10n ** 30n, beneficiaryAmount: 10n ** 29n, nonce: keccak256(toHex("slash-2")) };
    const r2 = await stun.mined(m.write.slash([all, await signSlash(stun.settlers.slice(0, 2), stun.domain, all)]));
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: r2.logs, eventName: "ProviderSlashed" })[0]?.args).toMatchObject({
      slashed: stake - 150n,
      toBeneficiary: stake - 150n,
      toTreasury: 0n,
    });
    expect(await stun.staking().read.stakeOf([p1.address])).toMatchObject({ staked: 0n, unbonding: 0n, registered: true });
    // The slashed stake moved from Staking to the marketplace, which owes it as credits.
    expect(await stun.stun().read.balanceOf([stun.deployment.staking])).toBe(MIN_STAKE * 20n);
    expect(await stun.stun().read.balanceOf([stun.deployment.marketplace])).toBe(stake);
  });

  it("slash reverts: zero amount, beneficiary amount too large, no beneficiary, unregistered, too few signatures", async () => {
    const { p1, requester, outsider } = stun.accounts;
    const m = stun.market();
    const base = { provider: p1.address, amount: 10n, beneficiary: requester.address, beneficiaryAmount: 5n, nonce: keccak256(toHex("n")) };
    const sign = (o: typeof base) => signSlash(stun.settlers.slice(0, 2), stun.domain, o);
    await expectRevert(m.write.slash([{ ...base, amount: 0n, beneficiaryAmount: 0n }, await sign(base)]), "ZeroAmount", []);
    await expectRevert(m.write.slash([{ ...base, beneficiaryAmount: 11n }, await sign(base)]), "BeneficiaryAmountTooLarge", [11n, 10n]);
    await expectRevert(m.write.slash([{ ...base, beneficiary: zeroAddress }, await sign(base)]), "ZeroAddress", []);
    const unregistered = { ...base, provider: outsider.address };
    await expectRevert(m.write.slash([unregistered, await sign(unregistered)]), "ProviderNotRegistered", [outsider.address]);
    await expectRevert(m.write.slash([base, (await sign(base)).slice(0, 1)]), "InsufficientSignatures", [1n, 2n]);
    // No beneficiary at all: everything to the treasury.
    const toTreasury = { ...base, beneficiary: zeroAddress, beneficiaryAmount: 0n };
    await stun.mined(m.write.slash([toTreasury, await sign(toTreasury)]));
    expect(await claimable(stun.deployment.token, stun.accounts.treasury.address)).toBe(10n);
  });

  it("Staking takes stake only for the marketplace (which checks the settlers' order)", async () => {
    const { p1, outsider } = stun.accounts;
    await expectRevert(stun.staking(outsider.address).write.slash([p1.address, 1n]), "NotMarketplace", [outsider.address]);
    expect((await stun.staking().read.stakeOf([p1.address])).staked).toBe(MIN_STAKE * 10n);
  });
});

describe("pause", () => {
  it("the guardian pauses: no escrow, stake, settlement, release or withdrawal; refunds, disputes, slashes and unstake requests still work", async () => {
    const { deployer, requester, p1, outsider } = stun.accounts;
    const settledTask = await createTask({ amount: 1_000n, deadlineIn: 100n });
    const s = settlement(settledTask.id, [p1.address], [500n]);
    const [event] = settledEvents(await settle(s));
    const open = await createTask({ amount: 1_000n, deadlineIn: 100n });
    const disputable = await createTask({ amount: 1_000n, deadlineIn: 10_000n });
    const ds = settlement(disputable.id, [p1.address], [500n]);
    await settle(ds);
    const batchTask = await createTask({ amount: 1_000n, deadlineIn: 10_000n });

    await expectRevert(stun.market(outsider.address).write.pause(), "NotGuardian", [outsider.address]);
    await expectRevert(stun.market(outsider.address).write.unpause(), "NotGuardian", [outsider.address]);
    await expectRevert(stun.market(deployer.address).write.unpause(), "ExpectedPause", []);
    const r = await stun.mined(stun.market(deployer.address).write.pause());
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: r.logs, eventName: "Paused" })[0]?.args).toEqual({ account: deployer.address });
    expect(await stun.market().read.paused()).toBe(true);
    await expectRevert(stun.market(deployer.address).write.pause(), "EnforcedPause", []);

    const m = stun.market(requester.address);
    const now = await stun.chain.now();
    await expectRevert(m.write.createTask([stun.taskId("p"), stun.usd, 1n, now + HOUR, zeroAddress]), "EnforcedPause", []);
    await expectRevert(m.write.createTaskWithPermit([stun.taskId("p"), stun.usd, 1n, now + HOUR, zeroAddress, now, 27, zeroHash, zeroHash]), "EnforcedPause", []);
    const bs = settlement(batchTask.id, [p1.address], [1n]);
    await expectRevert(m.write.settle([bs, await stun.signSettlement(bs)]), "EnforcedPause", []);
    await expectRevert(m.write.settleBatch([[bs], await signSettlementBatch(stun.settlers.slice(0, 2), stun.domain, [bs])]), "EnforcedPause", []);
    // Staking obeys the marketplace's pause.
    await expectRevert(stun.staking(requester.address).write.registerProvider([MIN_STAKE]), "EnforcedPause", []);
    await expectRevert(stun.staking(p1.address).write.addStake([1n]), "EnforcedPause", []);
    await expectRevert(stun.staking(p1.address).write.withdrawStake(), "EnforcedPause", []);
    await expectRevert(m.write.withdraw([stun.usd]), "EnforcedPause", []);
    await stun.chain.increaseTime(DISPUTE_WINDOW);
    await expectRevert(m.write.release([settledTask.id, event!.payout]), "EnforcedPause", []);
    await expectRevert(m.write.releaseBatch([[settledTask.id], [event!.payout]]), "EnforcedPause", []);

    await stun.mined(m.write.refund([open.id]));
    await stun.mined(stun.staking(p1.address).write.requestUnstake([1n]));
    const order = { provider: p1.address, amount: 1n, beneficiary: zeroAddress, beneficiaryAmount: 0n, nonce: zeroHash };
    await stun.mined(m.write.slash([order, await signSlash(stun.settlers.slice(0, 2), stun.domain, order)]));

    const u = await stun.mined(stun.market(deployer.address).write.unpause());
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: u.logs, eventName: "Unpaused" })[0]?.args).toEqual({ account: deployer.address });
    await stun.mined(m.write.release([settledTask.id, event!.payout]));
    await stun.mined(m.write.withdraw([stun.usd]));
  });

  it("dispute works while paused", async () => {
    const { p1 } = stun.accounts;
    const { id } = await createTask({ amount: 1_000n });
    const s = settlement(id, [p1.address], [500n]);
    await settle(s);
    await stun.mined(stun.market().write.pause());
    await stun.mined(stun.market().write.dispute([id, await signDispute(stun.settlers.slice(0, 2), stun.domain, id, s.resultDigest)]));
    expect((await stun.market().read.getTask([id])).status).toBe(TaskStatus.Disputed);
  });
});

describe("views and EIP-712", () => {
  it("the contract's digests equal viem's EIP-712 hashes (settlement, batch, dispute, slash)", async () => {
    const { p1, p2, requester } = stun.accounts;
    const m = stun.market();
    const s1 = settlement(stun.taskId("a"), [p1.address, p2.address], [1n, 2n ** 200n]);
    const s2 = settlement(stun.taskId("b"), [p2.address], [7n]);
    expect(await m.read.settlementDigest([s1])).toBe(hashTypedData(settlementTypedData(stun.domain, s1)));
    expect(await m.read.settlementBatchDigest([[s1, s2]])).toBe(hashTypedData(settlementBatchTypedData(stun.domain, [s1, s2])));
    expect(await m.read.disputeDigest([s1.taskId, s1.resultDigest])).toBe(hashTypedData(disputeTypedData(stun.domain, s1.taskId, s1.resultDigest)));
    const order = { provider: p1.address, amount: 5n, beneficiary: requester.address, beneficiaryAmount: 2n, nonce: keccak256(toHex("x")) };
    expect(await m.read.slashDigest([order])).toBe(hashTypedData(slashTypedData(stun.domain, order)));
    await expectRevert(m.read.settlementBatchDigest([[]]), "EmptyBatch", []);
  });

  it("exposes its parameters and roles", async () => {
    const m = stun.market();
    expect(await m.read.owner()).toBe(stun.deployment.timelock);
    expect(await m.read.guardian()).toBe(stun.accounts.deployer.address);
    expect(await m.read.treasury()).toBe(stun.accounts.treasury.address);
    expect(await m.read.stakeToken()).toBe(stun.deployment.token);
    expect([await m.read.treasuryBps(), await m.read.creatorBps()]).toEqual([1_500, 500]);
    expect(await m.read.disputeWindow()).toBe(DISPUTE_WINDOW);
    const staking = stun.staking();
    expect(await m.read.staking()).toBe(stun.deployment.staking);
    expect([await staking.read.marketplace(), await staking.read.stakeToken()]).toEqual([stun.deployment.marketplace, stun.deployment.token]);
    expect([await staking.read.unbondingDelay(), await staking.read.minStake()]).toEqual([UNBONDING_DELAY, MIN_STAKE]);
    expect(await m.read.settlers()).toEqual(stun.settlers.map((s) => s.address));
    expect(await m.read.isSettler([stun.settlers[0]!.address])).toBe(true);
    expect(await m.read.isSettler([stun.accounts.outsider.address])).toBe(false);
    for (const token of [ETH, stun.usd, stun.deployment.token]) expect(await m.read.isTokenAllowed([token])).toBe(true);
    expect(await m.read.isTokenAllowed([stun.accounts.outsider.address])).toBe(false);
    expect(await m.read.previewSplit([[2_000n]])).toEqual([2_000n, 300n, 100n, [1_600n]]);
    expect(await staking.read.stakeOf([stun.accounts.p1.address])).toEqual({ staked: MIN_STAKE * 10n, unbonding: 0n, unbondingEnd: 0n, registered: true });
    expect([await staking.read.isRegistered([stun.accounts.p1.address]), await staking.read.isRegistered([stun.accounts.outsider.address])]).toEqual([true, false]);
  });
});

// The fixture funds requesters in a 6-decimal stand-in stablecoin (a wrong decimals would skew every amount above).
it("the mock stablecoin has 6 decimals", async () => {
  expect(await stun.musd().read.decimals()).toBe(6);
  expect(await usdBalance(stun.accounts.requester.address)).toBe(parseUnits("1000000", 6));
});
