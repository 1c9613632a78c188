/**
 * ComputeMarketplace's and its Staking's parameters: every setter (the marketplace's owner only,
 * within bounds, with its event) on a marketplace owned by a plain account, and the constructor's
 * checks. The timelocked and governed
 * path is in governance.test.ts.
 */
import { type Address, type Hex, getAddress, parseEventLogs, zeroAddress } from "viem";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { computeMarketplaceAbi, computeMarketplaceBytecode, signSettlement, stakingAbi } from "../src-ts";
import { type Stun, digest, expectRevert, startStun } from "./support/stun";

let stun: Stun;
let market: Address;
let staking: Address;
let snapshot: Hex;

function config(overrides: Record<string, unknown> = {}) {
  return {
    owner: stun.accounts.deployer.address,
    guardian: stun.accounts.deployer.address,
    treasury: stun.accounts.treasury.address,
    stakeToken: stun.deployment.token,
    settlers: stun.settlers.map((s) => s.address),
    settlerThreshold: 2n,
    treasuryBps: 1_500,
    creatorBps: 500,
    disputeWindow: 3_600n,
    unbondingDelay: 7_200n,
    minStake: 0n,
    allowedTokens: [stun.usd],
    ...overrides,
  } as const;
}

const deployMarket = async (overrides: Record<string, unknown> = {}) => {
  const hash = await stun.chain.wallets[0]!.deployContract({ abi: computeMarketplaceAbi, bytecode: computeMarketplaceBytecode, args: [config(overrides) as never] });
  return getAddress((await stun.mined(hash)).contractAddress!);
};

beforeAll(async () => {
  stun = await startStun();
  market = await deployMarket();
  staking = (await stun.chain.publicClient.readContract({ address: market, abi: computeMarketplaceAbi, functionName: "staking" })) as Address;
});
afterAll(() => stun?.stop());
beforeEach(async () => {
  snapshot = await stun.chain.snapshot();
});
afterEach(async () => {
  await stun.chain.revert(snapshot);
});

/** Functions of Staking (every other name is the marketplace's). */
const STAKING_FUNCTIONS = new Set(["setMinStake", "setUnbondingDelay", "minStake", "unbondingDelay", "registerProvider"]);
const target = (functionName: string) => (STAKING_FUNCTIONS.has(functionName) ? ({ address: staking, abi: stakingAbi } as const) : ({ address: market, abi: computeMarketplaceAbi } as const));
const write = (who: Address, functionName: string, args: readonly unknown[]) => {
  const wallet = stun.chain.wallets.find((w) => w.account.address === who)!;
  return wallet.writeContract({ ...target(functionName), account: wallet.account, functionName, args } as never);
};
const read = (functionName: string, args: readonly unknown[] = []) => stun.chain.publicClient.readContract({ ...target(functionName), functionName, args } as never) as Promise<unknown>;
async function eventArgs(hash: Promise<Hex>, eventName: string) {
  const receipt = await stun.mined(hash);
  return (parseEventLogs({ abi: [...computeMarketplaceAbi, ...stakingAbi], logs: receipt.logs }) as Array<{ eventName: string; args: unknown }>).find((l) => l.eventName === eventName)?.args;
}

/** splitFee generalised to any basis points (the ledger's rule; packages/shared fixes 1,500/500). */
function splitWith(amounts: bigint[], treasuryBps: bigint, creatorBps: bigint) {
  const total = amounts.reduce((a, b) => a + b, 0n);
  const treasury = (total * treasuryBps) / 10_000n;
  const creator = (total * creatorBps) / 10_000n;
  if (total === 0n) return [total, treasury, creator, amounts.map(() => 0n)];
  const pool = total - treasury - creator;
  const shares = amounts.map((a, i) => ({ i, share: (pool * a) / total, rem: (pool * a) % total }));
  let left = pool - shares.reduce((s, x) => s + x.share, 0n);
  for (const s of [...shares].sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1))) {
    if (left === 0n) break;
    s.share += 1n;
    left -= 1n;
  }
  return [total, treasury, creator, shares.map((s) => s.share)];
}

describe("setters", () => {
  it("are owner-only (Staking's: the marketplace's owner only)", async () => {
    const outsider = stun.accounts.outsider.address;
    const calls: Array<[string, unknown[]]> = [
      ["setFeeSplit", [1_000, 500]],
      ["setDisputeWindow", [600n]],
      ["setUnbondingDelay", [7_200n]],
      ["setMinStake", [1n]],
      ["setSettlers", [[outsider], 1n]],
      ["setTokenAllowed", [zeroAddress, true]],
      ["setTreasury", [outsider]],
      ["setGuardian", [outsider]],
    ];
    for (const [fn, args] of calls) await expectRevert(write(outsider, fn, args), "OwnableUnauthorizedAccount", [outsider]);
  });

  it("setFeeSplit: treasury + creator ≤ 30%, used by later splits", async () => {
    const owner = stun.accounts.deployer.address;
    await expectRevert(write(owner, "setFeeSplit", [2_001, 1_000]), "FeeBpsOutOfBounds", [2_001n, 1_000n]);
    expect(await eventArgs(write(owner, "setFeeSplit", [2_000, 1_000]), "FeeSplitChanged")).toEqual({ treasuryBps: 2_000, creatorBps: 1_000 });
    expect([await read("treasuryBps"), await read("creatorBps")]).toEqual([2_000, 1_000]);
    for (const amounts of [[1_000n], [999n, 1n, 7n], [3n, 3n, 3n, 1n], [10n ** 20n + 7n, 13n]]) {
      expect(await read("previewSplit", [amounts])).toEqual(splitWith(amounts, 2_000n, 1_000n));
    }
    await stun.mined(write(owner, "setFeeSplit", [0, 0]));
    expect(await read("previewSplit", [[5n, 5n]])).toEqual([10n, 0n, 0n, [5n, 5n]]);
  });

  it("setDisputeWindow and setUnbondingDelay: bounded, and unbonding ≥ dispute window", async () => {
    const owner = stun.accounts.deployer.address;
    await expectRevert(write(owner, "setDisputeWindow", [59n]), "DisputeWindowOutOfBounds", [59n]);
    await expectRevert(write(owner, "setDisputeWindow", [7_201n]), "DisputeWindowOutOfBounds", [7_201n]); // > unbonding delay
    expect(await eventArgs(write(owner, "setDisputeWindow", [60n]), "DisputeWindowChanged")).toEqual({ disputeWindow: 60n });
    await expectRevert(write(owner, "setUnbondingDelay", [59n]), "UnbondingDelayOutOfBounds", [59n]);
    await expectRevert(write(owner, "setUnbondingDelay", [90n * 86_400n + 1n]), "UnbondingDelayOutOfBounds", [90n * 86_400n + 1n]);
    expect(await eventArgs(write(owner, "setUnbondingDelay", [90n * 86_400n]), "UnbondingDelayChanged")).toEqual({ unbondingDelay: 90n * 86_400n });
    await expectRevert(write(owner, "setDisputeWindow", [30n * 86_400n + 1n]), "DisputeWindowOutOfBounds", [30n * 86_400n + 1n]);
    await stun.mined(write(owner, "setDisputeWindow", [30n * 86_400n]));
    expect([await read("disputeWindow"), await read("unbondingDelay")]).toEqual([30n * 86_400n, 90n * 86_400n]);
  });

  it("setMinStake, setTreasury, setGuardian, setTokenAllowed", async () => {
    const owner = stun.accounts.deployer.address;
    const { outsider, treasury } = stun.accounts;
    expect(await eventArgs(write(owner, "setMinStake", [42n]), "MinStakeChanged")).toEqual({ minStake: 42n });
    expect(await read("minStake")).toBe(42n);
    await expectRevert(write(owner, "setTreasury", [zeroAddress]), "ZeroAddress", []);
    expect(await eventArgs(write(owner, "setTreasury", [outsider.address]), "TreasuryChanged")).toEqual({ previous: treasury.address, treasury: outsider.address });
    expect(await read("treasury")).toBe(outsider.address);

    expect(await eventArgs(write(owner, "setGuardian", [outsider.address]), "GuardianChanged")).toEqual({ previous: owner, guardian: outsider.address });
    await stun.mined(write(outsider.address, "pause", []));
    await stun.mined(write(outsider.address, "unpause", []));
    await stun.mined(write(owner, "setGuardian", [zeroAddress]));
    await expectRevert(write(outsider.address, "pause", []), "NotGuardian", [outsider.address]);
    await stun.mined(write(owner, "pause", [])); // the owner always can

    expect(await read("isTokenAllowed", [zeroAddress])).toBe(false);
    expect(await eventArgs(write(owner, "setTokenAllowed", [zeroAddress, true]), "TokenAllowed")).toEqual({ token: zeroAddress, allowed: true });
    expect(await read("isTokenAllowed", [zeroAddress])).toBe(true);
  });

  it("setTokenAllowed(false) stops new escrow but leaves escrowed tasks alone", async () => {
    const owner = stun.accounts.deployer.address;
    const { requester, p1 } = stun.accounts;
    await stun.mined(stun.musd(requester.address).write.approve([market, 10n ** 30n]));
    await stun.mined(write(p1.address, "registerProvider", [0n]));
    const deadline = (await stun.chain.now()) + 3_600n;
    const id = stun.taskId("allow");
    await stun.mined(write(requester.address, "createTask", [id, stun.usd, 100n, deadline, zeroAddress]));
    await stun.mined(write(owner, "setTokenAllowed", [stun.usd, false]));
    await expectRevert(write(requester.address, "createTask", [stun.taskId("allow2"), stun.usd, 100n, deadline, zeroAddress]), "TokenNotAllowed", [stun.usd]);
    const s = { taskId: id, resultDigest: digest("r"), providers: [p1.address], amounts: [100n] };
    const domain = { name: "Stun ComputeMarketplace", version: "1", chainId: stun.chain.chain.id, verifyingContract: market } as const;
    await stun.mined(write(owner, "settle", [s, await signSettlement(stun.settlers.slice(0, 2), domain, s)]));
  });

  it("setSettlers replaces the set and threshold; the old keys stop counting", async () => {
    const owner = stun.accounts.deployer.address;
    const [a, b, c] = stun.settlers as [(typeof stun.settlers)[number], (typeof stun.settlers)[number], (typeof stun.settlers)[number]];
    const { voter1, voter2 } = stun.accounts;
    await expectRevert(write(owner, "setSettlers", [[], 0n]), "InvalidSettlerSet", [0n, 0n]);
    await expectRevert(write(owner, "setSettlers", [[a.address], 0n]), "InvalidSettlerSet", [1n, 0n]);
    await expectRevert(write(owner, "setSettlers", [[a.address, b.address], 3n]), "InvalidSettlerSet", [2n, 3n]);
    await expectRevert(write(owner, "setSettlers", [Array(33).fill(a.address), 1n]), "InvalidSettlerSet", [33n, 1n]);
    await expectRevert(write(owner, "setSettlers", [[a.address, zeroAddress], 1n]), "InvalidSettler", [zeroAddress]);
    await expectRevert(write(owner, "setSettlers", [[a.address, b.address, a.address], 1n]), "InvalidSettler", [a.address]);
    const settlers = [c.address, voter1.address, voter2.address];
    expect(await eventArgs(write(owner, "setSettlers", [settlers, 3n]), "SettlersChanged")).toEqual({ settlers, threshold: 3n });
    expect(await read("settlers")).toEqual(settlers);
    expect(await read("settlerThreshold")).toBe(3n);
    expect([await read("isSettler", [a.address]), await read("isSettler", [b.address]), await read("isSettler", [c.address])]).toEqual([false, false, true]);

    const { requester, p1 } = stun.accounts;
    await stun.mined(stun.musd(requester.address).write.approve([market, 10n ** 30n]));
    await stun.mined(write(p1.address, "registerProvider", [0n]));
    const id = stun.taskId("settlers");
    await stun.mined(write(requester.address, "createTask", [id, stun.usd, 100n, (await stun.chain.now()) + 3_600n, zeroAddress]));
    const s = { taskId: id, resultDigest: digest("r"), providers: [p1.address], amounts: [100n] };
    const domain = { name: "Stun ComputeMarketplace", version: "1", chainId: stun.chain.chain.id, verifyingContract: market } as const;
    await expectRevert(write(owner, "settle", [s, await signSettlement([a, b, c], domain, s)]), "UnknownSigner");
    await expectRevert(write(owner, "settle", [s, await signSettlement([c, voter1], domain, s)]), "InsufficientSignatures", [2n, 3n]);
    await stun.mined(write(owner, "settle", [s, await signSettlement([c, voter1, voter2], domain, s)]));
  });
});

describe("constructor", () => {
  it("checks its configuration", async () => {
    const { treasury } = stun.accounts;
    await expectRevert(deployMarket({ stakeToken: zeroAddress }), "ZeroAddress", []);
    await expectRevert(deployMarket({ treasury: zeroAddress }), "ZeroAddress", []);
    await expectRevert(deployMarket({ owner: zeroAddress }), "OwnableInvalidOwner", [zeroAddress]);
    await expectRevert(deployMarket({ treasuryBps: 2_500, creatorBps: 501 }), "FeeBpsOutOfBounds", [2_500n, 501n]);
    await expectRevert(deployMarket({ disputeWindow: 0n }), "DisputeWindowOutOfBounds", [0n]);
    await expectRevert(deployMarket({ unbondingDelay: 3_599n }), "UnbondingDelayOutOfBounds", [3_599n]);
    await expectRevert(deployMarket({ settlers: [], settlerThreshold: 1n }), "InvalidSettlerSet", [0n, 1n]);
    await expectRevert(deployMarket({ settlers: [treasury.address, treasury.address], settlerThreshold: 1n }), "InvalidSettler", [treasury.address]);
  });
});
