import { z } from "zod";
import { CreateAccountResponseSchema } from "@stun/shared";
import { procedure } from "../define";
import { createAccount } from "../../services/accounts";

export const createAccountProcedure = procedure({
  kind: "mutation",
  auth: false,
  summary: "Create an account and its first API key (the key is shown only once)",
  input: z.object({}).optional(),
  output: CreateAccountResponseSchema,
  handler: ({ app }) => createAccount(app),
});
