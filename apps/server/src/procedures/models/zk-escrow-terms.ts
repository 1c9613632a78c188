import { ZkEscrowTermsRequestSchema, ZkEscrowTermsSchema } from "@stun/shared";
import { procedure } from "../define";
import { zkEscrowTermsFor } from "../../services/zk-escrow";

export const zkEscrowTermsProcedure = procedure({
  kind: "mutation",
  auth: true,
  scopes: ["requester"],
  tensors: true,
  summary: "The terms of a createZkTask escrow for a zk task on these inputs: a new task id, its bytes32, the model hash and the input hash",
  input: ZkEscrowTermsRequestSchema,
  output: ZkEscrowTermsSchema,
  handler: ({ app }, input) => zkEscrowTermsFor(app, input.id, input.inputs),
});
