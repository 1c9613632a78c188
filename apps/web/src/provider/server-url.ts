import { ProviderError, type ProviderErrorCode } from "./errors";

/**
 * A URL the server gave (a model file, a zk circuit) resolved against the server's origin; any
 * other origin is refused, since the request carries the API key.
 */
export function serverUrl(server: string, url: string, code: ProviderErrorCode): string {
  const base = new URL(server);
  const full = new URL(url, base);
  if (full.origin !== base.origin) {
    throw new ProviderError(code, `refusing to send the API key to ${full.origin}: URLs must be on the server's origin`);
  }
  return full.href;
}
