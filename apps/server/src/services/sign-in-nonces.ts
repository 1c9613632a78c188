/**
 * Single-use nonces of the non-EVM wallet sign-ins (Sign-In With Solana nonces, TonConnect
 * ton_proof payloads), kept in the SIWE nonce store (auth/siwe-nonces.ts: memory, or Redis when
 * REDIS_URL is set) under a family prefix, so a nonce issued for one family never verifies another.
 * Issuing counts against the same per-address limit as SIWE nonces (RATE_LIMIT_SIWE_NONCES).
 */
import { randomBytes } from "node:crypto";
import { StunError } from "@stun/shared";
import type { AppContext } from "../context";
import { SIWE_NONCE_TTL_MS } from "../auth/config";

/** A message or proof may say it was made at most this far in the future (clock skew). */
export const CLOCK_SKEW_MS = 5 * 60_000;

export type NonceFamily = "solana" | "ton";

/** A new nonce (32 hex digits, alphanumeric as EIP-4361-shaped messages need) for `family`, valid SIWE_NONCE_TTL_MS. */
export async function issueSignInNonce(app: AppContext, ip: string, family: NonceFamily, now = Date.now()): Promise<{ nonce: string; expiresAt: string }> {
  await app.limits.hit("siweNonce", ip);
  const nonce = randomBytes(16).toString("hex");
  const expiresAt = now + SIWE_NONCE_TTL_MS;
  if (!(await app.siweNonces.put(`${family}:${nonce}`, expiresAt, now))) throw new StunError("RATE_LIMITED", "too many sign-ins in progress; try again in a minute");
  return { nonce, expiresAt: new Date(expiresAt).toISOString() };
}

/** Spends a `family` nonce: true when it was issued for that family and has not expired. */
export async function consumeSignInNonce(app: AppContext, family: NonceFamily, nonce: string, now: number): Promise<boolean> {
  if (!/^[0-9a-f]{32}$/.test(nonce)) return false; // not one issueSignInNonce makes
  const until = await app.siweNonces.take(`${family}:${nonce}`);
  return until !== undefined && until > now;
}
