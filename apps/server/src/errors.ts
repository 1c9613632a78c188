import { z } from "zod";
import { StunError, type ErrorBody, type ErrorCode } from "@stun/shared";

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_EMPTY_JSON_BODY: "INVALID_JSON",
  FST_ERR_CTP_INVALID_JSON_BODY: "INVALID_JSON",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "VALIDATION_FAILED",
};

export const zodMessage = (e: z.ZodError): string =>
  e.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ");

/**
 * Maps anything thrown while serving a request to a stable error: StunError as is, zod and
 * framework errors to their codes, everything else to INTERNAL (500) without internals.
 */
export function toStunError(e: unknown): StunError {
  if (e instanceof StunError) return e;
  if (e instanceof z.ZodError) return new StunError("VALIDATION_FAILED", zodMessage(e));
  const err = e as { code?: string; statusCode?: number; message?: string };
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped) return new StunError(mapped, err.message ?? mapped);
  if (e instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message ?? ""))) {
    return new StunError("INVALID_JSON", "the request body is not valid JSON");
  }
  if (err.statusCode === 413) return new StunError("PAYLOAD_TOO_LARGE", "the request body is too large");
  if (err.statusCode === 415) return new StunError("UNSUPPORTED_MEDIA_TYPE", err.message ?? "unsupported media type");
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new StunError("VALIDATION_FAILED", err.message ?? "bad request");
  // Prisma could not start a transaction in time: every database connection of this instance is
  // busy. Nothing was written, so the client may safely try again (503).
  if (err.code === "P2028") return new StunError("UNAVAILABLE", "the server is busy (no database connection free in time); nothing was done: try again");
  // The same through node-postgres (db/direct-sql.ts): no connection free in time, or a statement
  // PostgreSQL cancelled at its timeout (its transaction rolled back).
  if (err.message === "timeout exceeded when trying to connect" || err.code === "57014") {
    return new StunError("UNAVAILABLE", "the database did not answer in time; nothing was done: try again");
  }
  return new StunError("INTERNAL", "internal error");
}

export const errorBody = (e: StunError): ErrorBody => e.toJSON();
