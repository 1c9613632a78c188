import { KeyIdRequestSchema, KeyViewResponseSchema } from "@stun/shared";
import { callerKey, procedure } from "../define";
import { revokeKey } from "../../services/keys";

export const revokeKeyProcedure = procedure({
  kind: "mutation",
  auth: true,
  scopes: ["requester", "provider"],
  summary: "Revoke an API key: refused at once on every instance (KEY_REVOKED), its provider sockets disconnected",
  input: KeyIdRequestSchema,
  output: KeyViewResponseSchema,
  handler: async (call, input) => ({ key: await revokeKey(call.app, callerKey(call), input.id) }),
});
