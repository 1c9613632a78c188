import { TRPCError, initTRPC } from "@trpc/server";
import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import { StunError } from "@stun/shared";
import type { CallContext } from "../context";
import { toStunError } from "../errors";

const TRPC_CODES: Record<number, TRPCError["code"]> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  402: "PAYMENT_REQUIRED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  // tRPC has no "gone": TASK_DATA_EXPIRED travels as NOT_FOUND with its stunCode.
  410: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "TOO_MANY_REQUESTS",
};

/** A StunError as a TRPCError; the stable code travels in `data.stunCode`. */
export function toTrpcError(e: unknown): TRPCError {
  const err = toStunError(e);
  return new TRPCError({ code: TRPC_CODES[err.status] ?? "INTERNAL_SERVER_ERROR", message: err.message, cause: err });
}

/**
 * A /trpc request refused before tRPC ran (a 429 from the rate limits) in the shape tRPC itself
 * answers a StunError with, so tRPC clients read it (`data.stunCode`) like any procedure's error.
 */
export function trpcErrorBody(err: StunError) {
  const code = TRPC_CODES[err.status] ?? "INTERNAL_SERVER_ERROR";
  return { error: { code: TRPC_ERROR_CODES_BY_KEY[code], message: err.message, data: { code, httpStatus: err.status, stunCode: err.code } } };
}

export const t = initTRPC.context<CallContext>().create({
  // Subscriptions (tasks.watch) over SSE: a ping every 15 s keeps an idle stream open through proxies.
  sse: { ping: { enabled: true, intervalMs: 15_000 } },
  errorFormatter({ shape, error }) {
    const cause = error.cause instanceof StunError ? error.cause : undefined;
    return { ...shape, data: { ...shape.data, stack: undefined, stunCode: cause?.code ?? (error.code === "BAD_REQUEST" ? "VALIDATION_FAILED" : error.code) } };
  },
});
