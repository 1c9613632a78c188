/**
 * StunToken (ERC-20 + permit + votes), the TimelockController that owns the marketplace, and the
 * StunGovernor that drives it: a timelocked parameter change (schedule → wait → execute, too early
 * reverts) and a governance vote (propose → vote → queue → execute) on a real EVM.
 */
import { type Hex, encodeFunctionData, keccak256, parseEther, parseEventLogs, toHex, zeroHash } from "viem";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CANCELLER_ROLE, DEFAULT_ADMIN_ROLE, EXECUTOR_ROLE, PROPOSER_ROLE, computeMarketplaceAbi, stakingAbi, stunTokenAbi } from "../src-ts";
import { TIMELOCK_DELAY, type Stun, expectRevert, startStun } from "./support/stun";

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

/** Governor.ProposalState */
const State = { Pending: 0, Active: 1, Canceled: 2, Defeated: 3, Succeeded: 4, Queued: 5, Expired: 6, Executed: 7 } as const;

describe("StunToken", () => {
  it("mints the fixed supply to the chosen holder, and nothing can mint more", async () => {
    const token = stun.stun();
    expect(await token.read.name()).toBe("Stun");
    expect(await token.read.symbol()).toBe("STUN");
    expect(await token.read.decimals()).toBe(18);
    expect(await token.read.totalSupply()).toBe(parseEther("1000000000"));
    // The fixture handed 6 × 1,000,000 STUN out of the deployer's supply.
    expect(await token.read.balanceOf([stun.accounts.deployer.address])).toBe(parseEther("994000000"));
    expect(stunTokenAbi.some((item) => item.type === "function" && /mint|burn/i.test(item.name))).toBe(false);
  });

  it("counts votes once delegated, checkpointed by block (ERC-6372)", async () => {
    const { voter1, deployer } = stun.accounts;
    await stun.mined(stun.stun().write.transfer([voter1.address, 1_000n]));
    expect(await stun.stun().read.getVotes([voter1.address])).toBe(0n);
    const receipt = await stun.mined(stun.stun(voter1.address).write.delegate([voter1.address]));
    expect(await stun.stun().read.getVotes([voter1.address])).toBe(1_000n);
    expect(await stun.stun().read.delegates([voter1.address])).toBe(voter1.address);
    expect(await stun.stun().read.CLOCK_MODE()).toBe("mode=blocknumber&from=default");
    await stun.chain.testClient.mine({ blocks: 1 });
    expect(await stun.stun().read.getPastVotes([voter1.address, receipt.blockNumber])).toBe(1_000n);
    await stun.mined(stun.stun(voter1.address).write.transfer([deployer.address, 400n]));
    expect(await stun.stun().read.getVotes([voter1.address])).toBe(600n);
  });

  it("approves by ERC-2612 permit", async () => {
    const { voter1, voter2 } = stun.accounts;
    const deadline = (await stun.chain.now()) + 3_600n;
    const { r, s, v } = await stun.signPermit(voter1, voter2.address, 77n, deadline);
    await stun.mined(stun.stun(voter2.address).write.permit([voter1.address, voter2.address, 77n, deadline, v, r, s]));
    expect(await stun.stun().read.allowance([voter1.address, voter2.address])).toBe(77n);
    expect(await stun.stun().read.nonces([voter1.address])).toBe(1n);
    await expectRevert(stun.stun(voter2.address).write.permit([voter1.address, voter2.address, 77n, deadline, v, r, s]), "ERC2612InvalidSigner");
  });
});

describe("timelock", () => {
  it("owns the marketplace: parameters change only through it, after its delay", async () => {
    const { deployer } = stun.accounts;
    const market = stun.market();
    await expectRevert(stun.market(deployer.address).write.setFeeSplit([1_000, 500]), "OwnableUnauthorizedAccount", [deployer.address]);

    const data = encodeFunctionData({ abi: computeMarketplaceAbi, functionName: "setFeeSplit", args: [1_000, 400] });
    const salt = keccak256(toHex("fees-1"));
    const args = [stun.deployment.marketplace, 0n, data, zeroHash, salt] as const;
    const timelock = stun.timelock(deployer.address);
    expect(await timelock.read.getMinDelay()).toBe(TIMELOCK_DELAY);
    await expectRevert(timelock.write.schedule([...args, TIMELOCK_DELAY - 1n]), "TimelockInsufficientDelay", [TIMELOCK_DELAY - 1n, TIMELOCK_DELAY]);
    await expectRevert(stun.timelock(stun.accounts.outsider.address).write.schedule([...args, TIMELOCK_DELAY]), "AccessControlUnauthorizedAccount", [stun.accounts.outsider.address, PROPOSER_ROLE]);
    await stun.mined(timelock.write.schedule([...args, TIMELOCK_DELAY]));
    const id = await timelock.read.hashOperation([...args]);
    expect(await timelock.read.isOperationPending([id])).toBe(true);

    // Too early: the operation is waiting, not ready.
    await expectRevert(timelock.write.execute([...args]), "TimelockUnexpectedOperationState");
    await stun.chain.increaseTime(TIMELOCK_DELAY - 10n);
    await expectRevert(timelock.write.execute([...args]), "TimelockUnexpectedOperationState");
    await stun.chain.increaseTime(10n);
    // Anyone may execute a ready operation (EXECUTOR_ROLE is open).
    const receipt = await stun.mined(stun.timelock(stun.accounts.outsider.address).write.execute([...args]));
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "FeeSplitChanged" })[0]?.args).toEqual({ treasuryBps: 1_000, creatorBps: 400 });
    expect([await market.read.treasuryBps(), await market.read.creatorBps()]).toEqual([1_000, 400]);
    expect(await timelock.read.isOperationDone([id])).toBe(true);
  });

  it("also governs Staking: its parameters change only through the marketplace's owner, the timelock", async () => {
    const { deployer } = stun.accounts;
    await expectRevert(stun.staking(deployer.address).write.setMinStake([1n]), "OwnableUnauthorizedAccount", [deployer.address]);
    const data = encodeFunctionData({ abi: stakingAbi, functionName: "setMinStake", args: [12_345n] });
    const args = [stun.deployment.staking, 0n, data, zeroHash, keccak256(toHex("min-stake"))] as const;
    const timelock = stun.timelock(deployer.address);
    await stun.mined(timelock.write.schedule([...args, TIMELOCK_DELAY]));
    await stun.chain.increaseTime(TIMELOCK_DELAY);
    const receipt = await stun.mined(timelock.write.execute([...args]));
    expect(parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: "MinStakeChanged" })[0]?.args).toEqual({ minStake: 12_345n });
    expect(await stun.staking().read.minStake()).toBe(12_345n);
  });

  it("a parameter out of bounds reverts at execution with the marketplace's error", async () => {
    const timelock = stun.timelock();
    const data = encodeFunctionData({ abi: computeMarketplaceAbi, functionName: "setFeeSplit", args: [3_000, 1] });
    const args = [stun.deployment.marketplace, 0n, data, zeroHash, zeroHash] as const;
    await stun.mined(timelock.write.schedule([...args, TIMELOCK_DELAY]));
    await stun.chain.increaseTime(TIMELOCK_DELAY);
    await expectRevert(timelock.write.execute([...args]), "FeeBpsOutOfBounds", [3_000n, 1n]);
  });

  it("roles: the governor proposes and cancels, anyone executes, nobody but the timelock administers it", async () => {
    const timelock = stun.timelock();
    const { deployer, outsider } = stun.accounts;
    expect(await timelock.read.hasRole([PROPOSER_ROLE, stun.deployment.governor])).toBe(true);
    expect(await timelock.read.hasRole([CANCELLER_ROLE, stun.deployment.governor])).toBe(true);
    expect(await timelock.read.hasRole([EXECUTOR_ROLE, "0x0000000000000000000000000000000000000000"])).toBe(true);
    expect(await timelock.read.hasRole([DEFAULT_ADMIN_ROLE, deployer.address])).toBe(false);
    expect(await timelock.read.hasRole([DEFAULT_ADMIN_ROLE, stun.deployment.timelock])).toBe(true);
    await expectRevert(stun.timelock(deployer.address).write.grantRole([PROPOSER_ROLE, outsider.address]), "AccessControlUnauthorizedAccount", [deployer.address, DEFAULT_ADMIN_ROLE]);
    // The timelock (as owner) can pause too.
    const data = encodeFunctionData({ abi: computeMarketplaceAbi, functionName: "pause" });
    const args = [stun.deployment.marketplace, 0n, data, zeroHash, zeroHash] as const;
    await stun.mined(timelock.write.schedule([...args, TIMELOCK_DELAY]));
    await stun.chain.increaseTime(TIMELOCK_DELAY);
    await stun.mined(timelock.write.execute([...args]));
    expect(await stun.market().read.paused()).toBe(true);
  });
});

describe("governor", () => {
  async function propose(functionName: "setDisputeWindow", value: bigint, description: string) {
    const { deployer } = stun.accounts;
    const calldata = encodeFunctionData({ abi: computeMarketplaceAbi, functionName, args: [value] });
    const proposal = [[stun.deployment.marketplace], [0n], [calldata]] as const;
    const descriptionHash = keccak256(toHex(description));
    const governor = stun.governor(deployer.address);
    const receipt = await stun.mined(governor.write.propose([...proposal, description]));
    const id = await governor.read.hashProposal([...proposal, descriptionHash]);
    const created = parseEventLogs({ abi: governor.abi, logs: receipt.logs, eventName: "ProposalCreated" })[0]?.args;
    expect(created?.proposalId).toBe(id);
    return { id, proposal, descriptionHash };
  }

  async function mineBlocks(n: bigint) {
    await stun.chain.testClient.mine({ blocks: Number(n) });
  }

  it("a passed vote changes a parameter: propose → vote → queue → wait → execute", async () => {
    const { deployer, voter1, outsider } = stun.accounts;
    const governor = stun.governor(deployer.address);
    expect(await governor.read.timelock()).toBe(stun.deployment.timelock);
    expect(await governor.read.name()).toBe("Stun Governor");
    await stun.mined(stun.stun().write.transfer([voter1.address, parseEther("10000000")]));
    await stun.mined(stun.stun(deployer.address).write.delegate([deployer.address]));
    await stun.mined(stun.stun(voter1.address).write.delegate([voter1.address]));

    const { id, proposal, descriptionHash } = await propose("setDisputeWindow", 7_200n, "Longer dispute window (2 hours)");
    expect(await governor.read.state([id])).toBe(State.Pending);
    await expectRevert(governor.write.castVote([id, 1]), "GovernorUnexpectedProposalState");
    await mineBlocks((await governor.read.votingDelay()) + 1n);
    expect(await governor.read.state([id])).toBe(State.Active);

    await stun.mined(governor.write.castVote([id, 1])); // for
    await stun.mined(stun.governor(voter1.address).write.castVote([id, 0])); // against
    await expectRevert(governor.write.castVote([id, 1]), "GovernorAlreadyCastVote", [deployer.address]);
    const [against, forVotes, abstain] = await governor.read.proposalVotes([id]);
    expect([against, forVotes, abstain]).toEqual([parseEther("10000000"), parseEther("984000000"), 0n]);
    await expectRevert(governor.write.queue([...proposal, descriptionHash]), "GovernorUnexpectedProposalState");

    await mineBlocks(await governor.read.votingPeriod());
    expect(await governor.read.state([id])).toBe(State.Succeeded);
    await stun.mined(stun.governor(outsider.address).write.queue([...proposal, descriptionHash]));
    expect(await governor.read.state([id])).toBe(State.Queued);
    await expectRevert(governor.write.execute([...proposal, descriptionHash]), "TimelockUnexpectedOperationState");
    await stun.chain.increaseTime(TIMELOCK_DELAY);
    const receipt = await stun.mined(stun.governor(outsider.address).write.execute([...proposal, descriptionHash]));
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "DisputeWindowChanged" })[0]?.args).toEqual({ disputeWindow: 7_200n });
    expect(await governor.read.state([id])).toBe(State.Executed);
    expect(await stun.market().read.disputeWindow()).toBe(7_200n);
  });

  it("a vote without quorum, or voted down, is defeated and cannot be queued", async () => {
    const { deployer, voter1 } = stun.accounts;
    const governor = stun.governor(deployer.address);
    // voter1 alone holds 1% of the supply: below the 4% quorum.
    await stun.mined(stun.stun().write.transfer([voter1.address, parseEther("10000000")]));
    await stun.mined(stun.stun(voter1.address).write.delegate([voter1.address]));
    const low = await propose("setDisputeWindow", 600n, "Short window, few voters");
    await mineBlocks((await governor.read.votingDelay()) + 1n);
    expect(await governor.read.quorum([(await stun.chain.publicClient.getBlockNumber()) - 1n])).toBe(parseEther("40000000"));
    await stun.mined(stun.governor(voter1.address).write.castVote([low.id, 1]));
    await mineBlocks(await governor.read.votingPeriod());
    expect(await governor.read.state([low.id])).toBe(State.Defeated);
    await expectRevert(governor.write.queue([...low.proposal, low.descriptionHash]), "GovernorUnexpectedProposalState");

    await stun.mined(stun.stun(deployer.address).write.delegate([deployer.address]));
    const down = await propose("setDisputeWindow", 600n, "Short window, voted down");
    await mineBlocks((await governor.read.votingDelay()) + 1n);
    await stun.mined(governor.write.castVote([down.id, 0]));
    await stun.mined(stun.governor(voter1.address).write.castVote([down.id, 1]));
    await mineBlocks(await governor.read.votingPeriod());
    expect(await governor.read.state([down.id])).toBe(State.Defeated);
    expect(await stun.market().read.disputeWindow()).toBe(3_600n);
  });
});
