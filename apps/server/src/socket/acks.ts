import type { Socket } from "socket.io";
import type { z } from "zod";
import { StunError } from "@stun/shared";
import type { AppContext } from "../context";
import { zodMessage } from "../errors";

type AckError = { ok: false; error: { code: string; message: string } };

/** A handler's failure as the ack's error: a StunError's code and message, anything else INTERNAL. */
export function errorAck(e: unknown): AckError {
  if (e instanceof StunError) return { ok: false, error: { code: e.code, message: e.message } };
  return { ok: false, error: { code: "INTERNAL", message: "internal error" } };
}

/**
 * Handles a client event that expects an ack: validates the payload with its zod schema and always
 * answers — a bad message gets an error ack (VALIDATION_FAILED, or the handler's StunError code),
 * never a crash or a hang.
 */
export function onAcked<S extends z.ZodType, A extends object>(app: AppContext, socket: Socket, event: string, schema: S, handler: (payload: z.infer<S>) => Promise<A | void>): void {
  socket.on(event, async (payload: unknown, ack?: (answer: A | AckError | { ok: true }) => void) => {
    const reply = typeof ack === "function" ? ack : () => undefined;
    try {
      const parsed = schema.safeParse(payload);
      if (!parsed.success) {
        reply({ ok: false, error: { code: "VALIDATION_FAILED", message: zodMessage(parsed.error) } });
        return;
      }
      reply((await handler(parsed.data)) ?? { ok: true });
    } catch (e) {
      if (!(e instanceof StunError)) app.log.error({ err: e, event, nsp: socket.nsp.name }, "socket message failed");
      reply(errorAck(e));
    }
  });
}
