import { z } from "zod";
import { SiweNonceResponseSchema, SiwsVerifyRequestSchema, WalletSignInResponseSchema } from "@stun/shared";
import { procedure } from "../define";
import { issueSignInNonce } from "../../services/sign-in-nonces";
import { verifySiws } from "../../services/siws";
import { requireScope } from "../../auth/scopes";

export const siwsNonceProcedure = procedure({
  kind: "mutation",
  auth: false,
  summary:
    "Sign-In With Solana, step 1: a single-use nonce (valid 10 minutes) for the wallet-standard solana:signIn message; counts against the same RATE_LIMIT_SIWE_NONCES per address as SIWE nonces (429 RATE_LIMITED)",
  input: z.object({}).optional(),
  output: SiweNonceResponseSchema,
  handler: ({ app, ip }) => issueSignInNonce(app, ip, "solana"),
});

export const siwsVerifyProcedure = procedure({
  kind: "mutation",
  auth: false,
  summary:
    "Sign-In With Solana, step 2: verify the signed message (ed25519 over its bytes; signature base58 or base64); with an API key, link the Solana wallet to that account, otherwise sign in to the wallet's account (created on first sign-in). Answers with a new API key",
  input: SiwsVerifyRequestSchema,
  output: WalletSignInResponseSchema,
  handler: ({ app, accountId, key }, input) => {
    // Linking changes the account's identity: only a key with the account's full power.
    if (key) requireScope(key.scopes, ["admin"], "link a wallet to the account");
    return verifySiws(app, accountId, input);
  },
});
