import { CreatedKeySchema, RotateKeyRequestSchema } from "@stun/shared";
import { callerKey, procedure } from "../define";
import { rotateKey } from "../../services/keys";

export const rotateKeyProcedure = procedure({
  kind: "mutation",
  auth: true,
  scopes: ["requester", "provider"],
  summary: "Rotate an API key: a new key with its name, scopes and lifetime (shown only once); the old one is revoked, or expires after graceSeconds",
  input: RotateKeyRequestSchema,
  output: CreatedKeySchema,
  handler: (call, input) => rotateKey(call.app, callerKey(call), input),
});
