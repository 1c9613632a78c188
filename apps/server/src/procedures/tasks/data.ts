import { IdSchema, TaskOutputsSchema, TaskViewSchema } from "@stun/shared";
import { z } from "zod";
import { procedure } from "../define";
import { deleteTaskData, getTaskOutputs } from "../../services/tasks";

export const taskOutputsProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "A completed task's outputs; 410 TASK_DATA_EXPIRED once retention (TASK_BLOB_RETENTION_HOURS) or the requester deleted them",
  input: z.object({ id: IdSchema }),
  output: TaskOutputsSchema,
  handler: ({ app, accountId }, input) => getTaskOutputs(app, accountId, input.id),
});

export const deleteTaskDataProcedure = procedure({
  kind: "mutation",
  auth: true,
  summary: "Delete a finished task's inputs and outputs now (frees storage quota); the task, its digests and receipt remain",
  input: z.object({ id: IdSchema }),
  output: TaskViewSchema,
  handler: ({ app, accountId }, input) => deleteTaskData(app, accountId, input.id),
});
