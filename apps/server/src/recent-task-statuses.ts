import { type TaskStatus, isTerminalStatus } from "@stun/shared";

/** An announced task update (events.ts TaskUpdate), as much of it as is kept. */
type Heard = { taskId: string; status: TaskStatus; requesterId?: string };

/** How long an announced status is trusted to stand for the database's. */
const FRESH_MS = 5_000;

/** A task last announced open: whose it is, and when. */
interface Entry {
  requesterId: string;
  at: number;
}

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
 */
export class RecentTaskStatuses {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly freshMs = FRESH_MS,
  ) {}

  /** Records an announcement: a task with its requester starts an entry, a later one updates it. */
  heard(u: Heard): void {
    const prior = this.entries.get(u.taskId);
    const requesterId = u.requesterId ?? prior?.requesterId;
    if (requesterId === undefined) return;
    // Re-inserted, so the map stays in order of last announcement and pruning stops at the first fresh one.
    this.entries.delete(u.taskId);
    if (!isTerminalStatus(u.status)) this.entries.set(u.taskId, { requesterId, at: this.now() });
    this.prune();
  }

  /** Whether the task is `requesterId`'s and was last announced open, recently enough to trust it. */
  openFor(taskId: string, requesterId: string): boolean {
    const e = this.entries.get(taskId);
    return e !== undefined && e.requesterId === requesterId && this.now() - e.at < this.freshMs;
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
