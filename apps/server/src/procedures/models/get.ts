import { z } from "zod";
import { IdSchema, ModelViewSchema } from "@stun/shared";
import { procedure } from "../define";
import { getModel } from "../../models/cache";

export const getModelProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "One model: its sha256 and input/output signature",
  input: z.object({ id: IdSchema }),
  output: ModelViewSchema,
  handler: ({ app }, input) => getModel(app, input.id),
});
