/**
 * The Solana rail's configuration: the SOLANA_* variables (spread into env.ts's one zod schema).
 * Unset SOLANA_RPC_URL turns it off: no watcher, no payouts. The settlement key is a keypair file
 * (the `solana-keygen` JSON array of 64 bytes), read once here; the file must not be readable by
 * group or others.
 */
import { isAddress } from "@solana/kit";
import { z } from "zod";
import { readSecretJson } from "../secret-file";
import type { ComputeBudgetPolicy } from "./payouts";

export const SOLANA_NETWORKS = ["devnet", "testnet", "mainnet-beta", "localnet"] as const;
export type SolanaNetwork = (typeof SOLANA_NETWORKS)[number];

const MAX_PRIORITY_FEE = 50_000_000;

const solanaAddress = z.string().refine((v) => isAddress(v), "must be a base58 Solana address");

export const solanaEnvShape = {
  /** JSON-RPC endpoint of the cluster (reads at finalized commitment); unset: Solana is off. */
  SOLANA_RPC_URL: z.string().url().optional(),
  SOLANA_NETWORK: z.enum(SOLANA_NETWORKS).optional(),
  /** The SPL token credited base unit for base unit (e.g. USDC's mint). */
  SOLANA_MINT: solanaAddress.optional(),
  /** The wallet whose associated token account for SOLANA_MINT takes deposits. */
  SOLANA_DEPOSIT_OWNER: solanaAddress.optional(),
  /** Keypair file (solana-keygen JSON, mode 0600) of the key that signs payouts from its own token account and pays their fees. */
  SOLANA_SETTLEMENT_KEY: z.string().min(1).optional(),
  SOLANA_POLL_MS: z.coerce.number().int().min(100).default(5_000),
  /** Most payouts per transaction (fewer when 1232 bytes hold fewer: 10 new wallets, 20 holders). */
  SOLANA_PAYOUT_BATCH: z.coerce.number().int().min(1).max(20).default(10),
  /**
   * The most a payout transaction bids per compute unit, micro-lamports (SetComputeUnitPrice); 0: no
   * priority fee. Bounded so a typo cannot spend the settlement key's SOL: 50,000,000 µ-lamports is
   * 50 lamports a unit, 0.07 SOL for the 1.4M units a transaction may use.
   */
  SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS: z.coerce
    .number()
    .int("must be a whole number of micro-lamports per compute unit")
    .min(0, "must be 0 (no priority fee) or more")
    .max(MAX_PRIORITY_FEE, `must be at most ${MAX_PRIORITY_FEE} micro-lamports per compute unit (50 lamports; 0.07 SOL for a 1.4M-unit transaction)`)
    .default(100_000),
  /** Which percentile of the priority fees recently paid for the same accounts a payout bids (then capped). */
  SOLANA_PRIORITY_FEE_PERCENTILE: z.coerce.number().int().min(0, "must be 0–100").max(100, "must be 0–100").default(75),
};

type SolanaEnv = z.infer<z.ZodObject<typeof solanaEnvShape>>;

export interface SolanaConfig {
  network: SolanaNetwork;
  rpcUrl: string;
  mint: string;
  depositOwner: string;
  /** The settlement keypair's 64 bytes (secret ‖ public), or undefined: deposits only, no payouts. */
  settlementKey: Uint8Array | undefined;
  pollMs: number;
  payoutBatch: number;
  /** How payout transactions bid for block space. */
  computeBudget: ComputeBudgetPolicy;
}

/** Reads a solana-keygen keypair file: a JSON array of 64 bytes. Throws a one-line reason. */
export function readKeypairFile(file: string): Uint8Array {
  const bytes = readSecretJson(file, "not a JSON array of 64 bytes");
  if (!Array.isArray(bytes) || bytes.length !== 64 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) throw new Error("not a JSON array of 64 bytes");
  return Uint8Array.from(bytes as number[]);
}

/** The Solana configuration, or undefined when SOLANA_RPC_URL is unset; problems one line each. */
export function resolveSolanaConfig(env: SolanaEnv): { solana: SolanaConfig | undefined; issues: string[] } {
  if (!env.SOLANA_RPC_URL) {
    const stray = (["SOLANA_NETWORK", "SOLANA_MINT", "SOLANA_DEPOSIT_OWNER", "SOLANA_SETTLEMENT_KEY"] as const).filter((k) => env[k] !== undefined);
    return { solana: undefined, issues: stray.map((k) => `${k}: set without SOLANA_RPC_URL`) };
  }
  const issues: string[] = [];
  for (const k of ["SOLANA_NETWORK", "SOLANA_MINT", "SOLANA_DEPOSIT_OWNER"] as const) {
    if (env[k] === undefined) issues.push(`${k}: required when SOLANA_RPC_URL is set`);
  }
  let settlementKey: Uint8Array | undefined;
  if (env.SOLANA_SETTLEMENT_KEY) {
    try {
      settlementKey = readKeypairFile(env.SOLANA_SETTLEMENT_KEY);
    } catch (e) {
      issues.push(`SOLANA_SETTLEMENT_KEY: ${env.SOLANA_SETTLEMENT_KEY}: ${(e as Error).message}`);
    }
  }
  if (issues.length > 0 || !env.SOLANA_NETWORK || !env.SOLANA_MINT || !env.SOLANA_DEPOSIT_OWNER) return { solana: undefined, issues };
  return {
    solana: {
      network: env.SOLANA_NETWORK,
      rpcUrl: env.SOLANA_RPC_URL,
      mint: env.SOLANA_MINT,
      depositOwner: env.SOLANA_DEPOSIT_OWNER,
      settlementKey,
      pollMs: env.SOLANA_POLL_MS,
      payoutBatch: env.SOLANA_PAYOUT_BATCH,
      computeBudget: { maxMicroLamports: BigInt(env.SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS), percentile: env.SOLANA_PRIORITY_FEE_PERCENTILE },
    },
    issues: [],
  };
}
