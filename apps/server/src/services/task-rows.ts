/**
 * Task reads for the task view (GET /tasks/:id and every long-poll's wake-up), with their
 * executions, in one raw statement — and the reads asked for in the same turn of the event loop in
 * one statement together: a group commit announces a batch's completed tasks at once, and each
 * long-poll waiting on one of them wakes up to read it. One statement per task before.
 */
import { rawSql } from "../db/database";
import type { AppContext } from "../context";
import type { toTaskView } from "./task-view";

export type TaskViewRow = Parameters<typeof toTaskView>[1] & { requesterId: string };

interface Waiter {
  resolve(row: TaskViewRow | undefined): void;
  reject(err: unknown): void;
}

class TaskRowReader {
  private waiting = new Map<string, Waiter[]>();
  /** Statements run, and the task reads they answered. */
  readonly stats = { statements: 0, reads: 0 };

  constructor(private readonly app: AppContext) {}

  read(id: string): Promise<TaskViewRow | undefined> {
    return new Promise((resolve, reject) => {
      const first = this.waiting.size === 0;
      const ws = this.waiting.get(id) ?? [];
      ws.push({ resolve, reject });
      this.waiting.set(id, ws);
      // After the other reads this turn asks for (the rest of a batch's wake-ups).
      if (first) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = new Map();
    this.stats.statements++;
    for (const ws of batch.values()) this.stats.reads += ws.length;
    try {
      const rows = await rawSql(this.app.db).$queryRaw<TaskViewRow[]>`
        SELECT t.id, t."requesterId", t.status, t."modelId", t.verification, t.cost, t.receipt, t."outputSha256",
               t."errorCode", t."errorMessage", t.correction, t."createdAt", t."completedAt", t."dataPurgedAt",
               COALESCE((
                 SELECT json_agg(json_build_object(
                          'providerId', a."providerId", 'backend', a.backend, 'status', a.status,
                          'verdict', a.verdict, 'outputDigest', a."outputDigest", 'timings', a.timings)
                        ORDER BY a."createdAt", a.id)
                 FROM "Assignment" a WHERE a."taskId" = t.id
               ), '[]'::json) AS assignments
        FROM "Task" t WHERE t.id = ANY(${[...batch.keys()]}::text[])`;
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const [id, ws] of batch) for (const w of ws) w.resolve(byId.get(id));
    } catch (err) {
      for (const ws of batch.values()) for (const w of ws) w.reject(err);
    }
  }
}

const readers = new WeakMap<AppContext, TaskRowReader>();

function readerOf(app: AppContext): TaskRowReader {
  let r = readers.get(app);
  if (!r) readers.set(app, (r = new TaskRowReader(app)));
  return r;
}

/** A task's row for its view (undefined: no such task), read with the other reads asked for this turn. */
export const readTaskRow = (app: AppContext, id: string): Promise<TaskViewRow | undefined> => readerOf(app).read(id);

/** This instance's task-row statements and the reads they answered (tests, benches). */
export const taskRowStats = (app: AppContext): Readonly<{ statements: number; reads: number }> => readerOf(app).stats;
