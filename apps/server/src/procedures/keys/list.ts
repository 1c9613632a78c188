import { ListKeysQuerySchema, ListKeysResponseSchema } from "@stun/shared";
import { procedure } from "../define";
import { listKeys } from "../../services/keys";

export const listKeysProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The account's API keys, newest first, revoked and expired ones included (never their secrets)",
  input: ListKeysQuerySchema,
  output: ListKeysResponseSchema,
  handler: async ({ app, accountId }, input) => ({ keys: await listKeys(app, accountId, input.limit) }),
});
