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
