import { z } from "zod";
import { ChainStatusSchema } from "@stun/shared";
import { procedure } from "../define";

/** Public: whether the server settles on chain, and if so the chain browsers and clients talk to. */
export const chainStatusProcedure = procedure({
  kind: "query",
  auth: false,
  summary: "Whether on-chain settlement is on, and the chain (network, contracts, tokens, RPC URL) with the last block the deposit scanner processed",
  input: z.object({}).optional(),
  output: ChainStatusSchema,
  handler: async ({ app }) => {
    const chain = app.chain;
    if (!chain) return { enabled: false as const };
    return { enabled: true as const, ...chain.info, depositsScannedTo: (await chain.deposits.scannedTo()).toString() };
  },
});
