import { EventEmitter } from "node:events";
import type { TaskStatus } from "@stun/shared";
import { KeyedListeners } from "./keyed-listeners";
import { RecentTaskStatuses } from "./recent-task-statuses";

/** How long relayed "work available" pokes are gathered into one dispatcher pass (EventBus). */
const REMOTE_WORK_COALESCE_MS = 10;

/**
 * Why a dispatcher pass runs: `new` work queued here, capacity freed `here`, or a poke `relayed`
 * from another instance that left work it could not place (EventBus.workAvailable).
 */
export type WorkSource = "new" | "here" | "relayed";

export interface TaskUpdate {
  taskId: string;
  status: TaskStatus;
  /** The task's requester, where the announcer has it at hand (submit): pushed updates need it (services/task-updates.ts). */
  requesterId?: string;
}

/**
 * Announcements after a state change is durable: task updates (long-poll waiters, live views)
 * and "work available" pokes for dispatchers. In-process by default; with REDIS_URL the same
 * events are relayed between instances (see redis-bus.ts).
 */
export class EventBus {
  private readonly emitter = new EventEmitter();
  private relay?: (channel: string, payload: string) => unknown;
  /** What was announced of the tasks submitted in the last seconds (a long-poll's first read, skipped). */
  readonly recent = new RecentTaskStatuses();

  /**
   * Listeners of one task each (long-poll waiters, one-task subscriptions: onTaskId): an update is
   * handed to its own task's, whatever the number of others — one bus listener for all of them.
   */
  private readonly watchers = new KeyedListeners<TaskUpdate>();

  constructor() {
    this.emitter.setMaxListeners(0);
    this.onTask((u) => this.watchers.emit(u.taskId, u));
  }

  /**
   * Relayed "work available" pokes are coalesced: at most one dispatcher pass per
   * REMOTE_WORK_COALESCE_MS for all of them (under load every task sends two), so instances do not
   * multiply each other's claim passes. The dispatcher's own timer is the backstop.
   */
  private workPending = false;
  private workFromElsewhere(): void {
    if (this.workPending) return;
    this.workPending = true;
    setTimeout(() => {
      this.workPending = false;
      this.emitter.emit("work", "relayed" satisfies WorkSource);
    }, REMOTE_WORK_COALESCE_MS).unref();
  }

  /** Connects a cross-instance relay: outgoing events are published through it (undefined: none). */
  setRelay(relay: ((channel: string, payload: string) => unknown) | undefined): void {
    this.relay = relay;
  }

  /** Whether other instances share this bus (a relay is connected). */
  get relaying(): boolean {
    return this.relay !== undefined;
  }

  /** Delivers an event that arrived from another instance. */
  receive(channel: string, payload: string): void {
    if (channel === "task") this.announce(JSON.parse(payload) as TaskUpdate);
    else if (channel === "work") this.workFromElsewhere();
    else if (channel === "keys") this.emitter.emit("keys", JSON.parse(payload) as string[]);
  }

  taskUpdated(update: TaskUpdate): void {
    if (this.announce(update)) this.relay?.("task", JSON.stringify(update));
  }

  /**
   * Hands an update to the listeners, recorded first (a waiter it wakes finds it recorded) — unless
   * it is stale: an open status of a task already heard ended, which committed before the end but
   * was announced, or relayed, after it (recent-task-statuses.ts). False then.
   */
  private announce(update: TaskUpdate): boolean {
    if (!this.recent.heard(update)) return false;
    this.emitter.emit("task", update);
    return true;
  }

  /**
   * Work may be claimable: this instance's dispatcher runs a pass.
   * - `new` (a submit, a re-queue, replicas wanted): work this instance queued. Its own dispatcher
   *   tries first and relays the poke to the other instances only when its pass leaves queued work
   *   its providers could not take (Dispatcher, `relayWork`): N instances do not each run a claim
   *   pass per task, most finding nothing.
   * - `here` (a slot of a provider connected here came free, a provider registered or re-priced):
   *   only this instance can use it; never relayed.
   */
  workAvailable(where: "new" | "here" = "new"): void {
    this.emitter.emit("work", where satisfies WorkSource);
  }

  /** Tells the other instances' dispatchers there is queued work this instance could not place. */
  relayWork(): void {
    this.relay?.("work", "");
  }

  /**
   * API keys were revoked or had their expiry shortened: every instance drops them from its auth
   * cache and re-checks the provider sockets they opened. Resolves once the relay has handed the
   * message to Redis (so a caller answering "revoked" has told every instance first).
   */
  async keysChanged(keyIds: string[]): Promise<void> {
    if (keyIds.length === 0) return;
    this.emitter.emit("keys", keyIds);
    await this.relay?.("keys", JSON.stringify(keyIds));
  }

  onKeysChanged(listener: (keyIds: string[]) => void): () => void {
    this.emitter.on("keys", listener);
    return () => this.emitter.off("keys", listener);
  }

  onTask(listener: (u: TaskUpdate) => void): () => void {
    this.emitter.on("task", listener);
    return () => this.emitter.off("task", listener);
  }

  /** Hears the updates of one task only (see `watchers`); returns the call that stops it. */
  onTaskId(taskId: string, listener: (u: TaskUpdate) => void): () => void {
    return this.watchers.add(taskId, listener);
  }

  onWork(listener: (source: WorkSource) => void): () => void {
    this.emitter.on("work", listener);
    return () => this.emitter.off("work", listener);
  }

  /**
   * Watches a task until it is announced with a status passing `done` or `ms` pass. Subscribe
   * first, then read the database, so an update between the two is never missed.
   */
  watchTask(taskId: string, ms: number, done: (s: TaskStatus) => boolean): { settled: Promise<void>; cancel(): void } {
    let finish!: () => void;
    const settled = new Promise<void>((resolve) => {
      const off = this.onTaskId(taskId, (u) => {
        if (done(u.status)) finish();
      });
      const timer = setTimeout(() => finish(), ms);
      finish = () => {
        clearTimeout(timer);
        off();
        resolve();
      };
    });
    return { settled, cancel: () => finish() };
  }

  /** Tasks with a long-poll or a one-task subscription waiting on them now (tests). */
  get watchedTasks(): number {
    return this.watchers.size;
  }

  /** The bus's own listeners of every task update (tests: one-task listeners are not among them). */
  get taskListeners(): number {
    return this.emitter.listenerCount("task");
  }

  /** Listeners of one task each, long-polls and one-task subscriptions (tests). */
  get oneTaskListeners(): number {
    return this.watchers.listeners;
  }
}
