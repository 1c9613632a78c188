/**
 * The chain adapter (chain/adapter.ts ChainAdapter) as the rest of the server sees it through the
 * AppContext. An interface in a root module, so that context.ts imports nothing of chain/, whose
 * modules take the context: no import cycle, not even a type-only one (.dependency-cruiser.cjs).
 */
import type { Address, PublicClient } from "viem";
import type { WithdrawalView } from "@stun/shared";

export interface ChainToken {
  address: Address;
  symbol: string;
  decimals: number;
}

/**
 * What browsers and clients need to know about the chain (GET /api/v1/chain; the web app's
 * /web-config.json `chain`). Shaped like apps/web's WebChainConfig.
 */
export interface ChainInfo {
  /** `local`, `base`, … (CHAIN). */
  network: string;
  chainId: number;
  /** A name for people ("Anvil (local)"). */
  name: string;
  /** The RPC URL for browsers (CHAIN_PUBLIC_RPC_URL, default CHAIN_RPC_URL). */
  rpcUrl: string;
  explorerUrl?: string;
  marketplace: Address;
  /** The token deposits are credited in, base unit for base unit (zero address: ETH). */
  ledgerToken: Address;
  /** The token providers stake in Staking: STUN, or the ledger token (a `--stake-token ledger` deployment, whose stake the ledger counts). */
  stakeToken: ChainToken;
  /** STUN (stake, governance) when Staking takes it; absent when Staking takes the ledger token (STUN's address is then not known here). */
  stunToken?: ChainToken;
  /** Tokens a deposit can be made in that the ledger credits: the ledger token. */
  tokens: ChainToken[];
  treasury: Address;
  confirmations: number;
  /** Seconds between a settlement and its payouts becoming claimable. */
  disputeWindowSeconds: number;
}

/** A per-task escrow as the marketplace holds it (`getTask`), read at a confirmed block. */
export interface EscrowOnChain {
  /** The contract's TaskStatus (1: Escrowed). */
  status: number;
  requester: Address;
  token: Address;
  amount: bigint;
  /** Unix seconds. */
  deadline: number;
  modelCreator: Address;
  zk: boolean;
  /** A zk escrow's terms (`zkTermsOf`): the model hash and the input hash its proof must publish. */
  zkTerms?: { modelHash: bigint; inputHash: bigint };
  /** The timestamp of the block it was read at (unix seconds). */
  blockTime: number;
}

/** One comparison of the ledger with the chain (chain/adapter.ts `ConservationCheck`). */
export interface ConservationSnapshot {
  at: Date;
  report: { chainId: number; token: string; terms: Array<{ name: string; ledger: bigint; chain: bigint }>; holdings: bigint; mismatches: string[] };
  /** When the ledger counts on-chain stake. */
  stake: { blockNumber: bigint; wallets: number; onChain: bigint; counted: bigint; slashedOnChain: bigint; slashedCounted: bigint; violations: string[] } | undefined;
}

export interface ChainPort {
  /** What browsers and clients are told about the chain (GET /api/v1/chain, /web-config.json). */
  readonly info: ChainInfo;
  readonly cfg: { readonly chainId: number };
  /** For SIWE: smart-contract wallets' signatures are checked by a call to the chain. */
  readonly clients: { readonly publicClient: Pick<PublicClient, "verifyMessage"> };
  /** The last block the deposit scanner has read. */
  readonly deposits: { scannedTo(): Promise<bigint> };
  readonly withdrawals: {
    /** Withdraws that much of the account's on-chain deposit to its linked wallet. */
    request(accountId: string, amount: bigint): Promise<WithdrawalView>;
    list(accountId: string): Promise<WithdrawalView[]>;
  };
  /** Per-task escrows (chain/escrows.ts): read at submit to link one to a task. */
  readonly escrows?: {
    /** The escrow as of the latest confirmed block (CHAIN_CONFIRMATIONS); undefined when none is there. */
    lookup(escrowId: `0x${string}`): Promise<EscrowOnChain | undefined>;
  };
  /** The last conservation check, or a new one when it is older than CHAIN_CONSERVATION_MS. */
  latestConservation(): Promise<ConservationSnapshot>;
  stop(): Promise<void>;
}
