/**
 * What Stun needs from a Solana cluster, and nothing more: the deposit source and the payout rail
 * use only this. rpc-chain.ts implements it over JSON-RPC (finalized commitment); the tests
 * implement it over litesvm (test/chains/solana/litesvm-chain.ts), which keeps its own signature
 * index since litesvm has none.
 */

export interface SolanaSignatureInfo {
  signature: string;
  slot: bigint;
  /** The transaction landed but failed (fee charged, nothing else changed). */
  failed: boolean;
}

/** A top-level instruction with its accounts resolved to addresses. */
export interface SolanaInstructionView {
  programAddress: string;
  accounts: string[];
  data: Uint8Array;
}

/** A token account the transaction touched, as it was after it (RPC: meta.postTokenBalances). */
export interface SolanaTokenAccountView {
  address: string;
  mint: string;
  owner: string;
  /** Its token balance before the transaction (0 when it did not exist; RPC: meta.preTokenBalances). */
  amountBefore: bigint;
  /** Its token balance after the transaction: what a transfer-fee mint lets the account keep. */
  amountAfter: bigint;
}

/** An account's owner program and data (a mint, to tell SPL Token from Token-2022 and read its extensions). */
export interface SolanaAccountView {
  programAddress: string;
  data: Uint8Array;
}

export interface SolanaTransactionView {
  signature: string;
  slot: bigint;
  failed: boolean;
  instructions: SolanaInstructionView[];
  tokenAccounts: SolanaTokenAccountView[];
}

export interface SolanaSignatureStatus {
  slot: bigint;
  finalized: boolean;
  /** The transaction's error (it landed and failed), or null. */
  err: string | null;
}

export interface SolanaChain {
  /**
   * Finalized signatures of transactions that touched `address`, newest first (as the RPC's
   * getSignaturesForAddress): those after `until` (exclusive) and before `before` (exclusive).
   */
  signaturesForAddress(address: string, opts: { until?: string; before?: string; limit: number }): Promise<SolanaSignatureInfo[]>;
  /** A finalized transaction, or null when it is not (yet) finalized or unknown. */
  finalizedTransaction(signature: string): Promise<SolanaTransactionView | null>;
  latestBlockhash(): Promise<{ blockhash: string; lastValidBlockHeight: bigint }>;
  /** Whether a transaction with this blockhash can still land. */
  isBlockhashValid(blockhash: string): Promise<boolean>;
  /** Sends a signed transaction (base64 wire bytes), without preflight: one that fails lands failed. */
  sendTransaction(wireBase64: string): Promise<void>;
  /** Statuses of signatures, searching the whole history (null: never seen). */
  signatureStatuses(signatures: string[]): Promise<Array<SolanaSignatureStatus | null>>;
  /** Which of these accounts exist (at confirmed commitment or better). */
  accountsExist(addresses: string[]): Promise<boolean[]>;
  /** The mint's decimals. */
  mintDecimals(mint: string): Promise<number>;
  /** An account's owner and data at finalized commitment, or null when it does not exist. */
  account(address: string): Promise<SolanaAccountView | null>;
  /**
   * Priority fees (micro-lamports per compute unit) paid in recent slots by transactions that wrote
   * any of these accounts (RPC getRecentPrioritizationFees: one value per slot, up to 150 slots).
   */
  recentPrioritizationFees(writableAccounts: string[]): Promise<bigint[]>;
  /** Compute units the signed transaction consumes when simulated now (null: the simulation gave no figure). */
  simulateComputeUnits(wireBase64: string): Promise<bigint | null>;
}

/** The SPL Memo program ids (v2 is what wallets use; v1 the legacy one): both are read. */
export const MEMO_PROGRAM_V2 = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr";
export const MEMO_PROGRAM_V1 = "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo";
export const TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
export const TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
export const TOKEN_PROGRAMS = [TOKEN_PROGRAM, TOKEN_2022_PROGRAM] as const;
export type TokenProgram = (typeof TOKEN_PROGRAMS)[number];
