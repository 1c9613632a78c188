import { z } from "zod";
import { TonProofPayloadResponseSchema, TonProofVerifyRequestSchema, WalletSignInResponseSchema } from "@stun/shared";
import { procedure } from "../define";
import { issueSignInNonce } from "../../services/sign-in-nonces";
import { verifyTonProof } from "../../services/ton-proof";
import { requireScope } from "../../auth/scopes";

export const tonProofPayloadProcedure = procedure({
  kind: "mutation",
  auth: false,
  summary: "TonConnect ton_proof, step 1: a single-use payload (valid 10 minutes) for the wallet to sign; counts against the same RATE_LIMIT_SIWE_NONCES per address as SIWE nonces (429 RATE_LIMITED)",
  input: z.object({}).optional(),
  output: TonProofPayloadResponseSchema,
  handler: async ({ app, ip }) => {
    const { nonce, expiresAt } = await issueSignInNonce(app, ip, "ton");
    return { payload: nonce, expiresAt };
  },
});

export const tonProofVerifyProcedure = procedure({
  kind: "mutation",
  auth: false,
  summary:
    "TonConnect ton_proof, step 2: verify the wallet's proof (the key read from its state_init, which must hash to the address); with an API key, link the TON wallet to that account, otherwise sign in to the wallet's account (created on first sign-in). Answers with a new API key",
  input: TonProofVerifyRequestSchema,
  output: WalletSignInResponseSchema,
  handler: ({ app, accountId, key }, input) => {
    // Linking changes the account's identity: only a key with the account's full power.
    if (key) requireScope(key.scopes, ["admin"], "link a wallet to the account");
    return verifyTonProof(app, accountId, input);
  },
});
