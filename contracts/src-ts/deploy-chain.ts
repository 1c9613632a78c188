/**
 * Deploying Stun's contract set to a named EVM chain (Ethereum, Base, Arbitrum, their testnets, or
 * a local anvil) and checking the result on chain before anyone relies on it: the pure planning and
 * checking the deploy script (scripts/deploy.ts) runs, with the server settings it prints.
 *
 * Safety rules, checked before the first transaction:
 * - the RPC endpoint's chain id must be the named chain's (a Sepolia URL given for `base` is refused);
 * - a mainnet needs `confirmMainnet` (the script's `--yes-mainnet`);
 * - the settler set must be valid: distinct addresses, 1 ≤ threshold ≤ settlers;
 * - the deployer must hold gas money.
 */
import { type Address, type Hex, type PublicClient, createPublicClient, createWalletClient, getAddress, http, isAddress, zeroAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { CHAIN_PRESETS, type ChainName } from "./chains";
import { type DeployStunOptions, PROPOSER_ROLE, DEFAULT_ADMIN_ROLE, type StunDeployment, deployStun } from "./deploy";
import { computeMarketplaceAbi, stakingAbi, timelockControllerAbi } from "./generated";

export interface DeployToChainOptions {
  chain: ChainName;
  rpcUrl: string;
  /** The deployer's private key (0x + 64 hex); pays the gas, then holds nothing (the timelock owns the marketplace). */
  deployerKey: Hex;
  settlers: readonly Address[];
  threshold: number;
  /** The token whose deposits the server credits (e.g. USDC); allowed as escrow besides STUN and ETH. Default: none (STUN and ETH only). */
  depositToken?: Address;
  guardian?: Address;
  treasury?: Address;
  /**
   * The token providers stake: "stun" (default) or "ledger", the deposit token (needs
   * `depositToken`), so that on-chain stake counts in the server's ledger base unit for base unit
   * (docs/CHAIN.md "Stake on chain"). Fixed for the deployment (Staking's stakeToken is immutable).
   */
  stakeToken?: StakeTokenChoice;
  /** Required for a mainnet. */
  confirmMainnet?: boolean;
  /** Deployment parameters passed through (dispute window, unbonding delay, fee shares …). */
  params?: Omit<DeployStunOptions, "publicClient" | "settlers" | "settlerThreshold" | "guardian" | "treasury" | "allowedTokens">;
}

/** Which token Staking takes: STUN, or the ledger (deposit) token. */
export type StakeTokenChoice = "stun" | "ledger";
export const STAKE_TOKEN_CHOICES: readonly StakeTokenChoice[] = ["stun", "ledger"];

export interface ChainDeploymentRecord extends Omit<StunDeployment, "blockNumber" | "marketplaceBlockNumber"> {
  chain: ChainName;
  /** Decimal text (JSON has no bigint): the last deployment transaction's block. */
  blockNumber: string;
  /** The marketplace's deployment block: where the server's deposit scan starts (nothing can be deposited before it). */
  marketplaceBlockNumber: string;
  settlers: Address[];
  threshold: number;
  depositToken: Address;
  /** "stun" or "ledger": what `stakeToken` is. */
  stakeTokenChoice: StakeTokenChoice;
  deployedAt: string;
}

export interface DeploymentCheck {
  what: string;
  ok: boolean;
  detail?: string;
}

/** Why a deployment must not start, one line each (empty: go). Pure: the chain id and balance are passed in. */
export function deploymentProblems(
  o: Pick<DeployToChainOptions, "chain" | "settlers" | "threshold" | "depositToken" | "confirmMainnet" | "stakeToken">,
  rpcChainId: number,
  deployerBalance: bigint,
): string[] {
  const preset = CHAIN_PRESETS[o.chain];
  const problems: string[] = [];
  if (rpcChainId !== preset.id) problems.push(`the RPC endpoint is chain ${rpcChainId}, not ${o.chain} (${preset.id})`);
  if (preset.mainnet && !o.confirmMainnet) problems.push(`${preset.label} is a mainnet: pass --yes-mainnet to deploy there`);
  if (o.settlers.length === 0) problems.push("no settlers given");
  const bad = o.settlers.filter((a) => !isAddress(a, { strict: false }));
  if (bad.length > 0) problems.push(`not addresses: ${bad.join(", ")}`);
  if (new Set(o.settlers.map((a) => a.toLowerCase())).size !== o.settlers.length) problems.push("the same settler twice");
  if (!Number.isInteger(o.threshold) || o.threshold < 1 || o.threshold > o.settlers.length) problems.push(`threshold ${o.threshold} must be within 1..${o.settlers.length}`);
  if (o.depositToken !== undefined && !isAddress(o.depositToken, { strict: false })) problems.push(`deposit token ${o.depositToken} is not an address`);
  if (o.stakeToken !== undefined && !STAKE_TOKEN_CHOICES.includes(o.stakeToken)) problems.push(`stake token ${JSON.stringify(o.stakeToken)} must be one of ${STAKE_TOKEN_CHOICES.join(", ")}`);
  if (o.stakeToken === "ledger" && (o.depositToken === undefined || /^0x0{40}$/i.test(o.depositToken))) {
    problems.push("a ledger-token stake needs the ledger token: pass --deposit-token (an ERC-20, not ETH)");
  }
  if (deployerBalance === 0n) problems.push("the deployer has no gas money on this chain");
  return problems;
}

/**
 * Reads the deployment back from the chain and compares it with what was asked: code at every
 * address, the marketplace's owner (the timelock), settlers and threshold, the deposit token
 * allowed, Staking wired to the marketplace, the governor as the timelock's proposer, and the
 * deployer no longer the timelock's admin.
 */
export async function checkDeployment(
  client: PublicClient,
  d: StunDeployment,
  expected: { settlers: readonly Address[]; threshold: number; depositToken: Address; stakeToken?: Address },
): Promise<DeploymentCheck[]> {
  const checks: DeploymentCheck[] = [];
  const check = (what: string, ok: boolean, detail?: string) => checks.push({ what, ok, ...(detail !== undefined ? { detail } : {}) });
  for (const [name, address] of Object.entries({ token: d.token, timelock: d.timelock, governor: d.governor, marketplace: d.marketplace, staking: d.staking })) {
    const code = await client.getCode({ address });
    check(`${name} has code`, code !== undefined && code !== "0x", address);
  }
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    client.readContract({ address: d.marketplace, abi: computeMarketplaceAbi, functionName, args } as Parameters<PublicClient["readContract"]>[0]) as Promise<T>;
  const owner = await read<Address>("owner");
  check("marketplace owned by the timelock", getAddress(owner) === d.timelock, owner);
  const threshold = await read<bigint | number>("settlerThreshold");
  check("settler threshold", Number(threshold) === expected.threshold, String(threshold));
  for (const settler of expected.settlers) check(`settler ${settler}`, await read<boolean>("isSettler", [settler]));
  check("deposit token allowed", await read<boolean>("isTokenAllowed", [expected.depositToken]), expected.depositToken);
  const stakingMarketplace = (await client.readContract({ address: d.staking, abi: stakingAbi, functionName: "marketplace" })) as Address;
  check("staking belongs to the marketplace", getAddress(stakingMarketplace) === d.marketplace, stakingMarketplace);
  const stakeToken = getAddress((await client.readContract({ address: d.staking, abi: stakingAbi, functionName: "stakeToken" })) as Address);
  check("stake token", stakeToken === (expected.stakeToken ?? d.token), stakeToken);
  const role = (r: Hex, who: Address) => client.readContract({ address: d.timelock, abi: timelockControllerAbi, functionName: "hasRole", args: [r, who] }) as Promise<boolean>;
  check("governor proposes to the timelock", await role(PROPOSER_ROLE, d.governor));
  check("deployer is not the timelock's admin", !(await role(DEFAULT_ADMIN_ROLE, d.deployer)));
  return checks;
}

/** The server settings a deployment gives (settler keys and the submitter key are the operator's to add). */
export function serverEnvFor(record: Pick<ChainDeploymentRecord, "chain" | "marketplace" | "depositToken" | "marketplaceBlockNumber" | "threshold">, rpcUrl: string): Record<string, string> {
  return {
    CHAIN: record.chain,
    CHAIN_RPC_URL: rpcUrl,
    CHAIN_MARKETPLACE_ADDRESS: record.marketplace,
    CHAIN_TOKEN_ADDRESS: record.depositToken,
    CHAIN_START_BLOCK: record.marketplaceBlockNumber,
    CHAIN_SETTLER_THRESHOLD: String(record.threshold),
  };
}

/** Checks, deploys, reads back. Throws with every problem before any transaction when one is found, and after deploying when a check fails. */
export async function deployToChain(o: DeployToChainOptions): Promise<{ record: ChainDeploymentRecord; checks: DeploymentCheck[]; env: Record<string, string> }> {
  const preset = CHAIN_PRESETS[o.chain];
  const chain = { id: preset.id, name: preset.label, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [o.rpcUrl] } } } as const;
  const transport = http(o.rpcUrl, { retryCount: 2 });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: preset.id === CHAIN_PRESETS.local.id ? 50 : 2_000 }) as PublicClient;
  const account = privateKeyToAccount(o.deployerKey);
  const [rpcChainId, balance] = await Promise.all([publicClient.getChainId(), publicClient.getBalance({ address: account.address })]);
  const problems = deploymentProblems(o, rpcChainId, balance);
  if (problems.length > 0) throw new Error(`not deploying: ${problems.join("; ")}`);
  const wallet = createWalletClient({ chain, transport, account, pollingInterval: publicClient.pollingInterval });
  const settlers = o.settlers.map((a) => getAddress(a));
  const depositToken = getAddress(o.depositToken ?? zeroAddress);
  const deployment = await deployStun(wallet, {
    ...o.params,
    publicClient,
    settlers,
    settlerThreshold: BigInt(o.threshold),
    ...(o.guardian ? { guardian: getAddress(o.guardian) } : {}),
    ...(o.treasury ? { treasury: getAddress(o.treasury) } : {}),
    allowedTokens: depositToken === zeroAddress ? [] : [depositToken],
    stakeToken: o.stakeToken === "ledger" ? depositToken : "stun",
  });
  const checks = await checkDeployment(publicClient, deployment, { settlers, threshold: o.threshold, depositToken, ...(o.stakeToken === "ledger" ? { stakeToken: depositToken } : {}) });
  const record: ChainDeploymentRecord = {
    ...deployment,
    chain: o.chain,
    blockNumber: deployment.blockNumber.toString(),
    marketplaceBlockNumber: deployment.marketplaceBlockNumber.toString(),
    settlers,
    threshold: o.threshold,
    depositToken,
    stakeTokenChoice: o.stakeToken ?? "stun",
    deployedAt: new Date().toISOString(),
  };
  const failed = checks.filter((c) => !c.ok);
  if (failed.length > 0) throw new Error(`deployed, but the chain disagrees: ${failed.map((c) => `${c.what}${c.detail ? ` (${c.detail})` : ""}`).join("; ")}`);
  return { record, checks, env: serverEnvFor(record, o.rpcUrl) };
}
