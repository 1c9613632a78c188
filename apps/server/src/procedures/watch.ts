/**
 * A task-updates stream for the generated gateways (GraphQL's `taskUpdates` subscription, gRPC's
 * `WatchTask`): the same relay as the `/requester` socket.io namespace and tRPC's `tasks.watch`
 * (services/task-updates.ts), with another account's task refused before the stream opens.
 */
import { StunError, TaskWatchSchema, type TaskUpdateMessage } from "@stun/shared";
import type { AppContext } from "../context";
import { whileKeyHolds } from "../services/keys";
import { taskOwners, taskUpdates } from "../services/task-updates";
import type { GatewayCaller } from "./catalog";

export interface UpdateStream {
  updates: AsyncGenerator<TaskUpdateMessage>;
  /** Stops the stream (the client went away); its generator then ends. */
  close(): void;
}

/**
 * Opens the caller's updates of one task (its status now first, then each change) or, without
 * `taskId`, of all of its account's tasks. Throws UNAUTHORIZED without a key and TASK_NOT_FOUND for
 * a task that is not the caller's, before anything is heard; the stream ends with KEY_REVOKED
 * when the key is revoked or expires.
 */
export async function openUpdateStream(app: AppContext, caller: GatewayCaller, watchInput: unknown): Promise<UpdateStream> {
  const key = caller.key;
  if (!key) throw caller.authError ?? new StunError("UNAUTHORIZED", "missing or invalid API key");
  const watch = TaskWatchSchema.parse(watchInput);
  if (watch.taskId !== undefined && (await taskOwners(app).ownerOf(watch.taskId)) !== key.accountId) throw new StunError("TASK_NOT_FOUND", `no task ${watch.taskId}`);
  const stop = new AbortController();
  const hold = whileKeyHolds(app, key, stop.signal);
  async function* updates(): AsyncGenerator<TaskUpdateMessage> {
    try {
      yield* taskUpdates(app, key!.accountId, watch, hold.signal);
      if (!stop.signal.aborted) throw new StunError("KEY_REVOKED", "this API key was revoked or has expired");
    } finally {
      hold.release();
    }
  }
  return { updates: updates(), close: () => stop.abort() };
}
