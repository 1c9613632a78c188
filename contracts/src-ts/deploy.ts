/**
 * Deploys Stun's contracts with viem: the STUN token, the TimelockController that owns the
 * marketplace, the Governor that proposes to the timelock, and the ComputeMarketplace (whose
 * constructor creates its Staking and its ZkProofChecker).
 */
import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
  getAddress,
  keccak256,
  parseEther,
  toHex,
  zeroAddress,
} from "viem";
import {
  computeMarketplaceAbi,
  computeMarketplaceBytecode,
  mockERC20Abi,
  mockERC20Bytecode,
  stunGovernorAbi,
  stunGovernorBytecode,
  stunTokenAbi,
  stunTokenBytecode,
  timelockControllerAbi,
  timelockControllerBytecode,
} from "./generated";

export type DeployWalletClient = WalletClient<Transport, Chain, Account>;

export const PROPOSER_ROLE = keccak256(toHex("PROPOSER_ROLE"));
export const EXECUTOR_ROLE = keccak256(toHex("EXECUTOR_ROLE"));
export const CANCELLER_ROLE = keccak256(toHex("CANCELLER_ROLE"));
export const DEFAULT_ADMIN_ROLE: Hex = `0x${"00".repeat(32)}`;

export interface DeployStunOptions {
  /** Waits for receipts (any public client on the same chain). */
  publicClient: PublicClient;
  /** Settler addresses (M-of-N validator keys) and M. */
  settlers: readonly Address[];
  settlerThreshold: bigint;
  /** Receives the whole STUN supply; default: the deployer. */
  tokenHolder?: Address;
  /** STUN initial supply in base units; default 1,000,000,000 STUN. */
  initialSupply?: bigint;
  /** Treasury address; default: the timelock (spent through governance). */
  treasury?: Address;
  /** May pause/unpause; default: the deployer. */
  guardian?: Address;
  /** Treasury and creator shares in bps; default 1,500 / 500 (packages/shared FEE_SPLIT). */
  treasuryBps?: number;
  creatorBps?: number;
  /** Seconds; defaults 1 day and 7 days. */
  disputeWindow?: bigint;
  unbondingDelay?: bigint;
  /** Smallest stake to register (stake-token base units); default 0. */
  minStake?: bigint;
  /**
   * The token providers stake in {Staking} (fixed for the deployment): "stun" (default) or the
   * address of another token, e.g. the ledger token (the deposit token the server credits) so that
   * on-chain stake counts in the ledger base unit for base unit (docs/CHAIN.md "Stake on chain").
   */
  stakeToken?: "stun" | Address;
  /** Escrow in native ETH; default true. */
  allowEth?: boolean;
  /** More escrow tokens besides STUN (and ETH). */
  allowedTokens?: readonly Address[];
  /** Timelock delay in seconds; default 2 days. */
  timelockDelay?: bigint;
  /** Governor settings: delay and period in blocks, threshold in votes, quorum in %. Defaults 1 day / 1 week at 12 s blocks, 0, 4%. */
  votingDelay?: number;
  votingPeriod?: number;
  proposalThreshold?: bigint;
  quorumPercent?: bigint;
  /** More timelock proposers/cancellers besides the governor (e.g. the deployer in local mode). */
  extraProposers?: readonly Address[];
  /** Keep the deployer as the timelock's admin (local mode only); default false: renounced. */
  keepTimelockAdmin?: boolean;
}

export interface StunDeployment {
  chainId: number;
  deployer: Address;
  token: Address;
  timelock: Address;
  governor: Address;
  marketplace: Address;
  /** Providers' stake: created by the marketplace's constructor (`staking()`); providers approve and stake here. */
  staking: Address;
  /** The token Staking takes (`stakeToken()`): STUN (`token`) or the one chosen with `stakeToken`. */
  stakeToken: Address;
  /** Block of the last deployment transaction. */
  blockNumber: bigint;
  /** Block of the marketplace's deployment: the first block its events can be in (start of event scans). */
  marketplaceBlockNumber: bigint;
}

async function deploy(walletClient: DeployWalletClient, publicClient: PublicClient, abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<{ address: Address; blockNumber: bigint }> {
  const hash = await walletClient.deployContract({ abi, bytecode, args } as Parameters<DeployWalletClient["deployContract"]>[0]);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deployment failed (tx ${hash})`);
  return { address: getAddress(receipt.contractAddress), blockNumber: receipt.blockNumber };
}

async function confirm(publicClient: PublicClient, hash: Hash): Promise<bigint> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction reverted (tx ${hash})`);
  return receipt.blockNumber;
}

/**
 * Deploys StunToken, TimelockController, StunGovernor and ComputeMarketplace (owned by the
 * timelock, which also sets Staking's parameters; the governor is the timelock's proposer and canceller; anyone may execute), then
 * renounces the deployer's timelock admin unless `keepTimelockAdmin`. Returns the addresses.
 */
export async function deployStun(walletClient: DeployWalletClient, opts: DeployStunOptions): Promise<StunDeployment> {
  const { publicClient } = opts;
  const deployer = walletClient.account.address;
  const token = await deploy(walletClient, publicClient, stunTokenAbi, stunTokenBytecode, [opts.tokenHolder ?? deployer, opts.initialSupply ?? parseEther("1000000000")]);
  const timelock = await deploy(walletClient, publicClient, timelockControllerAbi, timelockControllerBytecode, [opts.timelockDelay ?? 2n * 86_400n, [], [zeroAddress], deployer]);
  const governor = await deploy(walletClient, publicClient, stunGovernorAbi, stunGovernorBytecode, [
    token.address,
    timelock.address,
    opts.votingDelay ?? 7_200,
    opts.votingPeriod ?? 50_400,
    opts.proposalThreshold ?? 0n,
    opts.quorumPercent ?? 4n,
  ]);
  const allowedTokens = [token.address, ...(opts.allowEth === false ? [] : [zeroAddress]), ...(opts.allowedTokens ?? [])];
  const marketplace = await deploy(walletClient, publicClient, computeMarketplaceAbi, computeMarketplaceBytecode, [
    {
      owner: timelock.address,
      guardian: opts.guardian ?? deployer,
      treasury: opts.treasury ?? timelock.address,
      stakeToken: opts.stakeToken === undefined || opts.stakeToken === "stun" ? token.address : getAddress(opts.stakeToken),
      settlers: opts.settlers,
      settlerThreshold: opts.settlerThreshold,
      treasuryBps: opts.treasuryBps ?? 1_500,
      creatorBps: opts.creatorBps ?? 500,
      disputeWindow: opts.disputeWindow ?? 86_400n,
      unbondingDelay: opts.unbondingDelay ?? 7n * 86_400n,
      minStake: opts.minStake ?? 0n,
      allowedTokens,
    },
  ]);

  const staking = await publicClient.readContract({ address: marketplace.address, abi: computeMarketplaceAbi, functionName: "staking" });

  let blockNumber = marketplace.blockNumber;
  const grant = async (role: Hex, account: Address) => {
    const hash = await walletClient.writeContract({
      address: timelock.address,
      abi: timelockControllerAbi,
      functionName: "grantRole",
      args: [role, account],
    });
    blockNumber = await confirm(publicClient, hash);
  };
  for (const proposer of [governor.address, ...(opts.extraProposers ?? [])]) {
    await grant(PROPOSER_ROLE, proposer);
    await grant(CANCELLER_ROLE, proposer);
  }
  if (!opts.keepTimelockAdmin) {
    const hash = await walletClient.writeContract({
      address: timelock.address,
      abi: timelockControllerAbi,
      functionName: "renounceRole",
      args: [DEFAULT_ADMIN_ROLE, deployer],
    });
    blockNumber = await confirm(publicClient, hash);
  }
  return {
    chainId: await publicClient.getChainId(),
    deployer,
    token: token.address,
    timelock: timelock.address,
    governor: governor.address,
    marketplace: marketplace.address,
    staking: getAddress(staking),
    stakeToken: getAddress(await publicClient.readContract({ address: marketplace.address, abi: computeMarketplaceAbi, functionName: "stakeToken" })),
    blockNumber,
    marketplaceBlockNumber: marketplace.blockNumber,
  };
}

/** Deploys a MockERC20 (anyone can mint): a stand-in stablecoin for tests and local mode. */
export async function deployMockToken(walletClient: DeployWalletClient, publicClient: PublicClient, opts: { name?: string; symbol?: string; decimals?: number } = {}): Promise<Address> {
  const { address } = await deploy(walletClient, publicClient, mockERC20Abi, mockERC20Bytecode, [opts.name ?? "Mock USD", opts.symbol ?? "mUSD", opts.decimals ?? 6]);
  return address;
}
