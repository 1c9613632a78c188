import { QuoteRequestSchema, QuoteSchema } from "@stun/shared";
import { procedure } from "../define";
import { getQuote } from "../../services/quote";
import { maxExecutions, resolveVerification } from "../../services/tasks";

export const quoteProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "What a task on a model is expected to cost (per execution, in total for the verification mode, the zk proving fee) and to wait, from the live price index",
  input: QuoteRequestSchema,
  output: QuoteSchema,
  handler: ({ app }, input) => getQuote(app, input, maxExecutions(resolveVerification({ mode: input.mode, ...(input.replicas !== undefined ? { replicas: input.replicas } : {}) }))),
});
