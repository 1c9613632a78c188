import { procedures } from "../../procedures";
import { authorizeCall, type Procedure } from "../../procedures/define";
import type { KeyAuth } from "../../auth/key-auth";
import type { TRPCMutationProcedure, TRPCQueryProcedure } from "@trpc/server";
import type { z } from "zod";
import { StunError, TaskWatchSchema, type TaskUpdateMessage } from "@stun/shared";
import { whileKeyHolds } from "../../services/keys";
import { taskUpdates } from "../../services/task-updates";
import { t, toTrpcError } from "../trpc";

/**
 * The tRPC type of a wired procedure: query or mutation by its `kind`, with the input the client
 * sends (the schema's input side) and the output it receives — so `AppRouter` types the web
 * app's client exactly.
 */
type WiredDef<P extends Procedure> = { input: z.input<P["input"]>; output: z.output<P["output"]>; meta: object };
type Wired<P extends Procedure> = P["kind"] extends "query" ? TRPCQueryProcedure<WiredDef<P>> : TRPCMutationProcedure<WiredDef<P>>;

/** Turns one API procedure into a tRPC procedure: same schema, same handler. */
function wire<P extends Procedure>(p: P): Wired<P> {
  const base = t.procedure.input(p.input).output(p.output);
  const run = async ({
    ctx,
    input,
    signal,
  }: {
    ctx: { app: any; accountId: string | undefined; key?: KeyAuth | undefined; authError?: unknown; ip: string };
    input: unknown;
    signal?: AbortSignal | undefined;
  }) => {
    try {
      if (p.auth) {
        if (!ctx.key) throw ctx.authError ?? new StunError("UNAUTHORIZED", "missing or invalid API key");
        authorizeCall(p, ctx.key);
      }
      return await p.handler({ app: ctx.app, accountId: ctx.accountId as string, key: ctx.key, ip: ctx.ip, ...(signal ? { signal } : {}) }, input as never);
    } catch (e) {
      throw toTrpcError(e);
    }
  };
  return (p.kind === "query" ? base.query(run) : base.mutation(run)) as unknown as Wired<P>;
}

const wireAll = <R extends Record<string, Procedure>>(group: R) => t.router(Object.fromEntries(Object.entries(group).map(([k, p]) => [k, wire(p)])) as { [K in keyof R]: Wired<R[K]> });

/**
 * `tasks.watch`: the caller's task updates over SSE (httpSubscriptionLink) — one task (its status
 * now first, then each change) or, without `taskId`, all of its account's tasks; TASK_NOT_FOUND for
 * another account's task. The same messages as the `/requester` socket.io namespace.
 */
const watch = t.procedure.input(TaskWatchSchema).subscription(async function* ({ ctx, input, signal }): AsyncGenerator<TaskUpdateMessage> {
  try {
    if (!ctx.key) throw ctx.authError ?? new StunError("UNAUTHORIZED", "missing or invalid API key");
    // The stream ends when its key expires or is revoked, as a socket of that key is closed.
    const hold = whileKeyHolds(ctx.app, ctx.key, signal);
    try {
      yield* taskUpdates(ctx.app, ctx.key.accountId, input, hold.signal);
    } finally {
      hold.release();
    }
    if (!signal?.aborted) throw new StunError("KEY_REVOKED", "this API key was revoked or has expired");
  } catch (e) {
    throw toTrpcError(e);
  }
});

export const appRouter = t.router({
  accounts: wireAll(procedures.accounts),
  models: wireAll(procedures.models),
  tasks: t.mergeRouters(wireAll(procedures.tasks), t.router({ watch })),
  network: wireAll(procedures.network),
  auth: wireAll(procedures.auth),
  chain: wireAll(procedures.chain),
  keys: wireAll(procedures.keys),
});

export type AppRouter = typeof appRouter;
