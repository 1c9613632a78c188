import { z } from "zod";
import { ProviderPublicSchema } from "@stun/shared";
import { procedure } from "../define";
import { listProviders } from "../../services/network";

export const providersProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "Providers online now",
  input: z.object({}).optional(),
  output: z.object({ providers: z.array(ProviderPublicSchema) }),
  handler: async ({ app }) => ({ providers: await listProviders(app) }),
});
