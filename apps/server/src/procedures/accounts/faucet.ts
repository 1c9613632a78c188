import { AccountViewSchema, AmountRequestSchema } from "@stun/shared";
import { procedure } from "../define";
import { faucet } from "../../services/accounts";

export const faucetProcedure = procedure({
  kind: "mutation",
  auth: true,
  scopes: ["requester", "provider"],
  summary: "Local mode only: credit the caller with test funds",
  input: AmountRequestSchema,
  output: AccountViewSchema,
  handler: ({ app, accountId }, input) => faucet(app, accountId, BigInt(input.amount)),
});
