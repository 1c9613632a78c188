import { StunError, type KeyScope } from "@stun/shared";

/** Who is calling: the key's account, the key itself and what it may do. */
export interface KeyAuth {
  accountId: string;
  keyId: string;
  scopes: string[];
  /** ms since the epoch; null: never expires. */
  expiresAt: number | null;
}

/**
 * What a key's scopes allow (docs/CONCEPTS.md "API keys: scopes, expiry, revocation"). `admin` allows everything; every key may read;
 * a call that needs one of several scopes passes with any of them.
 */
export function hasScope(scopes: readonly string[], need: KeyScope): boolean {
  return need === "read" || scopes.includes("admin") || scopes.includes(need);
}

export function hasAnyScope(scopes: readonly string[], needs: readonly KeyScope[]): boolean {
  return needs.some((n) => hasScope(scopes, n));
}

/** Throws KEY_SCOPE (403) unless the scopes allow one of `needs`. */
export function requireScope(scopes: readonly string[], needs: readonly KeyScope[], what: string): void {
  if (hasAnyScope(scopes, needs)) return;
  throw new StunError("KEY_SCOPE", `this API key (scopes: ${scopes.join(", ") || "none"}) may not ${what}: it needs ${needs.map((n) => `"${n}"`).join(" or ")}`);
}

/** True when a key with `mine` may hand out (or manage) a key with `theirs`: no scope beyond its own. */
export function coversScopes(mine: readonly string[], theirs: readonly string[]): boolean {
  if (mine.includes("admin")) return true;
  return theirs.every((s) => s !== "admin" && hasScope(mine, s as KeyScope));
}

/** The scopes a procedure needs by default: queries any key; mutations admin unless declared. */
export function defaultScopes(kind: "query" | "mutation"): readonly KeyScope[] {
  return kind === "query" ? ["read"] : ["admin"];
}
