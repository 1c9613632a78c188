/**
 * Settlement with a zkML proof on a real EVM (anvil) with real Groth16 proofs: an MLP 4-8-3 built
 * with @stun/testkit, compiled to a circuit by @stun/circuits (development keys), its snarkjs
 * verifier exported, compiled with solc-js, deployed and registered through the timelock; zk tasks
 * escrowed with createZkTask and settled by anyone with settleWithProof — and every way a proof
 * can be wrong refused with its own custom error.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type InferenceProof,
  type ModelArtifacts,
  compileModelCircuit,
  exportModelVerifier,
  inputHashOf,
  proveInference,
  shutdownZk,
  solidityCalldata,
  taskIdToField,
  verifyInference,
} from "@stun/circuits";
import { buildMlp } from "@stun/testkit";
import { type Address, type Hex, encodeFunctionData, getAddress, parseEther, parseEventLogs, zeroAddress, zeroHash } from "viem";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ETH,
  TaskStatus,
  type ZkProofArgs,
  computeMarketplaceAbi,
  deployAndRegisterZkVerifier,
  idToBytes32,
  settleZkTask,
  zkProofArgs,
  zkProofArgsFromCalldata,
  zkProviderField,
  zkResultDigest,
  zkTaskField,
  zkProofCheckerAbi,
} from "../src-ts";
import { type Stun, digest, expectRevert, startStun } from "./support/stun";

const HOUR = 3_600n;
const DAY = 86_400n;
const T1 = "tsk_zk_settlement_test_0001";
const T2 = "tsk_zk_settlement_test_0002";
const x = [0.75, -1.5, 2.25, 0.3];
const x2 = [0.5, 0.5, -1, 1];

let stun: Stun;
let snapshot: Hex;
let tmp: string;
let A: ModelArtifacts; // the task's model (seed 11)
let B: ModelArtifacts; // another model's weights (seed 12), same architecture
let verifierA: Address;
let nPublic: number;
let inputHash: string;
let honest: InferenceProof; // A on x, task T1, provider p1
let otherTask: InferenceProof; // A on x, task T2, provider p1
let otherModel: InferenceProof; // B on x, task T1, provider p1
let otherInput: InferenceProof; // A on x2, task T1, provider p1

const wallet = (who: Address) => stun.chain.wallets.find((w) => w.account.address === who)!;
const claimable = (token: Address, who: Address) => stun.market().read.claimable([token, who]);

/** Schedules `data` on the marketplace through the timelock, waits the delay, and returns the execute call. */
async function viaTimelock(data: Hex) {
  const { deployment, chain } = stun;
  const op = [deployment.marketplace, 0n, data, zeroHash, digest(`op:${data}:${Math.random()}`)] as const;
  const delay = await stun.timelock().read.getMinDelay();
  await stun.mined(stun.timelock().write.schedule([...op, delay]));
  await chain.increaseTime(delay);
  return stun.timelock().write.execute([...op]);
}
const setZkVerifierData = (modelHash: string | bigint, verifier: Address, n: number) =>
  encodeFunctionData({ abi: computeMarketplaceAbi, functionName: "setZkVerifier", args: [BigInt(modelHash), verifier, n] });

/** A zk task for model A on input x: ETH by default, deadline in 1 hour, creator set. */
async function createZkTask(opts: { id?: string; modelHash?: string; inputHash?: string; token?: Address; amount?: bigint; creator?: Address; deadlineIn?: bigint } = {}) {
  const id = idToBytes32(opts.id ?? T1);
  const token = opts.token ?? ETH;
  const amount = opts.amount ?? parseEther("1") + 7n; // odd, so the split rounds
  const deadline = (await stun.chain.now()) + (opts.deadlineIn ?? HOUR);
  const creator = opts.creator ?? stun.accounts.creator.address;
  const receipt = await stun.mined(
    stun.market(stun.accounts.requester.address).write.createZkTask([id, token, amount, deadline, creator, BigInt(opts.modelHash ?? A.modelHash), BigInt(opts.inputHash ?? inputHash)], {
      value: token === ETH ? amount : 0n,
    }),
  );
  return { id, token, amount, deadline, creator, receipt };
}

/** settleWithProof from `who` (default: an outsider, neither requester nor provider). */
const submit = (taskId: Hex, proof: ZkProofArgs, who: Address = stun.accounts.outsider.address) => stun.market(who).write.settleWithProof([taskId, ...proof]);

const verifyProofAbi = [
  {
    type: "function",
    name: "verifyProof",
    stateMutability: "view",
    inputs: [{ type: "uint256[2]" }, { type: "uint256[2][2]" }, { type: "uint256[2]" }, { type: "uint256[7]" }],
    outputs: [{ type: "bool" }],
  },
] as const;

const args = (p: InferenceProof, signals: readonly (string | bigint)[] = p.publicSignals) => zkProofArgs(p.proof, signals);

beforeAll(async () => {
  stun = await startStun();
  const p1 = stun.accounts.p1.address;
  const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 11 });
  const other = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 12 });
  [A, B] = await Promise.all([compileModelCircuit(mlp.bytes), compileModelCircuit(other.bytes)]);
  tmp = mkdtempSync(join(tmpdir(), "stun-zk-verifier-"));
  const solPath = await exportModelVerifier(A, "Mlp11Verifier", tmp);
  // The marketplace's owner is the timelock; the deployer is one of its proposers (as in local mode).
  const deployed = await deployAndRegisterZkVerifier(stun.chain.wallets[0]!, {
    publicClient: stun.chain.publicClient,
    marketplace: stun.deployment.marketplace,
    modelHash: A.modelHash,
    source: readFileSync(solPath, "utf8"),
    contractName: "Mlp11Verifier",
    waitForDelay: (s) => stun.chain.increaseTime(s),
  });
  verifierA = deployed.address;
  nPublic = deployed.nPublic;
  inputHash = await inputHashOf(A.model, x);
  honest = await proveInference(A, x, { taskId: T1, provider: p1 });
  otherTask = await proveInference(A, x, { taskId: T2, provider: p1 });
  otherModel = await proveInference(B, x, { taskId: T1, provider: p1 });
  otherInput = await proveInference(A, x2, { taskId: T1, provider: p1 });
});
afterAll(async () => {
  await stun?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  await shutdownZk();
});
beforeEach(async () => {
  snapshot = await stun.chain.snapshot();
});
afterEach(async () => {
  await stun.chain.revert(snapshot);
});

describe("encodings", () => {
  it("the task id and provider fields, the proof's calldata and the result digest agree with @stun/circuits", async () => {
    const checker = await stun.market().read.zkProofChecker();
    const taskId = idToBytes32(T1);
    expect(zkTaskField(taskId)).toBe(taskIdToField(T1));
    expect(await stun.chain.publicClient.readContract({ address: checker, abi: zkProofCheckerAbi, functionName: "taskField", args: [taskId] })).toBe(taskIdToField(T1));
    expect(honest.publicSignals.at(-2)).toBe(taskIdToField(T1).toString());
    expect(honest.publicSignals.at(-1)).toBe(zkProviderField(stun.accounts.p1.address).toString());
    expect(args(honest)).toEqual(zkProofArgsFromCalldata(await solidityCalldata(honest.proof, honest.publicSignals)));
    expect(nPublic).toBe(A.vkey.nPublic);
    expect(nPublic).toBe(7);
    expect(zkResultDigest(honest.publicSignals)).toMatch(/^0x[0-9a-f]{64}$/);
  });
});

describe("setZkVerifier", () => {
  it("registers through the timelock with ZkVerifierSet; address(0) removes; the owner only; bounds", async () => {
    expect(await stun.market().read.zkVerifierOf([BigInt(A.modelHash)])).toEqual([verifierA, nPublic]);
    await expectRevert(stun.market(stun.accounts.outsider.address).write.setZkVerifier([BigInt(B.modelHash), verifierA, 7]), "OwnableUnauthorizedAccount", [stun.accounts.outsider.address]);
    await expectRevert(viaTimelock(setZkVerifierData(B.modelHash, verifierA, 4)), "InvalidZkVerifier", [verifierA, 4]);
    await expectRevert(viaTimelock(setZkVerifierData(B.modelHash, stun.accounts.outsider.address, 7)), "InvalidZkVerifier", [stun.accounts.outsider.address, 7]);
    await expectRevert(viaTimelock(setZkVerifierData(0n, verifierA, 7)), "InvalidZkVerifier", [verifierA, 7]);

    const receipt = await stun.mined(viaTimelock(setZkVerifierData(A.modelHash, zeroAddress, 7)));
    const [log] = parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "ZkVerifierSet" });
    expect(log?.args).toEqual({ modelHash: BigInt(A.modelHash), verifier: zeroAddress, nPublic: 0 });
    expect(await stun.market().read.zkVerifierOf([BigInt(A.modelHash)])).toEqual([zeroAddress, 0]);
  });
});

describe("createZkTask", () => {
  it("escrows like createTask and stores the zk terms; needs a registered model", async () => {
    const { id, amount, deadline, receipt } = await createZkTask();
    const logs = parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs });
    expect(logs.map((l) => l.eventName)).toEqual(["TaskCreated", "ZkTaskCreated"]);
    expect(logs[1]!.args).toEqual({ taskId: id, modelHash: BigInt(A.modelHash), inputHash: BigInt(inputHash) });
    const task = await stun.market().read.getTask([id]);
    expect(task).toMatchObject({ requester: stun.accounts.requester.address, status: TaskStatus.Escrowed, zk: true, amount, deadline: Number(deadline) });
    expect(await stun.market().read.zkTermsOf([id])).toEqual([BigInt(A.modelHash), BigInt(inputHash)]);
    expect(await stun.chain.publicClient.getBalance({ address: stun.deployment.marketplace })).toBe(amount);

    // Another model's weights: no verifier registered for its hash.
    await expectRevert(createZkTask({ id: T2, modelHash: B.modelHash }), "ZkVerifierNotSet", [BigInt(B.modelHash)]);
  });
});

describe("settleWithProof", () => {
  it("an honest proof settles: anyone submits it, the whole escrow is split 80/15/5 and credited at once", async () => {
    const { id, amount } = await createZkTask();
    const { p1, treasury, creator, outsider } = stun.accounts;
    const before = await Promise.all([p1, treasury, creator, outsider].map((a) => claimable(ETH, a.address)));

    // snarkjs and the chain agree on the proof.
    expect(await verifyInference(A.vkey, honest.proof, honest.publicSignals, A.modelHash, { expectedInputHash: inputHash, taskId: T1, provider: p1.address })).toBe(true);
    const [pA, pB, pC, pub] = args(honest);
    expect(
      await stun.chain.publicClient.readContract({
        address: verifierA,
        abi: verifyProofAbi,
        functionName: "verifyProof",
        args: [pA, pB, pC, pub as readonly bigint[] as never],
      }),
    ).toBe(true);

    const settled = await settleZkTask(wallet(outsider.address), { publicClient: stun.chain.publicClient, marketplace: stun.deployment.marketplace, taskId: id, proof: args(honest) });
    const resultDigest = zkResultDigest(honest.publicSignals);
    expect(settled).toMatchObject({ provider: getAddress(p1.address), modelHash: BigInt(A.modelHash), cost: amount, resultDigest });
    expect(settled.gasUsed).toBeLessThan(500_000n);

    const treasuryShare = (amount * 1_500n) / 10_000n;
    const creatorShare = (amount * 500n) / 10_000n;
    const providerShare = amount - treasuryShare - creatorShare;
    const after = await Promise.all([p1, treasury, creator, outsider].map((a) => claimable(ETH, a.address)));
    expect(after.map((v, i) => v - before[i]!)).toEqual([providerShare, treasuryShare, creatorShare, 0n]);
    // The same split as FeeSplit (settle) of one execution costing the whole escrow.
    const [, t, c, shares] = await stun.market().read.previewSplit([[amount]]);
    expect([t, c, shares[0]]).toEqual([treasuryShare, creatorShare, providerShare]);

    const task = await stun.market().read.getTask([id]);
    expect(task).toMatchObject({ status: TaskStatus.Released, cost: amount, resultDigest, zk: true });
    // Gas: a second zk task, once the provider, treasury and creator hold credits (as on a live chain).
    const second = await createZkTask({ id: T2 });
    const warm = await settleZkTask(wallet(outsider.address), { publicClient: stun.chain.publicClient, marketplace: stun.deployment.marketplace, taskId: second.id, proof: args(otherTask) });
    // The least gas a transaction calling the verifier needs to get `true` (eth_estimateGas would
    // stop at the point where the pairing precompile fails and the verifier answers false).
    const data = encodeFunctionData({ abi: verifyProofAbi, functionName: "verifyProof", args: [pA, pB, pC, pub as readonly bigint[] as never] });
    const accepts = async (gas: bigint) => {
      try {
        const { data: ret } = await stun.chain.publicClient.call({ to: verifierA, data, gas });
        return ret !== undefined && BigInt(ret) === 1n;
      } catch {
        return false;
      }
    };
    let [lo, hi] = [21_000n, 1_000_000n];
    expect(await accepts(hi)).toBe(true);
    while (hi - lo > 100n) {
      const mid = (lo + hi) / 2n;
      if (await accepts(mid)) hi = mid;
      else lo = mid;
    }
    expect(hi).toBeLessThan(400_000n); // well within ZkProofChecker's budget (400,000 + 10,000 per signal)
    console.log(
      `[contracts] settleWithProof (MLP 4-8-3, ${nPublic} public signals): ${warm.gasUsed} gas (first credits to fresh accounts: ${settled.gasUsed}); ` +
        `the verifier alone, as a transaction: ~${hi} gas`,
    );

    // The provider takes its credit out.
    await stun.mined(stun.market(p1.address).write.withdraw([ETH]));
    expect(await claimable(ETH, p1.address)).toBe(0n);

    // Settled once: a replay, a refund after the deadline and the settlers are all refused.
    await expectRevert(submit(id, args(honest)), "InvalidTaskStatus", [id, TaskStatus.Released]);
    await stun.chain.increaseTime(2n * HOUR);
    await expectRevert(stun.market().write.refund([id]), "InvalidTaskStatus", [id, TaskStatus.Released]);
  });

  it("in an ERC-20, without a model creator: the creator's share goes to the treasury", async () => {
    const { id, amount } = await createZkTask({ token: stun.usd, amount: 1_000_003n, creator: zeroAddress });
    const { p1, treasury } = stun.accounts;
    const [p0, t0] = [await claimable(stun.usd, p1.address), await claimable(stun.usd, treasury.address)];
    await stun.mined(submit(id, args(honest), p1.address));
    const fees = (amount * 1_500n) / 10_000n + (amount * 500n) / 10_000n;
    expect(await claimable(stun.usd, p1.address)).toBe(p0 + amount - fees);
    expect(await claimable(stun.usd, treasury.address)).toBe(t0 + fees);
  });

  it("a tampered output signal: the verifier says false (InvalidProof)", async () => {
    const { id } = await createZkTask();
    const tampered = [...honest.publicSignals];
    tampered[2] = (BigInt(tampered[2]!) + 1n).toString();
    await expectRevert(submit(id, args(honest, tampered)), "InvalidProof", [id]);
    // The same for a tampered proof point.
    const [pA, pB, pC, pub] = args(honest);
    await expectRevert(submit(id, [pA, pB, [pC[0], pC[1] + 1n], pub]), "InvalidProof", [id]);
  });

  it("a proof bound to another task id (ProofTaskMismatch)", async () => {
    const { id } = await createZkTask();
    await expectRevert(submit(id, args(otherTask)), "ProofTaskMismatch", [id, taskIdToField(T1), taskIdToField(T2)]);
  });

  it("a proof made with another model's weights: its model hash (ModelHashMismatch), or its hash rewritten (InvalidProof)", async () => {
    const { id } = await createZkTask();
    expect(otherModel.modelHash).not.toBe(A.modelHash);
    await expectRevert(submit(id, args(otherModel)), "ModelHashMismatch", [BigInt(A.modelHash), BigInt(B.modelHash)]);
    const relabelled = [A.modelHash, ...otherModel.publicSignals.slice(1)];
    await expectRevert(submit(id, args(otherModel, relabelled)), "InvalidProof", [id]);
  });

  it("a proof on another input (InputHashMismatch)", async () => {
    const { id } = await createZkTask();
    await expectRevert(submit(id, args(otherInput)), "InputHashMismatch", [BigInt(inputHash), BigInt(otherInput.inputHash)]);
  });

  it("the wrong number of public signals (PublicSignalCount), against the proof or against the registration", async () => {
    const { id } = await createZkTask({ deadlineIn: 3n * DAY }); // outlives the timelock's delay (1 day)
    await expectRevert(submit(id, args(honest, [...honest.publicSignals, "0"])), "PublicSignalCount", [7n, 8n]);
    await stun.mined(viaTimelock(setZkVerifierData(A.modelHash, verifierA, 8)));
    await expectRevert(submit(id, args(honest)), "PublicSignalCount", [8n, 7n]);
  });

  it("a provider signal that is not an address (InvalidProofProvider)", async () => {
    const { id } = await createZkTask();
    const big = [...honest.publicSignals.slice(0, -1), (1n << 160n).toString()];
    await expectRevert(submit(id, args(honest, big)), "InvalidProofProvider", [1n << 160n]);
    const zero = [...honest.publicSignals.slice(0, -1), "0"];
    await expectRevert(submit(id, args(honest, zero)), "InvalidProofProvider", [0n]);
  });

  it("a model whose verifier was removed (ZkVerifierNotSet): the task can only be refunded", async () => {
    const { id, amount } = await createZkTask({ deadlineIn: 3n * DAY }); // outlives the timelock's delay (1 day)
    await stun.mined(viaTimelock(setZkVerifierData(A.modelHash, zeroAddress, 0)));
    await expectRevert(submit(id, args(honest)), "ZkVerifierNotSet", [BigInt(A.modelHash)]);
    await stun.chain.increaseTime(3n * DAY);
    const before = await claimable(ETH, stun.accounts.requester.address);
    await stun.mined(stun.market().write.refund([id]));
    expect(await claimable(ETH, stun.accounts.requester.address)).toBe(before + amount);
  });

  it("after the deadline (DeadlinePassed); the requester gets a refund", async () => {
    const { id, deadline, amount } = await createZkTask({ id: T2, deadlineIn: 60n });
    await stun.chain.increaseTime(120n);
    await expectRevert(submit(id, args(otherTask)), "DeadlinePassed", [id, deadline]);
    const before = await claimable(ETH, stun.accounts.requester.address);
    await stun.mined(stun.market().write.refund([id]));
    expect(await claimable(ETH, stun.accounts.requester.address)).toBe(before + amount);
    await expectRevert(submit(id, args(otherTask)), "InvalidTaskStatus", [id, TaskStatus.Refunded]);
  });

  it("settlers cannot settle a zk task (ZkTaskNeedsProof), and a plain task takes no proof (NotZkTask)", async () => {
    const { id } = await createZkTask();
    const s = { taskId: id, resultDigest: digest("r"), providers: [stun.accounts.p1.address], amounts: [1n] };
    await expectRevert(stun.market().write.settle([s, await stun.signSettlement(s)]), "ZkTaskNeedsProof", [id]);

    const plain = idToBytes32(T2);
    await stun.mined(stun.market(stun.accounts.requester.address).write.createTask([plain, ETH, 10n, (await stun.chain.now()) + HOUR, zeroAddress], { value: 10n }));
    await expectRevert(submit(plain, args(otherTask)), "NotZkTask", [plain]);
  });

  it("not while paused", async () => {
    const { id } = await createZkTask();
    await stun.mined(stun.market().write.pause());
    await expectRevert(submit(id, args(honest)), "EnforcedPause");
  });
});
