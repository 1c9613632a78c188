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

/** The wallet families an account links (one of each at most). */
export const WalletFamilySchema = z.enum(["evm", "solana", "ton"]);
export type WalletFamily = z.infer<typeof WalletFamilySchema>;

/** What a wallet sign-in (SIWE, SIWS or ton_proof) answers. */
export const WalletSignInResponseSchema = z.object({
  accountId: z.string(),
  /** A new API key for this session (shown once; only its hash is stored). */
  apiKey: z.string(),
  /** The signer, normalized for its family: evm lower-case 0x, solana base58 public key, ton raw `0:<hex>`. */
  walletAddress: z.string(),
  family: WalletFamilySchema,
  /** Where the proof was made: `eip155:<chain id>`, `solana:<cluster>`, `ton:<-239|-3>`. */
  network: z.string(),
  /** True when this sign-in created the account. */
  created: z.boolean(),
});
export type WalletSignInResponse = z.infer<typeof WalletSignInResponseSchema>;

export const SiweVerifyResponseSchema = WalletSignInResponseSchema;
export type SiweVerifyResponse = WalletSignInResponse;

/**
 * Sign-In With Solana: the wallet-standard `solana:signIn` message (EIP-4361 shaped, "… wants you
 * to sign in with your Solana account:"), carrying a nonce from POST /auth/siws/nonce.
 */
export const SiwsVerifyRequestSchema = z.object({
  /** The SIWS message exactly as signed (UTF-8). */
  message: z.string().min(1).max(8_192),
  /** The ed25519 signature of the message's bytes: base58 or base64 (64 bytes). */
  signature: z.string().min(1).max(200),
  /** The signer's public key, base58 (its Solana address). */
  publicKey: z.string().min(1).max(100),
});
export type SiwsVerifyRequest = z.infer<typeof SiwsVerifyRequestSchema>;

/** TonConnect ton_proof, step 1: the payload the wallet signs (single-use, like a nonce). */
export const TonProofPayloadResponseSchema = z.object({ payload: z.string(), expiresAt: z.string() });
export type TonProofPayloadResponse = z.infer<typeof TonProofPayloadResponseSchema>;

/** TonConnect ton_proof, step 2: what the wallet returned (TonProofItemReplySuccess) and its account. */
export const TonProofVerifyRequestSchema = z.object({
  /** The wallet's address, raw form `<workchain>:<64 hex>`. */
  address: z.string().min(1).max(100),
  /** TonConnect CHAIN: "-239" mainnet, "-3" testnet. */
  network: z.string().max(16),
  /** The wallet's public key (hex), when the wallet gave it; it must be the state_init's. */
  public_key: z.string().max(128).optional(),
  proof: z.object({
    /** Unix seconds when the wallet signed. */
    timestamp: z.number().int().nonnegative(),
    domain: z.object({ lengthBytes: z.number().int().nonnegative(), value: z.string().max(256) }),
    /** The ed25519 signature, base64. */
    signature: z.string().min(1).max(200),
    payload: z.string().max(256),
    /** The wallet's StateInit, a base64 BOC. */
    state_init: z.string().min(1).max(16_384),
  }),
});
export type TonProofVerifyRequest = z.infer<typeof TonProofVerifyRequestSchema>;

/** One wallet linked to an account. */
export const LinkedWalletViewSchema = z.object({
  family: WalletFamilySchema,
  /** `eip155:<chain id>` (`eip155` for links older than this record), `solana:<cluster>`, `ton:<-239|-3>`. */
  network: z.string(),
  /** evm lower-case 0x, solana base58 public key, ton raw `0:<hex>`. */
  address: z.string(),
  linkedAt: z.string(),
});
export type LinkedWalletView = z.infer<typeof LinkedWalletViewSchema>;

/** GET /api/v1/accounts/me/wallets: every wallet linked to the caller's account (evm, solana, ton order). */
export const LinkedWalletsResponseSchema = z.object({ wallets: z.array(LinkedWalletViewSchema) });
export type LinkedWalletsResponse = z.infer<typeof LinkedWalletsResponseSchema>;

/** The wallet linked to the caller's account (null: none yet). */
export const LinkedWalletSchema = z.object({ walletAddress: z.string().nullable() });
export type LinkedWallet = z.infer<typeof LinkedWalletSchema>;
