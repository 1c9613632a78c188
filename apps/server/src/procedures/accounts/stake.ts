import { AccountViewSchema, AmountRequestSchema } from "@stun/shared";
import { procedure } from "../define";
import { stakeFunds, unstakeFunds } from "../../services/stake";

export const stakeProcedure = procedure({
  kind: "mutation",
  auth: true,
  scopes: ["provider"],
  summary: "Move funds from the caller's balance to its stake (providers need stake for paid work)",
  input: AmountRequestSchema,
  output: AccountViewSchema,
  handler: ({ app, accountId }, input) => stakeFunds(app, accountId, BigInt(input.amount)),
});

export const unstakeProcedure = procedure({
  kind: "mutation",
  auth: true,
  scopes: ["provider"],
  summary: "Move funds from the caller's stake back to its balance (not the part backing live executions)",
  input: AmountRequestSchema,
  output: AccountViewSchema,
  handler: ({ app, accountId }, input) => unstakeFunds(app, accountId, BigInt(input.amount)),
});
