import { z } from "zod";
import { AccountViewSchema } from "@stun/shared";
import { procedure } from "../define";
import { accountView } from "../../services/accounts";

export const meProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The caller's balance, escrow and stake, in base units",
  input: z.object({}).optional(),
  output: AccountViewSchema,
  handler: ({ app, accountId }) => accountView(app, accountId),
});
