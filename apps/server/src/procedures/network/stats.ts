import { z } from "zod";
import { StatsSchema } from "@stun/shared";
import { procedure } from "../define";
import { networkStats } from "../../services/network";

export const statsProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "Network totals: providers online, tasks by status, settled volume",
  input: z.object({}).optional(),
  output: StatsSchema,
  handler: ({ app }) => networkStats(app),
});
