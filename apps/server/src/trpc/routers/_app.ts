import { procedures } from "../../procedures";
import type { Procedure } from "../../procedures/define";
import { StunError } from "@stun/shared";
import { t, toTrpcError } from "../trpc";

/** Turns one API procedure into a tRPC procedure: same schema, same handler. */
function wire<P extends Procedure>(p: P) {
  const base = t.procedure.input(p.input).output(p.output);
  const run = async ({ ctx, input }: { ctx: { app: any; accountId: string | undefined }; input: unknown }) => {
    try {
      if (p.auth && !ctx.accountId) throw new StunError("UNAUTHORIZED", "missing or invalid API key");
      return await p.handler({ app: ctx.app, accountId: ctx.accountId as string }, input as never);
    } catch (e) {
      throw toTrpcError(e);
    }
  };
  return (p.kind === "query" ? base.query(run) : base.mutation(run)) as P["kind"] extends "query"
    ? ReturnType<typeof base.query<(opts: never) => Promise<import("zod").infer<P["output"]>>>>
    : ReturnType<typeof base.mutation<(opts: never) => Promise<import("zod").infer<P["output"]>>>>;
}

const wireAll = <R extends Record<string, Procedure>>(group: R) =>
  t.router(Object.fromEntries(Object.entries(group).map(([k, p]) => [k, wire(p)])) as { [K in keyof R]: ReturnType<typeof wire<R[K]>> });

export const appRouter = t.router({
  accounts: wireAll(procedures.accounts),
  models: wireAll(procedures.models),
  tasks: wireAll(procedures.tasks),
  network: wireAll(procedures.network),
});

export type AppRouter = typeof appRouter;
