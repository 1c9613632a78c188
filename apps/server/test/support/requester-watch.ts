import { io, type Socket } from "socket.io-client";
import { PROTOCOL_VERSION, REQUESTER_EVENTS, REQUESTER_NAMESPACE, TaskWatchAckSchema, isTerminalStatus, type TaskUpdateMessage, type TaskWatchAck } from "@stun/shared";

/** A socket on `/requester` that records every update it hears. */
export interface Watcher {
  socket: Socket;
  heard: TaskUpdateMessage[];
  subscribe(taskId?: string): Promise<TaskWatchAck>;
  /** Resolves with the first update (already heard or to come) of `taskId` with a terminal status. */
  terminal(taskId: string): Promise<TaskUpdateMessage>;
}

export async function connectWatcher(url: string, apiKey: string): Promise<Watcher> {
  const socket = io(`${url}${REQUESTER_NAMESPACE}`, { auth: { apiKey, protocolVersion: PROTOCOL_VERSION }, transports: ["websocket"], reconnection: false });
  const heard: TaskUpdateMessage[] = [];
  const waiters: Array<() => void> = [];
  socket.on(REQUESTER_EVENTS.update, (u: TaskUpdateMessage) => {
    heard.push(u);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  const terminal = async (taskId: string): Promise<TaskUpdateMessage> => {
    for (;;) {
      const found = heard.find((u) => u.taskId === taskId && isTerminalStatus(u.status));
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const subscribe = async (taskId?: string) => TaskWatchAckSchema.parse(await socket.emitWithAck(REQUESTER_EVENTS.subscribe, taskId === undefined ? {} : { taskId }));
  return { socket, heard, subscribe, terminal };
}
