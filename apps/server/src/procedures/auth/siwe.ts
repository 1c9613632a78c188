import { z } from "zod";
import { SiweNonceResponseSchema, SiweVerifyRequestSchema, SiweVerifyResponseSchema } from "@stun/shared";
import { procedure } from "../define";
import { issueSiweNonce, verifySiwe } from "../../services/wallets";
import { siweOptions } from "./options";
import { requireScope } from "../../auth/scopes";

export const siweNonceProcedure = procedure({
  kind: "mutation",
  auth: false,
  summary: "Sign-In with Ethereum, step 1: a single-use nonce (valid 10 minutes) for the EIP-4361 message; each address may take RATE_LIMIT_SIWE_NONCES per 10 minutes (429 RATE_LIMITED)",
  input: z.object({}).optional(),
  output: SiweNonceResponseSchema,
  handler: ({ app, ip }) => issueSiweNonce(app, ip),
});

export const siweVerifyProcedure = procedure({
  kind: "mutation",
  auth: false,
  summary:
    "Sign-In with Ethereum, step 2: verify the signed EIP-4361 message; with an API key, link the wallet to that account, otherwise sign in to the wallet's account (created on first sign-in). Answers with a new API key",
  input: SiweVerifyRequestSchema,
  output: SiweVerifyResponseSchema,
  handler: ({ app, accountId, key }, input) => {
    // Linking changes where the account's on-chain payouts go: only a key with the account's full power.
    if (key) requireScope(key.scopes, ["admin"], "link a wallet to the account");
    return verifySiwe(app, accountId, input, siweOptions(app));
  },
});
