import { z } from "zod";

/**
 * Sign-In with Ethereum (EIP-4361): the server issues a single-use nonce, the wallet signs a SIWE
 * message carrying it, and the server verifies the signature and answers with an API key.
 */
export const SiweNonceResponseSchema = z.object({
  /** Put it in the message's `Nonce:` field; it is valid once, until `expiresAt`. */
  nonce: z.string(),
  expiresAt: z.string(),
});
export type SiweNonceResponse = z.infer<typeof SiweNonceResponseSchema>;

/** An EVM address, 0x + 40 hex digits (any case). */
export const EvmAddressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "not an EVM address");

export const SiweVerifyRequestSchema = z.object({
  /** The EIP-4361 message exactly as signed. */
  message: z.string().min(1).max(8_192),
  /** The wallet's signature of the message (personal_sign), 0x hex. */
  signature: z
    .string()
    .max(16_386)
    .regex(/^0x([0-9a-fA-F]{2})+$/, "a signature is 0x-prefixed hex"),
});
export type SiweVerifyRequest = z.infer<typeof SiweVerifyRequestSchema>;

export const SiweVerifyResponseSchema = z.object({
  accountId: z.string(),
  /** A new API key for this session (shown once; only its hash is stored). */
  apiKey: z.string(),
  /** The signer, lower-case 0x. */
  walletAddress: z.string(),
  /** True when this sign-in created the account. */
  created: z.boolean(),
});
export type SiweVerifyResponse = z.infer<typeof SiweVerifyResponseSchema>;

/** The wallet linked to the caller's account (null: none yet). */
export const LinkedWalletSchema = z.object({ walletAddress: z.string().nullable() });
export type LinkedWallet = z.infer<typeof LinkedWalletSchema>;
