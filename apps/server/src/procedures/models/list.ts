import { z } from "zod";
import { ModelViewSchema } from "@stun/shared";
import { procedure } from "../define";
import { listModels } from "../../models/cache";

export const listModelsProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "Models on the marketplace, newest first",
  input: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
  output: z.object({ models: z.array(ModelViewSchema) }),
  handler: async ({ app }, input) => ({ models: await listModels(app, input.limit) }),
});
