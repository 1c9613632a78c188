import type { ProviderErrorCode } from "@stun/shared";
import { ProviderError } from "./errors";

/**
 * A server's address, or how to find the one in use now (an agent connected to one of several
 * instances of a network downloads from the instance that assigned the work).
 */
export type ServerRef = string | (() => string);

export const currentServer = (server: ServerRef): string => (typeof server === "function" ? server() : server);

/**
 * Splits a `--server` value that lists several instances of one network (comma-separated) into
 * their URLs, without trailing slashes and without empty entries.
 */
export function serverList(servers: string): string[] {
  return servers
    .split(",")
    .map((s) => s.trim().replace(/\/+$/, ""))
    .filter(Boolean);
}

/**
 * The one rule for where an agent sends its API key: a URL the server gave (a model file, a zk
 * circuit) is resolved against the server's address and must stay on the server's origin
 * (scheme, host and port); any other origin is refused with `code`, since the request carries the key.
 */
export function serverUrl(server: string, url: string, code: ProviderErrorCode): string {
  let base: URL;
  let full: URL;
  try {
    // A trailing slash makes relative paths resolve below a server mounted under a path.
    base = new URL(server.endsWith("/") ? server : `${server}/`);
    full = new URL(url, base);
  } catch (e) {
    throw new ProviderError(code, `not a URL: ${JSON.stringify(url)} against ${JSON.stringify(server)}`, { cause: e });
  }
  if (full.origin !== base.origin) {
    throw new ProviderError(code, `refusing to send the API key to ${full.origin}: URLs must be on the server's origin`);
  }
  return full.href;
}
