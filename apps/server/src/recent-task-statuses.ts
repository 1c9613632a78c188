import { type TaskStatus, isTerminalStatus } from "@stun/shared";

/** An announced task update (events.ts TaskUpdate), as much of it as is kept. */
type Heard = { taskId: string; status: TaskStatus; requesterId?: string };

/** How long an announced status is trusted to stand for the database's. */
const FRESH_MS = 5_000;

/** A task last announced open (whose it is), or ended; and when. */
type Entry = { ended: false; requesterId: string; at: number } | { ended: true; at: number };

/**
 * The status last announced for each task announced with its requester (a submit) in the last
 * few seconds, as this instance's event bus heard it (its own announcements and, with Redis, the
 * other instances'). A requester's long-poll on such a task that is not terminal waits for the
 * announcement without reading the database first: the read after the submit, on the path of every
 * task, only ever found it queued (services/tasks.ts getTask).
 *
 * Every state change is announced only after it is durable, so a status heard here is never ahead
 * of the database. It may be behind it by an announcement still on its way (from another
 * instance): the waiter then hears it when it lands, as it would have after a first read. An entry
 * is trusted only while fresh, so one whose announcements stopped (a lost relay message) costs at
 * most what a lost announcement costs a waiter that did read first.
 *
 * Announcements are not always heard in the order their changes committed: another instance's
 * `completed` can be heard before this instance's own `queued` of the same task (its submit's
 * process descheduled between its commit and its announcement, while the task ran elsewhere), or a
 * `running` committed before a result heard after the result's `completed`. A task heard ended
 * (terminal: nothing moves it on) is remembered so while fresh, and an open status heard after it
 * is stale — the bus drops it (EventBus), and it never makes a long-poll wait for what already came.
 */
export class RecentTaskStatuses {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly freshMs = FRESH_MS,
  ) {}

  /**
   * Records an announcement: a task with its requester starts an entry, a later one updates it, a
   * terminal one ends it. False for a stale one (an open status of a task heard ended), recorded not.
   */
  heard(u: Heard): boolean {
    const prior = this.entries.get(u.taskId);
    const ended = isTerminalStatus(u.status);
    if (prior?.ended && !ended && this.fresh(prior)) return false;
    const requesterId = u.requesterId ?? (prior && !prior.ended ? prior.requesterId : undefined);
    // Re-inserted, so the map stays in order of last announcement and pruning stops at the first fresh one.
    this.entries.delete(u.taskId);
    if (ended) this.entries.set(u.taskId, { ended, at: this.now() });
    else if (requesterId !== undefined) this.entries.set(u.taskId, { ended, requesterId, at: this.now() });
    this.prune();
    return true;
  }

  /** Whether the task is `requesterId`'s and was last announced open, recently enough to trust it. */
  openFor(taskId: string, requesterId: string): boolean {
    const e = this.entries.get(taskId);
    return e !== undefined && !e.ended && e.requesterId === requesterId && this.fresh(e);
  }

  private fresh(e: Entry): boolean {
    return this.now() - e.at < this.freshMs;
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [id, e] of this.entries) {
      if (now - e.at < this.freshMs) return;
      this.entries.delete(id);
    }
  }
}
