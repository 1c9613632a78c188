import { ProviderError, type ProviderErrorCode } from "./errors";

/**
 * A URL the server gave (a model file, a zk circuit) made absolute against the server's address.
 * Absolute URLs must be on the server's origin: the API key goes with the request.
 */
export function serverUrl(server: string, url: string, code: ProviderErrorCode): string {
  const base = server.replace(/\/+$/, "");
  if (/^https?:\/\//i.test(url)) {
    if (new URL(url).origin !== new URL(base).origin) {
      throw new ProviderError(code, `refusing to send the API key to ${new URL(url).origin}: URLs must be on the server's origin`);
    }
    return url;
  }
  return `${base}${url.startsWith("/") ? "" : "/"}${url}`;
}
