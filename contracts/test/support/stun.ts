/**
 * Test fixture: a fresh anvil with the whole Stun stack deployed (token, timelock, governor,
 * marketplace and its staking, a mock stablecoin), named accounts, and helpers to send transactions, sign as
 * settlers and check custom errors.
 */
import {
  type Abi,
  type HDAccount,
  type Address,
  type Hex,
  type TransactionReceipt,
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  encodeAbiParameters,
  getContract,
  keccak256,
  parseEther,
  parseEventLogs,
  parseSignature,
  parseUnits,
  toHex,
} from "viem";
import { expect } from "vitest";
import {
  type Settlement,
  computeMarketplaceAbi,
  deployMockToken,
  deployStun,
  marketplaceDomain,
  mockERC20Abi,
  signSettlement,
  stakingAbi,
  stunGovernorAbi,
  stunTokenAbi,
  timelockControllerAbi,
} from "../../src-ts";
import { startAnvil } from "../../src-ts/anvil";

export const DISPUTE_WINDOW = 3_600n;
export const UNBONDING_DELAY = 2n * 86_400n;
export const TIMELOCK_DELAY = 86_400n;
export const MIN_STAKE = parseEther("100");

/** Every error any of the contracts can raise, for decoding reverts that bubble through calls. */
const ALL_ERRORS = [computeMarketplaceAbi, stakingAbi, stunTokenAbi, stunGovernorAbi, timelockControllerAbi, mockERC20Abi].flat().filter((item) => item.type === "error") as Abi;

export async function startStun() {
  const chain = await startAnvil({ accounts: 14 });
  const names = ["deployer", "s1", "s2", "s3", "treasury", "requester", "requester2", "p1", "p2", "p3", "creator", "outsider", "voter1", "voter2"] as const;
  const named = Object.fromEntries(
    names.map((name, i) => {
      const account = chain.accounts[i];
      if (!account) throw new Error(`no account ${i}`);
      return [name, account];
    }),
  ) as Record<(typeof names)[number], HDAccount>;
  const { deployer, s1, s2, s3, treasury, requester, requester2, p1, p2, p3, creator, outsider, voter1, voter2 } = named;
  const settlerAccounts = [s1, s2, s3];
  const deployerWallet = chain.wallets[0]!;
  const usd = await deployMockToken(deployerWallet, chain.publicClient);
  const deployment = await deployStun(deployerWallet, {
    publicClient: chain.publicClient,
    settlers: settlerAccounts.map((a) => a.address),
    settlerThreshold: 2n,
    treasury: treasury.address,
    guardian: deployer.address,
    disputeWindow: DISPUTE_WINDOW,
    unbondingDelay: UNBONDING_DELAY,
    minStake: MIN_STAKE,
    allowedTokens: [usd],
    timelockDelay: TIMELOCK_DELAY,
    votingDelay: 1,
    votingPeriod: 20,
    quorumPercent: 4n,
    extraProposers: [deployer.address],
  });
  const domain = marketplaceDomain(chain.chain.id, deployment.marketplace);

  const walletOf = (address: Address) => {
    const w = chain.wallets.find((x) => x.account.address === address);
    if (!w) throw new Error(`no wallet for ${address}`);
    return w;
  };
  /** The marketplace as `who` (reads through the public client, writes from `who`'s wallet). */
  const market = (who: Address = deployer.address) => getContract({ address: deployment.marketplace, abi: computeMarketplaceAbi, client: { public: chain.publicClient, wallet: walletOf(who) } });
  /** Providers' stake as `who`. */
  const staking = (who: Address = deployer.address) => getContract({ address: deployment.staking, abi: stakingAbi, client: { public: chain.publicClient, wallet: walletOf(who) } });
  const stun = (who: Address = deployer.address) => getContract({ address: deployment.token, abi: stunTokenAbi, client: { public: chain.publicClient, wallet: walletOf(who) } });
  const musd = (who: Address = deployer.address) => getContract({ address: usd, abi: mockERC20Abi, client: { public: chain.publicClient, wallet: walletOf(who) } });
  const timelock = (who: Address = deployer.address) => getContract({ address: deployment.timelock, abi: timelockControllerAbi, client: { public: chain.publicClient, wallet: walletOf(who) } });
  const governor = (who: Address = deployer.address) => getContract({ address: deployment.governor, abi: stunGovernorAbi, client: { public: chain.publicClient, wallet: walletOf(who) } });

  /** Waits for `hash` and expects success. */
  const mined = async (hash: Promise<Hex> | Hex): Promise<TransactionReceipt> => {
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: await hash, timeout: 10_000 });
    expect(receipt.status).toBe("success");
    return receipt;
  };

  // Balances: requesters and providers get STUN and mUSD; providers register with stake.
  const people = [requester, requester2, p1, p2, p3, outsider];
  for (const who of people) {
    await mined(stun().write.transfer([who.address, parseEther("1000000")]));
    await mined(musd().write.mint([who.address, parseUnits("1000000", 6)]));
    await mined(stun(who.address).write.approve([deployment.marketplace, 2n ** 256n - 1n]));
    await mined(stun(who.address).write.approve([deployment.staking, 2n ** 256n - 1n]));
    await mined(musd(who.address).write.approve([deployment.marketplace, 2n ** 256n - 1n]));
  }
  for (const p of [p1, p2, p3]) await mined(staking(p.address).write.registerProvider([MIN_STAKE * 10n]));

  return {
    chain,
    deployment,
    domain,
    usd,
    accounts: { deployer, treasury, requester, requester2, p1, p2, p3, creator, outsider, voter1, voter2 },
    settlers: settlerAccounts,
    market,
    staking,
    stun,
    musd,
    timelock,
    governor,
    mined,
    /** Signs `settlement` with the first `m` settlers (default: the threshold, 2). */
    signSettlement: (settlement: Settlement, signers = settlerAccounts.slice(0, 2)) => signSettlement(signers, domain, settlement),
    /** `owner`'s ERC-2612 permit for STUN (nonce 0: its first), split for `permit(…, v, r, s)`. */
    signPermit: async (owner: HDAccount, spender: Address, value: bigint, deadline: bigint) => {
      const signature = await owner.signTypedData({
        domain: { name: "Stun", version: "1", chainId: chain.chain.id, verifyingContract: deployment.token },
        types: {
          Permit: [
            { name: "owner", type: "address" },
            { name: "spender", type: "address" },
            { name: "value", type: "uint256" },
            { name: "nonce", type: "uint256" },
            { name: "deadline", type: "uint256" },
          ],
        },
        primaryType: "Permit",
        message: { owner: owner.address, spender, value, nonce: 0n, deadline },
      });
      const { r, s, v, yParity } = parseSignature(signature);
      return { r, s, v: Number(v ?? BigInt(yParity + 27)) };
    },
    /** A fresh task id. */
    taskId: (label: string | number) => keccak256(toHex(`task:${label}`)),
    stop: () => chain.stop(),
  };
}

export type Stun = Awaited<ReturnType<typeof startStun>>;

/** Expects `action` to revert with the custom error `errorName` (and `args`, when given). */
export async function expectRevert(action: Promise<unknown> | (() => Promise<unknown>), errorName: string, args?: readonly unknown[]) {
  const error = await (typeof action === "function" ? action() : action).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a revert with ${errorName}`).toBeInstanceOf(BaseError);
  const revert = (error as BaseError).walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  let name = revert?.data?.errorName;
  let decodedArgs = revert?.data?.args as readonly unknown[] | undefined;
  // Errors raised by another contract (bubbled up), or by a deployment, are decoded against every ABI.
  const raw =
    revert?.raw ?? ((error as BaseError).walk((e) => typeof (e as { data?: unknown }).data === "string" && /^0x[0-9a-f]{8}/i.test((e as { data: string }).data)) as { data?: Hex } | null)?.data;
  if (!name && raw) {
    const decoded = decodeErrorResult({ abi: ALL_ERRORS, data: raw });
    name = decoded.errorName;
    decodedArgs = decoded.args as readonly unknown[] | undefined;
  }
  expect(name, (error as BaseError).shortMessage).toBe(errorName);
  if (args) expect(decodedArgs ?? []).toEqual(args);
}

/** The `TaskSettled` event of a receipt (one per settled task). */
export function settledEvents(receipt: TransactionReceipt) {
  return parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "TaskSettled" }).map((l) => l.args);
}

export const digest = (label: string): Hex => keccak256(encodeAbiParameters([{ type: "string" }], [label]));
