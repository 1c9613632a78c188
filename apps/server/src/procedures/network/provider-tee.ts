import { z } from "zod";
import { IdSchema, ProviderTeeSchema } from "@stun/shared";
import { procedure } from "../define";
import { providerTee } from "../../services/network";

export const providerTeeProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "A provider's TEE evidence: verify it yourself (packages/tee verifyEvidence) before sealing a task to its key",
  input: z.object({ id: IdSchema }),
  output: ProviderTeeSchema,
  handler: async ({ app }, { id }) => providerTee(app, id),
});
