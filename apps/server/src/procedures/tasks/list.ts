import { z } from "zod";
import { ListTasksQuerySchema, TaskViewSchema } from "@stun/shared";
import { procedure } from "../define";
import { listTasks } from "../../services/tasks";

export const listTasksProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The caller's tasks, newest first",
  input: ListTasksQuerySchema,
  output: z.object({ tasks: z.array(TaskViewSchema) }),
  handler: async ({ app, accountId }, input) => ({
    tasks: await listTasks(app, accountId, { limit: input.limit, ...(input.status ? { status: input.status } : {}) }),
  }),
});
