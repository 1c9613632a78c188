/**
 * API keys of an account (docs/CONCEPTS.md "API keys: scopes, expiry, revocation"): create, list, revoke, rotate, and the keys made by
 * account creation and wallet sign-in. Only a key's sha256 is stored; its secret is returned once.
 *
 * Rules: a key manages (creates, revokes, rotates) only keys whose scopes it covers (auth/scopes.ts
 * `coversScopes`: admin covers all; otherwise no admin and nothing beyond its own), and a read-only
 * key manages none. A non-admin key with an expiry cannot make a key that outlives it (create:
 * KEY_SCOPE; rotate: the new key's expiry is capped at the caller's). Revocation
 * and rotation are announced with `bus.keysChanged` after commit: every instance drops the key from
 * its auth cache and ends the sockets and subscription streams it opened (`whileKeyHolds`).
 */
import { StunError, type ApiKeyView, type CreateKeyRequest, type CreatedKey, type KeyKind, type KeyScope, type RotateKeyRequest } from "@stun/shared";
import type { AppContext } from "../context";
import type { Tx } from "../db/database";
import { generateApiKey } from "../auth/api-keys";
import type { KeyAuth } from "../auth/key-auth";
import { coversScopes, requireScope } from "../auth/scopes";
import { newId } from "../ids";

/** Live (not revoked, not expired) keys an account may hold, wallet sessions aside. */
export const MAX_LIVE_KEYS = 100;

interface KeyRow {
  id: string;
  prefix: string;
  name: string;
  scopes: string[];
  kind: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export function keyView(row: KeyRow, now = Date.now()): ApiKeyView {
  const status = row.revokedAt ? "revoked" : row.expiresAt && row.expiresAt.getTime() <= now ? "expired" : "active";
  return {
    id: row.id,
    prefix: row.prefix,
    name: row.name,
    scopes: row.scopes as KeyScope[],
    kind: row.kind as KeyKind,
    status,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}

/** Scopes as stored: deduplicated, in KEY_SCOPES order; admin alone when present. */
function normalizeScopes(scopes: readonly KeyScope[]): KeyScope[] {
  if (scopes.includes("admin")) return ["admin"];
  return (["requester", "provider", "read"] as const).filter((s) => scopes.includes(s));
}

export interface NewKey {
  accountId: string;
  name: string;
  scopes: readonly KeyScope[];
  kind: KeyKind;
  createdBy?: string | undefined;
  expiresAt?: Date | null | undefined;
}

/** Inserts a key (inside the caller's transaction); returns its secret and its view. */
export async function insertKey(tx: Tx, k: NewKey): Promise<CreatedKey> {
  const key = generateApiKey();
  const row = await tx.apiKey.create({
    data: {
      id: newId("key"),
      accountId: k.accountId,
      hash: key.hash,
      prefix: key.prefix,
      name: k.name,
      scopes: normalizeScopes(k.scopes),
      kind: k.kind,
      createdBy: k.createdBy ?? null,
      expiresAt: k.expiresAt ?? null,
    },
  });
  return { apiKey: key.key, key: keyView(row) };
}

const liveWhere = (now: Date) => ({ revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] });

export async function listKeys(app: AppContext, accountId: string, limit: number): Promise<ApiKeyView[]> {
  const rows = await app.db.prisma.apiKey.findMany({ where: { accountId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: limit });
  return rows.map((r) => keyView(r));
}

/** A read-only key manages no keys; any other manages those its scopes cover. */
function requireManage(caller: KeyAuth, target: readonly string[], what: string): void {
  requireScope(caller.scopes, ["requester", "provider"], what);
  if (!coversScopes(caller.scopes, target)) {
    throw new StunError("KEY_SCOPE", `this API key (scopes: ${caller.scopes.join(", ")}) may not ${what} with scopes ${target.join(", ")}: a key manages only keys with no scope beyond its own`);
  }
}

/** A non-admin key with an expiry may not make a key outliving it. */
function requireWithinLifetime(caller: KeyAuth, expiresAt: Date | null): void {
  if (caller.scopes.includes("admin") || caller.expiresAt === null) return;
  if (expiresAt === null || expiresAt.getTime() > caller.expiresAt) {
    throw new StunError("KEY_SCOPE", `this API key expires at ${new Date(caller.expiresAt).toISOString()}: the keys it makes must expire no later`);
  }
}

/** Rotation renews a key's lifetime, but never past a non-admin caller's own expiry (else an expiring key could live forever by rotating itself). */
function capToCaller(caller: KeyAuth, expiresAt: Date | null): Date | null {
  if (caller.scopes.includes("admin") || caller.expiresAt === null) return expiresAt;
  return expiresAt === null || expiresAt.getTime() > caller.expiresAt ? new Date(caller.expiresAt) : expiresAt;
}

export async function createKey(app: AppContext, caller: KeyAuth, req: CreateKeyRequest): Promise<CreatedKey> {
  requireManage(caller, req.scopes, "create a key");
  const now = Date.now();
  const expiresAt = req.expiresInSeconds !== undefined ? new Date(now + req.expiresInSeconds * 1000) : null;
  requireWithinLifetime(caller, expiresAt);
  return app.db.prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM "Account" WHERE id = ${caller.accountId} FOR UPDATE`;
    const live = await tx.apiKey.count({ where: { accountId: caller.accountId, kind: { not: "siwe" }, ...liveWhere(new Date(now)) } });
    if (live >= MAX_LIVE_KEYS) throw new StunError("CONFLICT", `an account holds at most ${MAX_LIVE_KEYS} live API keys: revoke some first`);
    return insertKey(tx, { accountId: caller.accountId, name: req.name, scopes: req.scopes, kind: "api", createdBy: caller.keyId, expiresAt });
  });
}

/** The caller's account's key `id`; NOT_FOUND for anyone else's (no probing of other accounts). */
async function ownKey(tx: Tx, caller: KeyAuth, id: string): Promise<KeyRow & { createdAt: Date }> {
  const row = await tx.apiKey.findFirst({ where: { id, accountId: caller.accountId } });
  if (!row) throw new StunError("NOT_FOUND", `no API key ${id} on this account`);
  return row;
}

export async function revokeKey(app: AppContext, caller: KeyAuth, id: string): Promise<ApiKeyView> {
  const view = await app.db.prisma.$transaction(async (tx) => {
    const row = await ownKey(tx, caller, id);
    requireManage(caller, row.scopes, "revoke a key");
    if (row.revokedAt) return keyView(row);
    const revoked = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    return keyView(revoked);
  });
  await app.bus.keysChanged([id]);
  return view;
}

/**
 * A new key with the old one's name, scopes, kind and lifetime (capped: `capToCaller`); the old one is revoked at once, or
 * with `graceSeconds` expires then (both announced: caches drop it, sockets are re-checked).
 */
export async function rotateKey(app: AppContext, caller: KeyAuth, req: RotateKeyRequest): Promise<CreatedKey> {
  const created = await app.db.prisma.$transaction(async (tx) => {
    const old = await ownKey(tx, caller, req.id);
    requireManage(caller, old.scopes, "rotate a key");
    const now = Date.now();
    if (old.revokedAt || (old.expiresAt && old.expiresAt.getTime() <= now)) {
      throw new StunError("CONFLICT", `API key ${old.id} is ${old.revokedAt ? "revoked" : "expired"}: create a new one instead`);
    }
    const expiresAt = capToCaller(caller, old.expiresAt ? new Date(now + (old.expiresAt.getTime() - old.createdAt.getTime())) : null);
    const graceEnd = new Date(now + req.graceSeconds * 1000);
    const retire = req.graceSeconds > 0 ? { expiresAt: old.expiresAt && old.expiresAt < graceEnd ? old.expiresAt : graceEnd } : { revokedAt: new Date(now) };
    // Conditional on the old key still being live: of two concurrent rotations one wins.
    const { count } = await tx.apiKey.updateMany({ where: { id: old.id, ...liveWhere(new Date(now)) }, data: retire });
    if (count !== 1) throw new StunError("CONFLICT", `API key ${old.id} was revoked or rotated meanwhile`);
    return insertKey(tx, { accountId: caller.accountId, name: old.name, scopes: old.scopes as KeyScope[], kind: old.kind as KeyKind, createdBy: caller.keyId, expiresAt });
  });
  await app.bus.keysChanged([req.id]);
  return created;
}

/**
 * A wallet sign-in's session key: admin, expiring after SIWE_SESSION_TTL_SECONDS. The account keeps
 * its SIWE_SESSION_MAX newest live session keys (sign-ins on several devices stay valid); older
 * ones are revoked in the same transaction and announced after it. Keys of other kinds are untouched.
 */
export async function issueSiweSession(app: AppContext, accountId: string): Promise<string> {
  const now = new Date();
  const { created, revoked } = await app.db.prisma.$transaction(async (tx) => {
    // One sign-in at a time per account, so two at once cannot both keep the cap's last slot.
    await tx.$queryRaw`SELECT id FROM "Account" WHERE id = ${accountId} FOR UPDATE`;
    const created = await insertKey(tx, {
      accountId,
      name: "wallet sign-in",
      scopes: ["admin"],
      kind: "siwe",
      expiresAt: new Date(now.getTime() + app.config.SIWE_SESSION_TTL_SECONDS * 1000),
    });
    const live = await tx.apiKey.findMany({
      where: { accountId, kind: "siwe", ...liveWhere(now) },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      select: { id: true },
    });
    const revoked = live
      .filter((k) => k.id !== created.key.id)
      .slice(app.config.SIWE_SESSION_MAX - 1)
      .map((k) => k.id);
    if (revoked.length) await tx.apiKey.updateMany({ where: { id: { in: revoked } }, data: { revokedAt: now } });
    return { created, revoked };
  });
  await app.bus.keysChanged(revoked);
  return created.apiKey;
}

/** setTimeout's longest delay; a later expiry is checked again when this fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A long-lived use of `key` (a socket, a subscription stream): `signal` aborts when the key
 * expires or is revoked — `bus.keysChanged` names it on every instance, and the key is read again
 * (revoked: abort; expiry changed by a rotation: re-armed) — or when `parent` aborts. `release()`
 * once the use ends.
 */
export function whileKeyHolds(app: AppContext, key: KeyAuth, parent?: AbortSignal): { signal: AbortSignal; release(): void } {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (expiresAt: number | null) => {
    clearTimeout(timer);
    if (expiresAt === null) return;
    const delay = expiresAt - Date.now();
    if (delay <= 0) return ctl.abort();
    timer = setTimeout(() => arm(expiresAt), Math.min(delay, MAX_TIMER_MS));
    timer.unref();
  };
  arm(key.expiresAt);
  const off = app.bus.onKeysChanged((keyIds) => {
    if (!keyIds.includes(key.keyId)) return;
    void app.db.prisma.apiKey
      .findUnique({ where: { id: key.keyId }, select: { revokedAt: true, expiresAt: true } })
      .then((row) => (!row || row.revokedAt ? ctl.abort() : arm(row.expiresAt?.getTime() ?? null)))
      .catch(() => undefined);
  });
  const onParent = () => ctl.abort();
  if (parent?.aborted) ctl.abort();
  else parent?.addEventListener("abort", onParent, { once: true });
  const release = () => {
    clearTimeout(timer);
    off();
    parent?.removeEventListener("abort", onParent);
  };
  ctl.signal.addEventListener("abort", release, { once: true });
  return { signal: ctl.signal, release };
}
