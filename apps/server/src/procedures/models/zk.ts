import { z } from "zod";
import { IdSchema, ZkModelStatusSchema } from "@stun/shared";
import { procedure } from "../define";
import { getModelRow } from "../../models/cache";

export const zkModelProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "Whether the model can take zk tasks: its circuit's state, size, proving fee and model hash",
  input: z.object({ id: IdSchema }),
  output: ZkModelStatusSchema,
  handler: async ({ app }, input) => app.zk.status(await getModelRow(app, input.id)),
});
