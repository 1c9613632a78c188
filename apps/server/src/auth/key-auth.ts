/**
 * Authenticating API keys: `Authorization: Bearer <key>` → the key's account, id and scopes.
 *
 * Lookups are cached per instance for AUTH_CACHE_MS (the key's sha256 → its row's fields), so a
 * busy client costs no query per request. A key that is revoked, or whose expiry is shortened
 * (rotation with grace), is dropped from the cache at once: `app.bus.keysChanged(ids)` reaches
 * this instance's listener directly and, with REDIS_URL, every other instance through the event
 * relay (redis.ts). An expiry passing needs no message: the cached entry carries it.
 */
import { StunError } from "@stun/shared";
import type { AppContext } from "../context";
import { hashApiKey } from "./api-keys";
import type { KeyAuth } from "./scopes";

export type { KeyAuth } from "./scopes";

export const AUTH_CACHE_MS = 30_000;
/** lastUsedAt is written when it is older than this (so at most once per key per window and instance). */
export const LAST_USED_GRANULARITY_MS = 5 * 60_000;
const MAX_CACHED = 10_000;

interface Cached extends KeyAuth {
  until: number;
}

interface KeyCache {
  entries: Map<string, Cached>;
  /**
   * Bumped by every change: a lookup that read the database before a change landed does not
   * cache what it read (else a revocation racing a lookup could leave a stale entry for 30 s).
   */
  epoch: number;
}

const caches = new WeakMap<AppContext, KeyCache>();

function cacheOf(app: AppContext): KeyCache {
  let cache = caches.get(app);
  if (!cache) {
    const c: KeyCache = { entries: new Map(), epoch: 0 };
    caches.set(app, (cache = c));
    app.bus.onKeysChanged((ids) => {
      c.epoch++;
      const gone = new Set(ids);
      for (const [hash, entry] of c.entries) if (gone.has(entry.keyId)) c.entries.delete(hash);
    });
  }
  return cache;
}

const expired = () => new StunError("KEY_EXPIRED", "this API key has expired: create a new one (keys.create) or sign in again");

/** Resolves an API key, or throws UNAUTHORIZED / KEY_REVOKED / KEY_EXPIRED (401). */
export async function authenticateKey(app: AppContext, apiKey: string | undefined): Promise<KeyAuth> {
  if (!apiKey) throw new StunError("UNAUTHORIZED", "missing API key: send Authorization: Bearer <apiKey>");
  const hash = hashApiKey(apiKey);
  const cache = cacheOf(app);
  const now = Date.now();
  const hit = cache.entries.get(hash);
  if (hit && hit.until > now) {
    if (hit.expiresAt !== null && hit.expiresAt <= now) throw expired();
    return { accountId: hit.accountId, keyId: hit.keyId, scopes: hit.scopes, expiresAt: hit.expiresAt };
  }
  const epoch = cache.epoch;
  const row = await app.db.prisma.apiKey.findUnique({
    where: { hash },
    select: { id: true, accountId: true, scopes: true, expiresAt: true, revokedAt: true, lastUsedAt: true },
  });
  if (!row) throw new StunError("UNAUTHORIZED", "invalid API key");
  if (row.revokedAt) throw new StunError("KEY_REVOKED", "this API key has been revoked");
  if (row.expiresAt && row.expiresAt.getTime() <= now) throw expired();
  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    await app.db.prisma.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } }).catch(() => undefined);
  }
  const auth: KeyAuth = { accountId: row.accountId, keyId: row.id, scopes: row.scopes, expiresAt: row.expiresAt?.getTime() ?? null };
  if (cache.epoch !== epoch) return auth;
  if (cache.entries.size >= MAX_CACHED) cache.entries.clear();
  cache.entries.set(hash, { ...auth, until: now + AUTH_CACHE_MS });
  return auth;
}
