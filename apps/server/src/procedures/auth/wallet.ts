import { z } from "zod";
import { LinkedWalletSchema, LinkedWalletsResponseSchema } from "@stun/shared";
import { procedure } from "../define";
import { walletOf } from "../../services/wallets";
import { walletsOf } from "../../services/linked-wallets";

export const linkedWalletProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The EVM wallet linked to the caller's account by Sign-In with Ethereum (lower-case 0x), or null",
  input: z.object({}).optional(),
  output: LinkedWalletSchema,
  handler: async ({ app, accountId }) => ({ walletAddress: (await walletOf(app, accountId)) ?? null }),
});

export const linkedWalletsProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "Every wallet linked to the caller's account (evm by SIWE, solana by SIWS, ton by ton_proof; one of each at most): family, network, normalized address, linkedAt",
  input: z.object({}).optional(),
  output: LinkedWalletsResponseSchema,
  handler: async ({ app, accountId }) => ({ wallets: await walletsOf(app, accountId) }),
});
