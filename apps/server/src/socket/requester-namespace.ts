/**
 * The `/requester` namespace: a requester's sockets hear their tasks' status changes
 * (docs/API.md "Pushed task updates"). A socket subscribes to one task (it joins `task:<id>` once
 * the task is found to be its account's) or to all of its account's tasks (it joins
 * `account:<id>`). Every instance hears every task announcement (the bus, relayed through Redis)
 * and emits it to its own sockets in the task's rooms, so a subscriber on any instance hears a
 * task that changed on any other, once.
 */
import type { Namespace, Server as IOServer, Socket } from "socket.io";
import { REQUESTER_EVENTS, REQUESTER_NAMESPACE, TaskWatchSchema, type TaskWatch, type TaskWatchAck } from "@stun/shared";
import type { AppContext } from "../context";
import { openTaskWatch, taskOwners, toUpdateMessage } from "../services/task-updates";
import { onAcked } from "./acks";
import { keyHandshake, trackKeySocket } from "./key-sockets";

const taskRoom = (taskId: string) => `task:${taskId}`;
const accountRoom = (accountId: string) => `account:${accountId}`;

export interface RequesterNamespace {
  nsp: Namespace;
  close(): void;
}

export function attachRequesterNamespace(app: AppContext, io: IOServer): RequesterNamespace {
  const nsp = io.of(REQUESTER_NAMESPACE);
  const owners = taskOwners(app);
  // Every key may read its own tasks.
  nsp.use(keyHandshake(app, ["read"], "watch tasks"));
  /** This instance's sockets subscribed to all of their account's tasks: only then is a task's requester looked for. */
  let accountWide = 0;

  const offTask = app.bus.onTask((u) => {
    const message = toUpdateMessage(u);
    nsp.local.to(taskRoom(u.taskId)).emit(REQUESTER_EVENTS.update, message);
    if (accountWide === 0) return;
    void owners.ownerOf(u.taskId, u.requesterId).then((owner) => {
      if (owner) nsp.local.to(accountRoom(owner)).emit(REQUESTER_EVENTS.update, message);
    });
  });

  nsp.on("connection", (socket: Socket) => {
    trackKeySocket(app, socket, socket.data.key);
    const accountId = socket.data.accountId as string;
    const leaveAccount = () => {
      if (!socket.data.allTasks) return;
      socket.data.allTasks = false;
      accountWide--;
      void socket.leave(accountRoom(accountId));
    };
    onAcked(app, socket, REQUESTER_EVENTS.subscribe, TaskWatchSchema, async (watch: TaskWatch): Promise<TaskWatchAck> => {
      if (watch.taskId === undefined) {
        if (!socket.data.allTasks) {
          socket.data.allTasks = true;
          accountWide++;
          await socket.join(accountRoom(accountId));
          // It hears them all through the account's room now; a task's own room would say each twice.
          for (const room of socket.rooms) if (room.startsWith("task:")) void socket.leave(room);
        }
        return { ok: true };
      }
      const taskId = watch.taskId;
      const current = await openTaskWatch(app, accountId, taskId, () => (socket.data.allTasks ? undefined : socket.join(taskRoom(taskId))));
      return { ok: true, current };
    });
    onAcked(app, socket, REQUESTER_EVENTS.unsubscribe, TaskWatchSchema, async (watch: TaskWatch) => {
      if (watch.taskId === undefined) leaveAccount();
      else await socket.leave(taskRoom(watch.taskId));
    });
    socket.on("disconnect", leaveAccount);
  });

  return {
    nsp,
    close() {
      offTask();
    },
  };
}
