import { z } from "zod";
import { AccountViewSchema } from "@stun/shared";
import { procedure } from "../define";
import { accountWithStorage } from "../../services/accounts";

export const meProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The caller's balance, escrow and stake, in base units, and its storage usage and quota in bytes",
  input: z.object({}).optional(),
  output: AccountViewSchema,
  handler: ({ app, accountId }) => accountWithStorage(app, accountId),
});
