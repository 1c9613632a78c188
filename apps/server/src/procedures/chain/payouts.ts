import { z } from "zod";
import { ExternalPayoutRequestSchema, ExternalPayoutViewSchema, ExternalPayoutsResponseSchema } from "@stun/shared";
import { procedure } from "../define";
import { listPayouts, requestPayout } from "../../services/external-payouts";

/** Pays part of the caller's balance to its linked Solana or TON wallet. Money leaves the ledger: admin keys only. */
export const payoutProcedure = procedure({
  kind: "mutation",
  auth: true,
  scopes: ["admin"],
  summary: "Pays that much (base units) of the caller's balance to its linked Solana or TON wallet",
  input: ExternalPayoutRequestSchema,
  output: ExternalPayoutViewSchema,
  handler: ({ app, accountId }, input) => requestPayout(app, accountId, input),
});

export const listPayoutsProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The caller's payouts to Solana and TON wallets and its EVM withdrawals of deposit (family evm), newest first",
  input: z.object({}).optional(),
  output: ExternalPayoutsResponseSchema,
  handler: async ({ app, accountId }) => ({ payouts: await listPayouts(app, accountId) }),
});
