/**
 * Sockets and the API keys that opened them: the namespaces' shared handshake, and a socket is
 * disconnected when its key expires or is revoked (services/keys.ts `whileKeyHolds`: revocations
 * and rotations are heard on every instance through the Redis relay).
 */
import type { Namespace, Socket } from "socket.io";
import { HandshakeAuthSchema, StunError, type KeyScope } from "@stun/shared";
import type { AppContext } from "../context";
import { authenticateKey, type KeyAuth } from "../auth/key-auth";
import { requireScope } from "../auth/scopes";
import { clientIp } from "../limits/client-ip";
import { addressId, retryAfterOf } from "../limits/rate-limits";
import { whileKeyHolds } from "../services/keys";

/** Ties a connected socket to its key: disconnected when the key expires or is revoked. */
export function trackKeySocket(app: AppContext, socket: Socket, key: KeyAuth): void {
  socket.data.keyId = key.keyId;
  const hold = whileKeyHolds(app, key);
  hold.signal.addEventListener("abort", () => {
    if (!socket.connected) return;
    app.log.info({ keyId: key.keyId, socket: socket.id, nsp: socket.nsp.name }, "socket of an expired or revoked API key disconnected");
    socket.disconnect(true);
  });
  socket.on("disconnect", () => hold.release());
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
