import { z } from "zod";
import { AmountRequestSchema, ChainWithdrawalsResponseSchema, WithdrawalViewSchema } from "@stun/shared";
import { procedure } from "../define";
import { needChain } from "./need-chain";

/** Withdraws part of the caller's on-chain deposit to its linked wallet. Money leaves the ledger: admin keys only. */
export const withdrawProcedure = procedure({
  kind: "mutation",
  auth: true,
  scopes: ["admin"],
  summary: "Withdraws that much (base units) of the caller's on-chain deposit to its linked wallet",
  input: AmountRequestSchema,
  output: WithdrawalViewSchema,
  handler: ({ app, accountId }, input) => needChain(app).withdrawals.request(accountId, BigInt(input.amount)),
});

export const listWithdrawalsProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The caller's withdrawals of on-chain deposit, newest first",
  input: z.object({}).optional(),
  output: ChainWithdrawalsResponseSchema,
  handler: async ({ app, accountId }) => ({ withdrawals: await needChain(app).withdrawals.list(accountId) }),
});
