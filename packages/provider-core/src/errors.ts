import type { ProviderErrorCode } from "@stun/shared";

/**
 * A failure an agent reports in `task:error`: `code` (from the shared protocol's
 * PROVIDER_ERROR_CODES) is what the server matches on, `message` is for people.
 */
export class ProviderError extends Error {
  readonly code: ProviderErrorCode;
  constructor(code: ProviderErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProviderError";
    this.code = code;
  }
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
