/**
 * Task updates pushed to their requester (the `/requester` socket.io namespace and the tRPC
 * subscription `tasks.watch`). Both hear the bus's task announcements — on every instance, since
 * the Redis relay hands each instance every announcement — and pass each one only to the task's
 * requester, so neither surface needs the Redis adapter to reach a subscriber on another instance.
 *
 * Who requested a task is learnt without a query per update: submit announces `queued` with the
 * requester (relayed with it), a subscription to one task records it, and only a task first heard
 * of otherwise (an instance started after its submit, or one long forgotten) costs one lookup, once.
 */
import { StunError, type TaskStatus, type TaskUpdateMessage, type TaskWatch } from "@stun/shared";
import type { AppContext } from "../context";
import type { TaskUpdate } from "../events";
import { KeyedListeners } from "../keyed-listeners";

/** Tasks whose requester an instance remembers (oldest forgotten first). */
const MAX_REMEMBERED = 100_000;

/** taskId → requester (a promise, so the updates of one task are handed on in the order they came). */
export class TaskOwners {
  private readonly owners = new Map<string, Promise<string | undefined>>();

  constructor(private readonly app: AppContext) {}

  remember(taskId: string, requesterId: string): void {
    this.set(taskId, Promise.resolve(requesterId));
  }

  /** The task's requester; undefined when there is no such task. */
  ownerOf(taskId: string, known?: string): Promise<string | undefined> {
    const cached = this.owners.get(taskId);
    if (cached) return cached;
    const owner =
      known !== undefined
        ? Promise.resolve(known)
        : this.app.db.prisma.task
            .findUnique({ where: { id: taskId }, select: { requesterId: true } })
            .then((row) => {
              if (!row) this.owners.delete(taskId);
              return row?.requesterId;
            })
            .catch((err: unknown) => {
              this.owners.delete(taskId);
              this.app.log.warn({ err, taskId }, "task owner lookup failed");
              return undefined;
            });
    this.set(taskId, owner);
    return owner;
  }

  private set(taskId: string, owner: Promise<string | undefined>): void {
    this.owners.delete(taskId);
    this.owners.set(taskId, owner);
    if (this.owners.size > MAX_REMEMBERED) this.owners.delete(this.owners.keys().next().value as string);
  }
}

const ownersByApp = new WeakMap<AppContext, TaskOwners>();

/** The instance's TaskOwners; it learns requesters from the announcements that carry them. */
export function taskOwners(app: AppContext): TaskOwners {
  let owners = ownersByApp.get(app);
  if (!owners) {
    const created = new TaskOwners(app);
    app.bus.onTask((u) => {
      if (u.requesterId !== undefined) created.remember(u.taskId, u.requesterId);
    });
    ownersByApp.set(app, created);
    owners = created;
  }
  return owners;
}

export const toUpdateMessage = (u: TaskUpdate): TaskUpdateMessage => ({ taskId: u.taskId, status: u.status });

/**
 * Subscriptions to every task of an account, by account: one bus listener for all of them, which
 * learns an update's requester once (not once per subscription) and hands it to that account's.
 */
const accountListenersByApp = new WeakMap<AppContext, KeyedListeners<TaskUpdate>>();

function accountListeners(app: AppContext): KeyedListeners<TaskUpdate> {
  let byAccount = accountListenersByApp.get(app);
  if (!byAccount) {
    const created = new KeyedListeners<TaskUpdate>();
    const owners = taskOwners(app);
    app.bus.onTask((u) => {
      if (created.size === 0) return;
      void owners.ownerOf(u.taskId, u.requesterId).then((owner) => {
        if (owner !== undefined) created.emit(owner, u);
      });
    });
    accountListenersByApp.set(app, (byAccount = created));
  }
  return byAccount;
}

/**
 * Starts a subscription to one task of `accountId`: TASK_NOT_FOUND unless it is theirs (checked
 * before anything is heard, so another account's task never leaks). Returns its status now, read
 * after `listen` was set up so that no update between the two is lost.
 */
export async function openTaskWatch(app: AppContext, accountId: string, taskId: string, listen: () => void | Promise<void>): Promise<TaskUpdateMessage> {
  const owners = taskOwners(app);
  if ((await owners.ownerOf(taskId)) !== accountId) throw new StunError("TASK_NOT_FOUND", `no task ${taskId}`);
  await listen();
  const row = await app.db.prisma.task.findUnique({ where: { id: taskId }, select: { status: true } });
  if (!row) throw new StunError("TASK_NOT_FOUND", `no task ${taskId}`);
  return { taskId, status: row.status as TaskStatus };
}

/**
 * The updates of `watch` (one task, or every task of the account) as an async iterable, until
 * `signal` aborts: the subscribed task's status now first, then each announcement. For the tRPC
 * subscription; the socket namespace uses rooms instead (socket/requester-namespace.ts).
 */
export async function* taskUpdates(app: AppContext, accountId: string, watch: TaskWatch, signal: AbortSignal | undefined): AsyncGenerator<TaskUpdateMessage> {
  const queue: TaskUpdateMessage[] = [];
  let wake: (() => void) | undefined;
  const push = (m: TaskUpdateMessage) => {
    queue.push(m);
    wake?.();
  };
  let off: (() => void) | undefined;
  // Keyed listeners: an update costs the subscriptions of its own task, or its own account, only.
  const hear = (u: TaskUpdate) => push(toUpdateMessage(u));
  const listen = () => {
    off = watch.taskId !== undefined ? app.bus.onTaskId(watch.taskId, hear) : accountListeners(app).add(accountId, hear);
  };
  const aborted = new Promise<void>((resolve) => {
    if (signal?.aborted) resolve();
    signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  try {
    if (watch.taskId !== undefined) queue.push(await openTaskWatch(app, accountId, watch.taskId, listen));
    else listen();
    while (!signal?.aborted) {
      while (queue.length) yield queue.shift() as TaskUpdateMessage;
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
      wake = undefined;
    }
  } finally {
    off?.();
  }
}
