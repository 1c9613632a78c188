import { z } from "zod";
import { ChainConservationSchema } from "@stun/shared";
import { procedure } from "../define";
import { needChain } from "./need-chain";

/**
 * Public: the last comparison of the ledger with the chain, in aggregate (the detail of a
 * disagreement is logged, never answered). At most one check per CHAIN_CONSERVATION_MS however
 * often it is asked (chain/adapter.ts latestConservation).
 */
export const chainConservationProcedure = procedure({
  kind: "query",
  auth: false,
  summary: "Whether the ledger and the chain agree: per term what the ledger expects the marketplace to hold and what it holds, its token holdings, and on-chain stake counted",
  input: z.object({}).optional(),
  output: ChainConservationSchema,
  handler: async ({ app }) => {
    const { at, report, stake } = await needChain(app).latestConservation();
    return {
      checkedAt: at.toISOString(),
      chainId: report.chainId,
      token: report.token,
      terms: report.terms.map((t) => ({ name: t.name, ledger: t.ledger.toString(), chain: t.chain.toString() })),
      holdings: report.holdings.toString(),
      mismatches: report.mismatches.length,
      stake: stake
        ? {
            blockNumber: stake.blockNumber.toString(),
            wallets: stake.wallets,
            onChain: stake.onChain.toString(),
            counted: stake.counted.toString(),
            slashedOnChain: stake.slashedOnChain.toString(),
            slashedCounted: stake.slashedCounted.toString(),
            violations: stake.violations.length,
          }
        : null,
    };
  },
});
