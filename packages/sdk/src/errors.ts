import type { ErrorCode } from "@stun/shared";

/**
 * Codes the client raises itself, when there is no (usable) answer from the server. These errors
 * carry `status: 0`; the server's own codes (`ErrorCode` in @stun/shared) carry its HTTP status.
 */
export type ClientErrorCode =
  /** The request never got an HTTP answer: DNS, refused connection, reset, TLS. */
  | "NETWORK_ERROR"
  /** The client's own timeout (`timeoutMs`) fired before an answer, or a task did not finish in time. */
  | "TIMEOUT"
  /** A 2xx answer whose body is not what the REST contract says. */
  | "BAD_RESPONSE"
  /** A non-2xx answer without a Stun error body (a proxy's 502 page, for example). */
  | "HTTP_ERROR"
  /** The task ended `failed`; `details.taskCode` holds the server's code when it gave one. */
  | "TASK_FAILED"
  /** The task ended `expired` (its deadline passed before it was completed). */
  | "TASK_EXPIRED"
  /** `getOutput(name)` on a completed task that has no output called `name`. */
  | "OUTPUT_NOT_FOUND"
  /** A local file (model, input, config) could not be read or written. */
  | "FILE_ERROR"
  /** The CLI has no API key for the server (no --api-key, STUN_API_KEY or config entry). */
  | "NO_API_KEY"
  /** The CLI's config file is not a JSON object of strings. */
  | "CONFIG_INVALID"
  /** A sealed task (privacy "tee"): no attested TEE provider is online to seal it to. */
  | "NO_ATTESTED_PROVIDER";

export type StunErrorCode = ErrorCode | ClientErrorCode;

/**
 * Every failure the SDK reports: `status` is the HTTP status (0 when there was no HTTP answer),
 * `code` a stable code to match on, `message` for people. Codes the server adds later than this
 * SDK still come through as strings.
 */
export class StunApiError extends Error {
  readonly status: number;
  readonly code: StunErrorCode | (string & {});
  readonly details?: Record<string, unknown>;

  constructor(status: number, code: StunErrorCode | (string & {}), message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StunApiError";
    this.status = status;
    this.code = code;
    if (options?.details !== undefined) this.details = options.details;
  }

  toJSON(): { error: { code: string; message: string; status: number; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        status: this.status,
        ...(this.details ? { details: this.details } : {}),
      },
    };
  }
}

export const isStunApiError = (e: unknown): e is StunApiError => e instanceof StunApiError;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Maps a non-2xx answer to a StunApiError. A Stun error body (`{"error":{"code","message"}}`) gives
 * its code and message; anything else (HTML from a proxy, empty body) gives `HTTP_ERROR` with the
 * status and the start of the body, so the caller still sees what came back.
 */
export function errorFromResponse(status: number, bodyText: string, statusText = ""): StunApiError {
  let parsed: unknown;
  try {
    parsed = bodyText.length > 0 ? JSON.parse(bodyText) : undefined;
  } catch {
    parsed = undefined;
  }
  if (isRecord(parsed) && isRecord(parsed.error) && typeof parsed.error.code === "string" && parsed.error.code.length > 0) {
    const e = parsed.error;
    const message = typeof e.message === "string" && e.message.length > 0 ? e.message : `${status} ${statusText}`.trim();
    return new StunApiError(status, e.code as string, message, isRecord(e.details) ? { details: e.details } : undefined);
  }
  const snippet = bodyText.replace(/\s+/g, " ").trim().slice(0, 200);
  const head = `HTTP ${status}${statusText ? ` ${statusText}` : ""}`;
  return new StunApiError(status, "HTTP_ERROR", snippet ? `${head}: ${snippet}` : head);
}
