import { SubmitTaskResponseSchema, SubmitTaskSchema } from "@stun/shared";
import { procedure } from "../define";
import { submitTask } from "../../services/tasks";

export const submitTaskProcedure = procedure({
  kind: "mutation",
  auth: true,
  scopes: ["requester"],
  tensors: true,
  summary: "Submit an inference task: escrow is held and the task queued",
  input: SubmitTaskSchema,
  output: SubmitTaskResponseSchema,
  handler: ({ app, accountId }, input) => submitTask(app, accountId, input),
});
