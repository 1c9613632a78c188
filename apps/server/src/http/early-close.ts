import type { Socket } from "node:net";
import type { FastifyReply, FastifyRequest } from "fastify";

/** How long a refused request's connection may keep sending before it is cut. */
const LINGER_MS = 1_000;

/**
 * An answer sent before the request's body was read (401 before an upload, 413, 400 too deep):
 * `Connection: close`, so Node does not drain the rest of the body to keep the connection alive.
 * Node then half-closes the socket once the answer is out; the socket is cut after LINGER_MS
 * instead of at once (a "lingering close", as nginx does), so the client can read the answer —
 * a socket destroyed with unread bytes sends a TCP reset, which can discard an answer already
 * delivered but not yet read.
 */
export function closeUnreadRequest(req: FastifyRequest, reply: FastifyReply): void {
  if (req.raw.complete || reply.sent) return;
  void reply.header("connection", "close");
  const socket = req.raw.socket as Socket & { destroySoon?: () => void };
  if (!socket || socket.destroyed) return;
  socket.destroySoon = function lingeringClose(this: Socket) {
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once("close", () => clearTimeout(timer));
  };
}
