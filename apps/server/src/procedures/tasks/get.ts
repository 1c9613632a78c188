import { IdSchema, GetTaskQuerySchema, TaskViewSchema } from "@stun/shared";
import { procedure } from "../define";
import { getTask } from "../../services/tasks";

export const getTaskProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "A task with its outputs once completed; `wait` (≤ 60 s) long-polls until it is terminal",
  input: GetTaskQuerySchema.extend({ id: IdSchema }),
  output: TaskViewSchema,
  handler: ({ app, accountId, signal }, input) => getTask(app, accountId, input.id, input.wait ?? 0, signal),
});
