import { pino, type Logger } from "pino";

export type { Logger };

/** Structured JSON logs (one object per line) for the whole server. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: "stun-server", ...bindings } });
}
