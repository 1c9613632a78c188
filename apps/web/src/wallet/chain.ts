import { type Address, type Chain, type Hex, defineChain, parseAbi, stringToHex, zeroAddress } from "viem";

/** A token the marketplace escrows or stakes (ETH is the zero address). */
export interface WebToken {
  address: Address;
  symbol: string;
  decimals: number;
}

/**
 * The chain part of /web-config.json (apps/server/src/http/web.ts: the chain adapter's ChainInfo),
 * present when the server settles on an EVM chain (CHAIN is configured).
 */
export interface WebChainConfig {
  /** `local`, `base`, … (the server's CHAIN). */
  network?: string;
  chainId: number;
  /** A name for people ("Anvil (local)"). */
  name: string;
  /** JSON-RPC URL the browser reads the chain through. */
  rpcUrl: string;
  /** ComputeMarketplace. */
  marketplace: Address;
  /** The token providers stake in Staking (STUN, or the ledger token). */
  stakeToken?: WebToken;
  /** The STUN token (stake, governance), when Staking takes it. */
  stunToken?: WebToken;
  /** Escrow tokens the marketplace allows, ETH (zero address) first when allowed. */
  tokens: WebToken[];
  /** The token whose deposits the server credits to the Stun ledger (base unit for base unit). */
  ledgerToken: Address;
  /** Block explorer base URL (`…/tx/<hash>`), when the chain has one. */
  explorerUrl?: string;
  /** Blocks a deposit needs before the server credits it. */
  confirmations?: number;
  /** Seconds between an on-chain settlement and its payouts becoming claimable. */
  disputeWindowSeconds?: number;
}

/** GET /api/v1/chain/account: the caller's deposit account and what the server has seen of it. */
export interface ChainAccountView {
  accountId: string;
  /** The bytes32 `account` deposits name. */
  depositAccount: Hex;
  walletAddress: string | null;
  onChain: { deposited: string; settled: string; withdrawn: string; available: string };
  /** The linked wallet's stake in Staking; `counted`: in this account's ledger stake. */
  stake?: { wallet: string; active: string; unbonding: string; slashed: string; counted: boolean } | null;
  deposits: Array<{ txHash: Hex; logIndex: number; blockNumber: string; from: string; amount: string; status: string; createdAt: string }>;
}

export const ETH = zeroAddress;
export const isEth = (token: Address): boolean => token.toLowerCase() === zeroAddress;

/** The viem chain of a server's chain config. */
export function toViemChain(c: WebChainConfig): Chain {
  return defineChain({
    id: c.chainId,
    name: c.name,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [c.rpcUrl] } },
    ...(c.explorerUrl ? { blockExplorers: { default: { name: "Explorer", url: c.explorerUrl } } } : {}),
  });
}

/**
 * A Stun account id as the bytes32 `account` of the marketplace's `deposit`: the id's UTF-8 bytes,
 * right-padded with zeros (contracts/src-ts/ids.ts).
 */
export function accountToBytes32(accountId: string): Hex {
  const bytes = new TextEncoder().encode(accountId);
  if (bytes.length === 0 || bytes.length > 32 || bytes.includes(0)) throw new Error(`not a Stun account id: ${accountId}`);
  return stringToHex(accountId, { size: 32 });
}

/** The parts of ComputeMarketplace the web app calls. */
export const marketplaceAbi = parseAbi([
  "function deposit(address token, uint256 amount, bytes32 account) payable",
  "event Deposited(bytes32 indexed account, address indexed from, address indexed token, uint256 amount)",
]);

export const erc20Abi = parseAbi([
  "function balanceOf(address owner) view returns (uint256)",
  "function allowance(address owner, address spender) view returns (uint256)",
  "function approve(address spender, uint256 amount) returns (bool)",
]);

/** A transaction's page on the chain's explorer, or undefined without an explorer. */
export const txUrl = (c: Pick<WebChainConfig, "explorerUrl">, hash: string): string | undefined => (c.explorerUrl ? `${c.explorerUrl.replace(/\/$/, "")}/tx/${hash}` : undefined);
