import { TRPCClientError } from "@trpc/client";
import { StunError } from "@stun/shared";

/** Every error the UI shows: a stable code (the server's, or a client-side one) and a message. */
export interface UiError {
  code: string;
  message: string;
  status?: number;
}

/** An error response of the REST API (`{"error":{"code","message"}}`). */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "RestError";
  }
}

/** An error found in the page itself (e.g. TEE evidence this page's verifier refused), with its stable code. */
export class ClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ClientError";
  }
}

/** A zod error message (a JSON array of issues) as one readable line. */
function readableIssues(message: string): string {
  try {
    const issues = JSON.parse(message) as Array<{ path?: Array<string | number>; message?: string }>;
    if (Array.isArray(issues) && issues.length) {
      return issues.map((i) => (i.path?.length ? `${i.path.join(".")}: ${i.message}` : String(i.message))).join("; ");
    }
  } catch {
    // not JSON: as is
  }
  return message;
}

export function toUiError(e: unknown): UiError {
  if (e instanceof RestError) return { code: e.code, message: e.message, status: e.status };
  if (e instanceof ClientError) return { code: e.code, message: e.message };
  if (e instanceof StunError) return { code: e.code, message: e.message };
  if (e instanceof TRPCClientError) {
    const data = (e as TRPCClientError<never>).data as { stunCode?: string; code?: string; httpStatus?: number } | undefined;
    if (!data) return { code: "NETWORK_ERROR", message: "Could not reach the Stun server. Is it running?" };
    return { code: data.stunCode ?? data.code ?? "ERROR", message: readableIssues(e.message), ...(data.httpStatus ? { status: data.httpStatus } : {}) };
  }
  if (e instanceof TypeError) return { code: "NETWORK_ERROR", message: "Could not reach the Stun server. Is it running?" };
  if (e instanceof Error) return { code: "ERROR", message: e.message };
  return { code: "ERROR", message: String(e) };
}

export const isUnauthorized = (e: unknown): boolean => toUiError(e).code === "UNAUTHORIZED";
