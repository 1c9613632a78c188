import { PROVIDER_EVENTS, type Cancel } from "@stun/shared";
import type { AppContext } from "../context";
import { Prisma } from "../db/generated/client";
import { LIVE_STATUS_IN, LIVE_STATUSES, OPEN_TASK_STATUSES } from "./statuses";
import { retryOnConflict } from "../db/retry-conflicts";
import { rawSql, type SqlClient } from "../db/database";
import { jsonRows } from "../db/json-rows";
import { endTaskUnpaid, type Cancellation } from "./end-unpaid";
import { parseVerification, type StoredVerification } from "./verification";

export type LossReason = "disconnect" | "lease" | "error" | "released" | "rejected" | "restart";

/** Reasons that say nothing against the task itself: they do not use up one of its attempts. */
const FREE_RETRY: ReadonlySet<LossReason> = new Set(["released", "rejected", "restart"]);

/** An `auto` task's verification before its first dispatch decided a plan (the requester's options stay). */
function undecided(v: StoredVerification): StoredVerification {
  const { single: _single, plan: _plan, backend: _backend, ...asked } = v;
  return asked;
}

/**
 * A heartbeat: the provider's live executions' leases run until `until`. SKIP LOCKED: a row a
 * result batch holds is being completed (its lease no longer matters), or briefly marked running
 * (the next beat extends it). Waiting for it instead deadlocked with group-commit batches on
 * PostgreSQL, and each deadlock held a batch for deadlock_timeout (1 s).
 */
export async function renewLeases(db: SqlClient, providerId: string, until: Date): Promise<number> {
  return db.$executeRaw`
    UPDATE "Assignment" SET "leaseUntil" = ${until}
    WHERE id IN (
      SELECT id FROM "Assignment" WHERE "providerId" = ${providerId} AND status ${LIVE_STATUS_IN}
      FOR UPDATE SKIP LOCKED)`;
}

/**
 * The provider's live executions (only those among `ids` when given): what goes back to the queue
 * when it leaves. Reads through the live-execution index, not the provider's history (statuses.ts).
 */
export async function liveAssignmentIds(db: SqlClient, providerId: string, ids?: readonly string[]): Promise<string[]> {
  const rows = await db.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM "Assignment" WHERE "providerId" = ${providerId} AND status ${LIVE_STATUS_IN}
    ${ids ? Prisma.sql`AND id = ANY(${[...ids]}::text[])` : Prisma.empty}`;
  return rows.map((r) => r.id);
}

/** Tells providers (on this instance) to drop assignments, and frees their slots. */
export function sendCancellations(app: AppContext, cancellations: Cancellation[], reason: string): void {
  for (const c of cancellations) {
    const p = app.providers.get(c.providerId);
    if (!p) continue;
    app.providers.free(c.providerId, c.assignmentId);
    const msg: Cancel = { assignmentId: c.assignmentId, reason };
    p.socket.emit(PROVIDER_EVENTS.cancel, msg);
  }
}

/**
 * How long an acknowledged execution stays `assigned` before it is written `running`. A result or
 * error arriving sooner makes that write needless (`resultArrived`): on a fast model it was one
 * more transaction per task, and it took the task's row lock just as the result's batch wanted it.
 */
export const RUNNING_MARK_DELAY_MS = 25;

/** Acks waiting for the next flush, per server (markRunning). */
const pendingMarks = new WeakMap<AppContext, { ids: Set<string>; done: Promise<void> }>();

/**
 * The provider acknowledged the assignment and started: assigned → running, written
 * RUNNING_MARK_DELAY_MS later for every execution acknowledged meanwhile whose result has not
 * arrived, in one statement; resolves once that statement committed.
 */
export function markRunning(app: AppContext, assignmentId: string): Promise<void> {
  let batch = pendingMarks.get(app);
  if (!batch) {
    const ids = new Set<string>();
    const done = new Promise<void>((resolve) => setTimeout(resolve, RUNNING_MARK_DELAY_MS)).then(() => {
      pendingMarks.delete(app);
      return ids.size > 0 ? markAllRunning(app, [...ids]) : undefined;
    });
    batch = { ids, done };
    pendingMarks.set(app, batch);
  }
  batch.ids.add(assignmentId);
  return batch.done;
}

/** Its provider's result or error for the execution arrived here: it is not marked running (the result's own write moves it on). */
export function resultArrived(app: AppContext, assignmentId: string): void {
  pendingMarks.get(app)?.ids.delete(assignmentId);
  resultsWriting.get(app)?.deferred.delete(assignmentId);
}

/**
 * Tasks with a result on its way to the database here, by how many (`writingResult`), and the
 * acknowledged executions whose mark waits for those results: assignment id → task id.
 */
const resultsWriting = new WeakMap<AppContext, { tasks: Map<string, number>; deferred: Map<string, string> }>();

/**
 * A result of the task is on its way to the database (handle-result.ts, from its arrival until its
 * unit settled): until the returned function is called, the running mark leaves the task's row
 * alone, and its other executions acknowledged meanwhile are marked after it. The mark of a
 * redundant task's second replica otherwise took the row just as the first replica's result wanted
 * it: the batch waited for the mark, and the result's one-statement lead (qa/short-result.ts),
 * finding the row changed, went the general way (docs/BENCHMARKS.md, twenty-first round).
 */
export function writingResult(app: AppContext, taskId: string): () => void {
  let writing = resultsWriting.get(app);
  if (!writing) resultsWriting.set(app, (writing = { tasks: new Map(), deferred: new Map() }));
  const { tasks } = writing;
  tasks.set(taskId, (tasks.get(taskId) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = tasks.get(taskId)! - 1;
    if (n > 0) tasks.set(taskId, n);
    else {
      tasks.delete(taskId);
      markDeferred(app, taskId);
    }
  };
}

/** The executions of `taskId` whose mark waited for its results, marked in the next window (their own result not arrived). */
function markDeferred(app: AppContext, taskId: string): void {
  const deferred = resultsWriting.get(app)?.deferred;
  for (const [assignmentId, of] of deferred ?? []) {
    if (of !== taskId) continue;
    deferred!.delete(assignmentId);
    markRunning(app, assignmentId).catch((err) => app.log.warn({ err, assignmentId }, "running mark failed"));
  }
}

async function markAllRunning(app: AppContext, assignmentIds: string[]): Promise<void> {
  // The acks were given: a conflict is run again, never taken for a missing ack (which would lose
  // running executions).
  const { skipped, deferred } = await retryOnConflict(() => markRunningOnce(app, assignmentIds));
  // Their task rows were locked (a result batch completing them, most often): the next window
  // tries again those whose result has still not arrived by then.
  for (const id of skipped) markRunning(app, id).catch((err) => app.log.warn({ err, assignmentId: id }, "running mark failed"));
  // Their task had a result on its way: marked once it is written (at once if it already is).
  const writing = resultsWriting.get(app);
  for (const { id, taskId } of deferred) {
    writing?.deferred.set(id, taskId);
    if (!writing?.tasks.has(taskId)) markDeferred(app, taskId);
  }
}

/**
 * One statement: the acknowledged executions `assigned → running`, their tasks too. It never waits
 * for a task row (SKIP LOCKED): a result batch holds its tasks' rows in its units' order, which a
 * wait here in id order could deadlock with, and PostgreSQL finds a deadlock only after
 * `deadlock_timeout` (1 s) — the whole batch held that long. Returns the executions whose task row
 * was locked (`skipped`), and those it left alone because a result of their task is on its way here
 * (`deferred`, `writingResult`).
 */
async function markRunningOnce(app: AppContext, assignmentIds: string[]): Promise<{ skipped: string[]; deferred: Array<{ id: string; taskId: string }> }> {
  const writing = [...(resultsWriting.get(app)?.tasks.keys() ?? [])];
  const [r] = await rawSql(app.db).$queryRaw<Array<{ running: string[] | null; skipped: string[] | null; deferred: Array<{ id: string; taskId: string }> | string | null }>>`
    WITH asked AS (
      SELECT id, "taskId", "taskId" = ANY(${writing}::text[]) AS writing FROM "Assignment" WHERE id = ANY(${assignmentIds}::text[])
    ), locked AS (
      SELECT t.id FROM "Task" t WHERE t.id IN (SELECT "taskId" FROM asked WHERE NOT writing) ORDER BY t.id FOR UPDATE SKIP LOCKED
    ), a AS (
      UPDATE "Assignment" SET status = 'running'
      WHERE id IN (SELECT id FROM asked) AND status = 'assigned' AND "taskId" IN (SELECT id FROM locked)
      RETURNING "taskId"
    ), t AS (
      UPDATE "Task" SET status = 'running', "updatedAt" = ${new Date()}
      WHERE id IN (SELECT "taskId" FROM a) AND status = 'assigned'
      RETURNING id
    )
    SELECT (SELECT array_agg(id) FROM t) AS running,
           (SELECT array_agg(id) FROM asked WHERE NOT writing AND "taskId" NOT IN (SELECT id FROM locked)) AS skipped,
           (SELECT json_agg(json_build_object('id', id, 'taskId', "taskId")) FROM asked WHERE writing) AS deferred`;
  for (const taskId of r?.running ?? []) app.bus.taskUpdated({ taskId, status: "running" });
  return { skipped: r?.skipped ?? [], deferred: jsonRows(r?.deferred) };
}

/**
 * An execution was lost before it produced a result (provider gone, lease lapsed, provider error,
 * handed back). The task gets the execution back to dispatch again — or, when it has used up its
 * attempts, fails and is refunded. Conditional on the assignment still being live, so a late
 * duplicate of the same loss is a no-op. Returns whether this call lost a live assignment.
 */
export async function loseAssignment(app: AppContext, assignmentId: string, reason: LossReason, errorCode?: string): Promise<boolean> {
  const { config, db } = app;
  let lostIt = false;
  let announce: { taskId: string; status: "queued" | "failed" } | undefined;
  let cancellations: Cancellation[] = [];
  let providerId: string | undefined;
  await db.prisma.$transaction(async (tx) => {
    const a = await tx.assignment.findUnique({ where: { id: assignmentId } });
    if (!a || !(LIVE_STATUSES as readonly string[]).includes(a.status)) return;
    providerId = a.providerId;
    await tx.$queryRaw`SELECT id FROM "Task" WHERE id = ${a.taskId} FOR UPDATE`;
    const lost = await tx.assignment.updateMany({
      where: { id: assignmentId, status: { in: [...LIVE_STATUSES] } },
      data: { status: reason === "error" ? "failed" : reason === "released" ? "released" : "lost", errorCode: errorCode ?? reason },
    });
    if (lost.count === 0) return;
    lostIt = true;
    const task = await tx.task.findUnique({ where: { id: a.taskId } });
    if (!task || !(OPEN_TASK_STATUSES as readonly string[]).includes(task.status)) return;
    const attempts = task.attempts + (FREE_RETRY.has(reason) ? 0 : 1);
    if (attempts >= config.MAX_ATTEMPTS) {
      cancellations = await endTaskUnpaid(tx, task, "failed", "EXECUTION_FAILED", `executions failed ${attempts} times (last: ${errorCode ?? reason})`);
      announce = { taskId: task.id, status: "failed" };
      return;
    }
    const live = await tx.assignment.count({ where: { taskId: task.id, status: { in: [...LIVE_STATUSES, "completed"] } } });
    // An `auto` task that was to run alone on one provider is decided afresh with the next one:
    // the trust that made it single belonged to the provider that lost it.
    const v = parseVerification(task.verification);
    const redecide = live === 0 && v.mode === "auto" && v.single !== undefined;
    await tx.task.update({
      where: { id: task.id },
      data: {
        attempts,
        dispatched: { decrement: 1 },
        ...(live === 0 ? { status: "queued" } : {}),
        ...(redecide ? { verification: undecided(v) as object, wanted: v.replicas } : {}),
      },
    });
    if (live === 0) announce = { taskId: task.id, status: "queued" };
  });
  if (providerId) app.providers.free(providerId, assignmentId);
  app.metrics.assignmentsLost.inc({ reason });
  if (cancellations.length) sendCancellations(app, cancellations, "task failed");
  if (announce) {
    app.bus.taskUpdated(announce);
    if (announce.status === "failed") app.metrics.tasksFinished.inc({ status: "failed" });
  }
  app.bus.workAvailable();
  return lostIt;
}

/** Leases that lapsed without a heartbeat: their executions are lost. */
export async function lapseLeases(app: AppContext): Promise<number> {
  const lapsed = await app.db.prisma.assignment.findMany({
    where: { status: { in: [...LIVE_STATUSES] }, leaseUntil: { lt: new Date() } },
    select: { id: true },
    take: 500,
  });
  for (const a of lapsed) await loseAssignment(app, a.id, "lease");
  return lapsed.length;
}

/**
 * A checked task that ran but still lacked executions: it was waiting for checkers of other
 * operators (e.g. `replicas` above the distinct operators online), not for any provider.
 */
const waitedForChecker = (t: { wanted: number; dispatched: number; verification: unknown }): boolean => {
  const mode = parseVerification(t.verification).mode;
  return (mode === "auto" || mode === "redundant") && t.dispatched > 0 && t.dispatched < t.wanted;
};

/** Why a task expired: the stable code and sentence its requester sees. */
function expiryReason(t: { wanted: number; dispatched: number; verification: unknown }): [string, string] {
  const tee = parseVerification(t.verification).tee;
  if (tee && t.dispatched === 0)
    return ["TEE_PROVIDER_UNAVAILABLE", `the attested provider ${tee.providerId} it was sealed to was not online with that key before the deadline (seal to another attested provider)`];
  if (waitedForChecker(t)) return ["CHECKER_UNAVAILABLE", "no provider of another operator was free to check the result before the deadline"];
  return ["DEADLINE_EXCEEDED", "the task's deadline passed before a verified result"];
}

/** Tasks past their deadline: expired and refunded. */
export async function expireTasks(app: AppContext): Promise<number> {
  const due = await app.db.prisma.task.findMany({
    where: { status: { in: [...OPEN_TASK_STATUSES] }, deadline: { lt: new Date() } },
    select: { id: true, wanted: true, dispatched: true, verification: true },
    take: 500,
  });
  let expired = 0;
  for (const t of due) {
    const [code, message] = expiryReason(t);
    if (await endOpenTask(app, t.id, "expired", code, message)) expired++;
  }
  return expired;
}

/**
 * Ends a task that is still open without a result (refund, live executions cancelled), then
 * announces it; false when it had already ended.
 */
export async function endOpenTask(app: AppContext, id: string, status: "failed" | "expired", code: string, message: string): Promise<boolean> {
  let cancellations: Cancellation[] | undefined;
  await app.db.prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM "Task" WHERE id = ${id} FOR UPDATE`;
    const task = await tx.task.findUnique({ where: { id } });
    if (!task || !(OPEN_TASK_STATUSES as readonly string[]).includes(task.status)) return;
    // Only a user task that ran out of time pays the expiry fee (QA's own tasks are the treasury's).
    const fee = status === "expired" && task.kind === "user" ? app.config.EXPIRED_TASK_FEE : 0n;
    cancellations = await endTaskUnpaid(tx, task, status, code, message, fee);
  });
  if (!cancellations) return false;
  sendCancellations(app, cancellations, `task ${status}`);
  app.bus.taskUpdated({ taskId: id, status });
  app.metrics.tasksFinished.inc({ status });
  return true;
}

/**
 * At start-up of a single-instance deployment no provider can still hold a socket to us, so every
 * live assignment is lost: it goes back to the queue (nothing is lost, nothing runs twice for pay:
 * a late result for a lost assignment is refused).
 */
export async function recoverOnStartup(app: AppContext): Promise<number> {
  const live = await app.db.prisma.assignment.findMany({ where: { status: { in: [...LIVE_STATUSES] } }, select: { id: true } });
  for (const a of live) await loseAssignment(app, a.id, "restart");
  await app.db.prisma.provider.updateMany({ where: { online: true }, data: { online: false, instanceId: null } });
  return live.length;
}
