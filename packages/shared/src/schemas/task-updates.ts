import { z } from "zod";
import { TaskStatusSchema } from "./api";
import { IdSchema } from "./common";
import { AckErrorSchema } from "./protocol";

/**
 * Task updates pushed to their requester: the socket.io namespace `/requester` (handshake
 * `HandshakeAuthSchema`, like `/provider`) and the tRPC subscription `tasks.watch` carry the same
 * messages (docs/API.md "Pushed task updates").
 */
export const REQUESTER_NAMESPACE = "/requester";

export const REQUESTER_EVENTS = {
  /** client → server, with an ack (`TaskWatchAckSchema`): start hearing one task, or all of the account's. */
  subscribe: "tasks:subscribe",
  /** client → server, with an ack (`AckSchema`): stop hearing what `subscribe` asked for. */
  unsubscribe: "tasks:unsubscribe",
  /** server → client: a task of the caller's account changed status (`TaskUpdateSchema`). */
  update: "task:update",
} as const;

/** One announcement: the task reached `status`. Only ever sent to the task's requester. */
export const TaskUpdateSchema = z.object({ taskId: IdSchema, status: TaskStatusSchema });
export type TaskUpdateMessage = z.infer<typeof TaskUpdateSchema>;

/** What to hear: one task by id, or (no `taskId`) every task of the caller's account. */
export const TaskWatchSchema = z.strictObject({ taskId: IdSchema.optional() });
export type TaskWatch = z.infer<typeof TaskWatchSchema>;

/**
 * The answer to a subscribe. For one task it carries the task's status at the moment the
 * subscription began, so an update that came before it is not missed; TASK_NOT_FOUND for a task of
 * another account (as REST answers).
 */
export const TaskWatchAckSchema = z.union([z.object({ ok: z.literal(true), current: TaskUpdateSchema.optional() }), AckErrorSchema]);
export type TaskWatchAck = z.infer<typeof TaskWatchAckSchema>;
