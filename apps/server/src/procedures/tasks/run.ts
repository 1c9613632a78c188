import { RunTaskSchema, TaskViewSchema } from "@stun/shared";
import { procedure } from "../define";
import { runTask } from "../../services/tasks";

export const runTaskProcedure = procedure({
  kind: "mutation",
  auth: true,
  scopes: ["requester"],
  tensors: true,
  summary: "Submit an inference task and wait for its end: `wait` (≤ 60 s, default 30) holds the answer until the task is terminal; the task view, still open if the time ran out",
  input: RunTaskSchema,
  output: TaskViewSchema,
  handler: ({ app, accountId, signal }, input) => runTask(app, accountId, input, signal),
});
