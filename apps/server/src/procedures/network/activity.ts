import { NetworkActivityQuerySchema, NetworkActivitySchema } from "@stun/shared";
import { procedure } from "../define";
import { networkActivity } from "../../services/network";

export const activityProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "Recent activity (default: the last 60 minutes): tasks per minute, latency percentiles, QA checks and verdicts, failures",
  input: NetworkActivityQuerySchema,
  output: NetworkActivitySchema,
  handler: ({ app }, input) => networkActivity(app, input.minutes),
});
