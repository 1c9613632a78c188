import { z } from "zod";
import { DepositInfoResponseSchema, ExternalDepositsResponseSchema, TonBalanceQuerySchema, TonBalanceSchema, TonDepositMessageRequestSchema, TonDepositMessageSchema } from "@stun/shared";
import { procedure } from "../define";
import { depositInfo, listExternalDeposits, tonBalance, tonDepositMessage } from "../../services/external-deposits";

export const depositInfoProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "How the caller deposits on Solana (token account + memo) and TON (marketplace + forward payload) to its account; a family is null when its rail is off here",
  input: z.object({}).optional(),
  output: DepositInfoResponseSchema,
  handler: ({ app, accountId }) => depositInfo(app, accountId),
});

export const externalDepositsProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The caller's deposits on every chain family (EVM, Solana, TON): credited ones, unmatched ones naming it, and ones a deep reorg took away (reversed, shortfall), newest first",
  input: z.object({}).optional(),
  output: ExternalDepositsResponseSchema,
  handler: async ({ app, accountId }) => ({ deposits: await listExternalDeposits(app, accountId) }),
});

/** Writes nothing (a POST for its body): a requester key may build its deposit. */
export const tonDepositMessageProcedure = procedure({
  kind: "mutation",
  auth: true,
  scopes: ["requester"],
  summary: "The TonConnect message (to the owner's jetton wallet, TEP-74 transfer tagged with the caller's account) that deposits `amount` from `owner`",
  input: TonDepositMessageRequestSchema,
  output: TonDepositMessageSchema,
  handler: ({ app, accountId }, input) => tonDepositMessage(app, accountId, input),
});

export const tonBalanceProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "A TON wallet's balance of the jetton this server accepts (through its TON API), for the wallet page",
  input: TonBalanceQuerySchema,
  output: TonBalanceSchema,
  handler: ({ app }, input) => tonBalance(app, input.owner),
});
