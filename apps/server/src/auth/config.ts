import { z } from "zod";

/** How long an issued sign-in (SIWE) nonce stays valid (services/wallets.ts), and its rate limit's window (limits/rate-limits.ts). */
export const SIWE_NONCE_TTL_MS = 10 * 60_000;

/** API key settings (docs/CONCEPTS.md "API keys: scopes, expiry, revocation"), spread into env.ts's schema. */
export const keysEnvShape = {
  /** Lifetime of the API key a Sign-In with Ethereum issues (a session), in seconds. Default 7 days. */
  SIWE_SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(365 * 24 * 3600)
    .default(7 * 24 * 3600),
  /** Live wallet-session keys an account keeps; a new sign-in revokes the oldest beyond this. */
  SIWE_SESSION_MAX: z.coerce.number().int().min(1).max(100).default(5),
};

/** A TonConnect ton_proof may be at most this old (its timestamp), and as far ahead as the clock skew. */
export const TON_PROOF_MAX_AGE_MS = 15 * 60_000;

/** The networks a wallet sign-in of each non-EVM family may name (services/siws.ts, services/ton-proof.ts), spread into env.ts's schema. */
export const walletsEnvShape = {
  /**
   * Solana clusters a Sign-In With Solana message's `Chain ID` may name (comma-separated; `mainnet`
   * also accepts `solana:mainnet`). Default: mainnet, devnet, testnet, localnet.
   */
  SIWS_NETWORKS: z
    .string()
    .default("mainnet,devnet,testnet,localnet")
    .transform((s) =>
      s
        .split(",")
        .map((n) => n.trim().replace(/^solana:/, ""))
        .filter(Boolean),
    ),
  /** TonConnect networks a ton_proof may name (comma-separated): -239 mainnet, -3 testnet. Default both. */
  TON_NETWORKS: z
    .string()
    .default("-239,-3")
    .transform((s) =>
      s
        .split(",")
        .map((n) => n.trim())
        .filter(Boolean),
    ),
};
