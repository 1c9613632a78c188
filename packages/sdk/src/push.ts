/**
 * Waiting for a task on the server's push channel: the socket.io namespace `/requester`
 * (docs/API.md "Pushed task updates"). One socket per client, opened by the first wait and kept
 * for the next ones; it does not keep a Node process alive by itself (`autoUnref`: a wait in
 * progress does). When the socket cannot connect, or drops, the wait says so with PushUnavailable
 * and the client long-polls instead; the next wait tries to connect again.
 */
import { io, type Socket } from "socket.io-client";
import { ERROR_STATUS, PROTOCOL_VERSION, REQUESTER_EVENTS, REQUESTER_NAMESPACE, TaskUpdateSchema, TaskWatchAckSchema, isTerminalStatus } from "@stun/shared";
import { StunApiError } from "./errors";

/** The push channel could not be used (no connection, refused, dropped): fall back to long-polling. */
export class PushUnavailable extends Error {}

/** How a wait learnt its task's end. */
export type WaitPath = "push" | "long-poll";

const MAX_TIMER_MS = 2 ** 31 - 1;

export class TaskPush {
  private socket: Socket | undefined;
  private connected: Promise<Socket> | undefined;
  /** Keeps the process alive while a wait runs (the socket itself is unref'd). */
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private users = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly connectTimeoutMs: number,
  ) {}

  /**
   * Resolves true once the task is terminal, false when `deadline` (ms since the epoch) passes
   * first. Rejects with PushUnavailable when the channel fails, with the server's error (e.g.
   * TASK_NOT_FOUND) when it refuses the task, with the signal's reason when aborted.
   */
  async untilTerminal(taskId: string, deadline: number, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted();
    if (this.users++ === 0) this.keepAlive = setInterval(() => undefined, MAX_TIMER_MS);
    try {
      const socket = await this.connect();
      return await new Promise<boolean>((resolve, reject) => {
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          socket.off(REQUESTER_EVENTS.update, onUpdate);
          socket.off("disconnect", onDrop);
          signal?.removeEventListener("abort", onAbort);
          settle();
        };
        const onUpdate = (raw: unknown) => {
          const u = TaskUpdateSchema.safeParse(raw);
          if (u.success && u.data.taskId === taskId && isTerminalStatus(u.data.status)) finish(() => resolve(true));
        };
        const onDrop = () => finish(() => reject(new PushUnavailable("the push channel disconnected")));
        const onAbort = () => finish(() => reject(signal?.reason));
        // setTimeout's longest delay is ~24.8 days; a later (or Infinite) deadline waits without a timer.
        const left = Math.max(0, deadline - Date.now());
        const timer = left <= MAX_TIMER_MS ? setTimeout(() => finish(() => resolve(false)), left) : undefined;
        socket.on(REQUESTER_EVENTS.update, onUpdate);
        socket.on("disconnect", onDrop);
        signal?.addEventListener("abort", onAbort, { once: true });
        // Listening before subscribing: the ack's `current` covers what came before, the listener what comes after.
        socket
          .timeout(this.connectTimeoutMs)
          .emitWithAck(REQUESTER_EVENTS.subscribe, { taskId })
          .then((raw: unknown) => {
            const ack = TaskWatchAckSchema.safeParse(raw);
            if (!ack.success) return finish(() => reject(new PushUnavailable("unexpected subscribe answer")));
            if (!ack.data.ok) {
              const { code, message } = ack.data.error;
              return finish(() => reject(new StunApiError((ERROR_STATUS as Record<string, number>)[code] ?? 0, code, message)));
            }
            if (ack.data.current && isTerminalStatus(ack.data.current.status)) finish(() => resolve(true));
          })
          .catch(() => finish(() => reject(new PushUnavailable("no answer to the subscription"))));
      });
    } finally {
      if (--this.users === 0) clearInterval(this.keepAlive);
    }
  }

  private connect(): Promise<Socket> {
    this.connected ??= new Promise<Socket>((resolve, reject) => {
      const socket = io(`${this.baseUrl}${REQUESTER_NAMESPACE}`, {
        auth: { apiKey: this.apiKey, protocolVersion: PROTOCOL_VERSION },
        transports: ["websocket"],
        reconnection: false,
        timeout: this.connectTimeoutMs,
        autoUnref: true,
      });
      this.socket = socket;
      socket.once("connect", () => resolve(socket));
      socket.once("disconnect", () => {
        if (this.socket === socket) this.close();
      });
      socket.once("connect_error", (e: Error) => {
        this.close();
        reject(new PushUnavailable(`push channel refused: ${e.message}`));
      });
    });
    return this.connected;
  }

  /** Closes the socket (a later wait opens another). */
  close(): void {
    this.socket?.close();
    this.socket = undefined;
    this.connected = undefined;
  }
}
