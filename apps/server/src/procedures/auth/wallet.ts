import { z } from "zod";
import { LinkedWalletSchema } from "@stun/shared";
import { procedure } from "../define";
import { walletOf } from "../../services/wallets";

export const linkedWalletProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The EVM wallet linked to the caller's account by Sign-In with Ethereum (lower-case 0x), or null",
  input: z.object({}).optional(),
  output: LinkedWalletSchema,
  handler: async ({ app, accountId }) => ({ walletAddress: (await walletOf(app, accountId)) ?? null }),
});
