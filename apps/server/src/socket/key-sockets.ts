/**
 * Provider sockets and the API keys that opened them: a socket joins the room `key:<keyId>`; when
 * its key expires, or `bus.keysChanged` names it (revoked, or its expiry shortened by a rotation —
 * heard on every instance through the Redis relay), the key is read again and the socket is
 * disconnected when the key no longer holds.
 */
import type { Namespace, Socket } from "socket.io";
import { HandshakeAuthSchema, StunError, type KeyScope } from "@stun/shared";
import type { AppContext } from "../context";
import { authenticateKey, type KeyAuth } from "../auth/key-auth";
import { requireScope } from "../auth/scopes";
import { clientIp } from "../limits/client-ip";
import { addressId, retryAfterOf } from "../limits/rate-limits";

const room = (keyId: string) => `key:${keyId}`;
/** setTimeout's longest delay; a later expiry is checked again when this fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function scheduleExpiry(socket: Socket, expiresAt: number | null): void {
  clearTimeout(socket.data.keyTimer as NodeJS.Timeout | undefined);
  if (expiresAt === null) return;
  const delay = expiresAt - Date.now();
  if (delay <= 0) {
    socket.disconnect(true);
    return;
  }
  socket.data.keyTimer = setTimeout(() => scheduleExpiry(socket, expiresAt), Math.min(delay, MAX_TIMER_MS));
  (socket.data.keyTimer as NodeJS.Timeout).unref();
}

/** Ties a connected socket to its key: disconnected when the key expires or is revoked. */
export function trackKeySocket(socket: Socket, key: KeyAuth): void {
  socket.data.keyId = key.keyId;
  void socket.join(room(key.keyId));
  scheduleExpiry(socket, key.expiresAt);
  socket.on("disconnect", () => clearTimeout(socket.data.keyTimer as NodeJS.Timeout | undefined));
}

/** Re-checks this instance's sockets of every changed key; returns the unsubscribe. */
export function watchKeyChanges(app: AppContext, nsp: Namespace): () => void {
  return app.bus.onKeysChanged((keyIds) => {
    void (async () => {
      for (const keyId of keyIds) {
        const ids = nsp.adapter.rooms.get(room(keyId));
        if (!ids?.size) continue;
        const row = await app.db.prisma.apiKey.findUnique({ where: { id: keyId }, select: { revokedAt: true, expiresAt: true } }).catch(() => undefined);
        for (const id of [...ids]) {
          const socket = nsp.sockets.get(id);
          if (!socket) continue;
          if (!row || row.revokedAt) {
            app.log.info({ keyId, socket: id }, "provider socket of a revoked API key disconnected");
            socket.disconnect(true);
          } else scheduleExpiry(socket, row.expiresAt?.getTime() ?? null);
        }
      }
    })();
  });
}

type Middleware = Parameters<Namespace["use"]>[0];

/**
 * A namespace's handshake: the connection attempt counts against the address's limit before the
 * key is checked (so keys cannot be guessed at socket speed), then the API key of
 * `{ apiKey, protocolVersion }` must hold and allow one of `needs`. Sets `socket.data.accountId`
 * and `socket.data.key`. A refusal reaches the client as connect_error "<CODE>: message" (clients
 * match the code at the start) with the code in `data`.
 */
export function keyHandshake(app: AppContext, needs: readonly KeyScope[], what: string): Middleware {
  return async (socket, next) => {
    try {
      await app.limits.hit("providerConnect", addressId(clientIp(socket.request, app.config.trustProxy)));
    } catch (e) {
      const err = e instanceof StunError ? e : new StunError("INTERNAL", "internal error");
      return next(Object.assign(new Error(`${err.code}: ${err.message}`), { data: { code: err.code, retryAfterSeconds: retryAfterOf(err) } }));
    }
    const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success) return next(new Error("UNAUTHORIZED: handshake needs { apiKey, protocolVersion: 1 }"));
    try {
      const key = await authenticateKey(app, auth.data.apiKey);
      requireScope(key.scopes, needs, what);
      socket.data.accountId = key.accountId;
      socket.data.key = key;
      next();
    } catch (e) {
      const err = e instanceof StunError ? e : new StunError("UNAUTHORIZED", "invalid API key");
      next(Object.assign(new Error(`${err.code}: ${err.message}`), { data: { code: err.code, message: err.message } }));
    }
  };
}
