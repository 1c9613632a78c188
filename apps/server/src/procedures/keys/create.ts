import { CreateKeyRequestSchema, CreatedKeySchema } from "@stun/shared";
import { callerKey, procedure } from "../define";
import { createKey } from "../../services/keys";

export const createKeyProcedure = procedure({
  kind: "mutation",
  auth: true,
  // Any key that can write; the scopes it hands out must be within its own (KEY_SCOPE otherwise).
  scopes: ["requester", "provider"],
  summary: "Create a named API key with scopes (admin | requester | provider | read) and an optional expiry; the key is shown only once",
  input: CreateKeyRequestSchema,
  output: CreatedKeySchema,
  handler: (call, input) => createKey(call.app, callerKey(call), input),
});
