import {
  deserializeTensorMap,
  serializeTensorMap,
  type Ack,
  type ExecutionError,
  type RawTensor,
  type Result,
  type TensorInfo,
} from "@stun/shared";
import type { AppContext } from "../context";
import { sha256Hex } from "../blobs/blob-store";
import type { Tx } from "../db/database";
import { loseAssignment, sendCancellations } from "../scheduler/assignment-lifecycle";
import { LIVE_STATUSES, OPEN_TASK_STATUSES } from "../scheduler/live-assignments";
import { cancelLiveAssignments, endTaskUnpaid, type Cancellation } from "../scheduler/task-failure";
import type { StoredVerification } from "../services/task-view";
import { settleAcceptedTask } from "../settlement/settle-task";
import { getModelRow, type ModelRow } from "../services/models";
import { checkOutputs } from "./check-outputs";
import { decide, type Candidate } from "./decide";
import { reputationAfter } from "./reputation";

const fail = (code: string, message: string): Ack => ({ ok: false, error: { code, message } });

interface ProviderStats {
  id: string;
  reputation: number;
  tasksCompleted: number;
  tasksRejected: number;
  tasksFailed: number;
}

interface Outcome {
  announce?: "verifying" | "completed" | "failed" | "queued";
  cancellations: Cancellation[];
  statsChanged: ProviderStats[];
  latencyMs?: number;
}

/**
 * A provider's result for one of its assignments: stored, then judged once every wanted
 * execution of the task is in. Accepting settles payment in the same transaction.
 */
export async function handleResult(app: AppContext, providerId: string, msg: Result): Promise<Ack> {
  const { db, blobs } = app;
  // The assignment as this instance handed it out; otherwise (e.g. handed out before a restart,
  // or by another instance) from the database. The transaction below re-checks it is still live.
  let ref = app.providers.held(providerId, msg.assignmentId);
  if (!ref) {
    const row = await db.prisma.assignment.findUnique({
      where: { id: msg.assignmentId },
      select: { providerId: true, status: true, taskId: true, task: { select: { modelId: true } } },
    });
    if (!row || row.providerId !== providerId) return fail("ASSIGNMENT_NOT_FOUND", `no assignment ${msg.assignmentId} for this provider`);
    if (!(LIVE_STATUSES as readonly string[]).includes(row.status)) return fail("LEASE_LOST", `assignment ${msg.assignmentId} is ${row.status}`);
    ref = { taskId: row.taskId, modelId: row.task.modelId };
  }
  const a = { id: msg.assignmentId, taskId: ref.taskId };
  const model = await getModelRow(app, ref.modelId);

  let outputs: Record<string, RawTensor>;
  try {
    outputs = checkOutputs(msg.outputs as Record<string, RawTensor>, model.outputs as TensorInfo[]);
  } catch (e) {
    await loseAssignment(app, a.id, "error", "OUTPUT_INVALID");
    return fail("OUTPUT_INVALID", (e as Error).message);
  }
  // From here on the outputs are views of our own copy, never of the socket's receive buffers.
  // The container is the canonical encoding (canonicalTensorMapBytes), so one hash serves as both
  // the blob's address and the output digest that replicas and receipts compare.
  const stored = serializeTensorMap(outputs);
  outputs = deserializeTensorMap(stored);
  const outputDigest = sha256Hex(stored);
  const outputSha256 = await blobs.put(stored, outputDigest);
  const outputMeta = Object.fromEntries(Object.entries(outputs).map(([n, t]) => [n, { dtype: t.dtype, dims: t.dims }]));

  let outcome: Outcome | undefined;
  // The result path runs raw SQL: it is the busiest transaction, and Prisma's per-query overhead
  // was most of its cost. The task row is locked first, as every writer does.
  await db.prisma.$transaction(async (tx) => {
    const [task] = await tx.$queryRaw<TaskRow[]>`SELECT * FROM "Task" WHERE id = ${a.taskId} FOR UPDATE`;
    const done = await tx.$executeRaw`
      UPDATE "Assignment"
      SET status = 'completed', "outputSha256" = ${outputSha256}, "outputDigest" = ${outputDigest},
          "outputMeta" = ${JSON.stringify(outputMeta)}::jsonb, timings = ${JSON.stringify(msg.timings)}::jsonb, "completedAt" = ${new Date()}
      WHERE id = ${a.id} AND status IN ('assigned', 'running')`;
    if (done === 0 || !task) return;
    outcome = await judge(app, tx, { ...task, escrowHeld: BigInt(task.escrowHeld) }, model, { assignmentId: a.id, outputs });
  });
  app.providers.free(providerId, a.id);
  if (!outcome) return fail("LEASE_LOST", `assignment ${a.id} is no longer live`);
  afterCommit(app, a.taskId, outcome);
  return { ok: true };
}

type TaskRow = {
  id: string;
  requesterId: string;
  status: string;
  wanted: number;
  dispatched: number;
  verification: unknown;
  escrowHeld: bigint;
  inputSha256: string;
  createdAt: Date;
};

interface CompletedRow {
  id: string;
  providerId: string;
  backend: string;
  price: bigint;
  outputSha256: string;
  outputMeta: unknown;
  outputDigest: string;
  accountId: string;
  reputation: number;
}

async function judge(app: AppContext, tx: Tx, task: TaskRow, model: ModelRow, fresh: Candidate): Promise<Outcome> {
  const taskId = task.id;
  const outcome: Outcome = { cancellations: [], statsChanged: [] };
  if (!(OPEN_TASK_STATUSES as readonly string[]).includes(task.status)) {
    await tx.$executeRaw`UPDATE "Assignment" SET verdict = 'late' WHERE id = ${fresh.assignmentId}`;
    return outcome;
  }
  const completed = await tx.$queryRaw<CompletedRow[]>`
    SELECT a.id, a."providerId", a.backend, a.price, a."outputSha256", a."outputMeta", a."outputDigest",
           p."accountId", p.reputation
    FROM "Assignment" a JOIN "Provider" p ON p.id = a."providerId"
    WHERE a."taskId" = ${taskId} AND a.status = 'completed' AND a.verdict IS NULL
    ORDER BY a."completedAt" ASC, a.id ASC`;
  if (completed.length < task.wanted) {
    if (task.status !== "verifying") {
      await tx.task.update({ where: { id: taskId }, data: { status: "verifying" } });
      outcome.announce = "verifying";
    }
    return outcome;
  }
  const candidates: Candidate[] = [];
  for (const c of completed) {
    candidates.push(
      c.id === fresh.assignmentId ? fresh : { assignmentId: c.id, outputs: deserializeTensorMap(await app.blobs.get(c.outputSha256!)) },
    );
  }
  const v = task.verification as unknown as StoredVerification;
  const decision = decide(v, task.wanted, candidates);
  const byId = new Map(completed.map((c) => [c.id, c]));

  // Reputation moves only when replicas were compared: an unchecked single execution proves
  // nothing, and counting it would let a provider farm trust with cheap tasks it sends itself.
  const checked = completed.length > 1;
  const judgeProvider = async (assignmentId: string, valid: boolean) => {
    const c = byId.get(assignmentId)!;
    const reputation = checked ? reputationAfter(c.reputation, valid) : c.reputation;
    const [updated] = await tx.$queryRaw<ProviderStats[]>`
      WITH verdict AS (
        UPDATE "Assignment" SET verdict = ${valid ? "accepted" : "rejected"} WHERE id = ${assignmentId}
      )
      UPDATE "Provider"
      SET reputation = ${reputation},
          "tasksCompleted" = "tasksCompleted" + ${valid ? 1 : 0},
          "tasksRejected" = "tasksRejected" + ${valid ? 0 : 1}
      WHERE id = ${c.providerId}
      RETURNING id, reputation, "tasksCompleted", "tasksRejected", "tasksFailed"`;
    if (updated) outcome.statsChanged.push(updated);
    app.metrics.verdicts.inc({ verdict: valid ? "accepted" : "rejected" });
  };

  if (decision.kind === "tiebreak") {
    await tx.task.update({ where: { id: taskId }, data: { wanted: { increment: 1 }, status: "verifying" } });
    outcome.announce = "verifying";
    return outcome;
  }
  if (decision.kind === "no-consensus") {
    for (const c of completed) await tx.assignment.update({ where: { id: c.id }, data: { verdict: "inconclusive" } });
    outcome.cancellations = await endTaskUnpaid(tx, task, "failed", "NO_CONSENSUS", "the providers' outputs did not agree");
    outcome.announce = "failed";
    return outcome;
  }
  for (const id of decision.winners) await judgeProvider(id, true);
  for (const id of decision.losers) await judgeProvider(id, false);
  const first = byId.get(decision.winners[0]!)!;
  const { cost, receipt } = await settleAcceptedTask(tx, {
    task: { ...task, verification: v },
    model,
    winners: decision.winners.map((id) => {
      const c = byId.get(id)!;
      return { assignmentId: id, providerId: c.providerId, providerAccountId: c.accountId, backend: c.backend, price: BigInt(c.price) };
    }),
    outputDigest: first.outputDigest!,
  });
  // Stragglers (e.g. a tie-breaker's sibling still running) are told to stop.
  if (task.dispatched > completed.length) outcome.cancellations = await cancelLiveAssignments(tx, taskId);
  await tx.$executeRaw`
    UPDATE "Task"
    SET status = 'completed', cost = ${cost}, "escrowHeld" = 0, receipt = ${JSON.stringify(receipt)}::jsonb,
        "outputSha256" = ${first.outputSha256}, "outputMeta" = ${JSON.stringify(first.outputMeta ?? {})}::jsonb,
        "outputDigest" = ${first.outputDigest}, "completedAt" = ${new Date()}, "updatedAt" = ${new Date()}
    WHERE id = ${taskId}`;
  outcome.announce = "completed";
  outcome.latencyMs = Date.now() - task.createdAt.getTime();
  return outcome;
}

function afterCommit(app: AppContext, taskId: string, o: Outcome): void {
  if (o.cancellations.length) sendCancellations(app, o.cancellations, "task finished");
  for (const r of o.statsChanged) {
    app.providers.updateStats(r.id, { reputation: r.reputation, completed: r.tasksCompleted, failed: r.tasksRejected + r.tasksFailed });
  }
  if (o.announce) app.bus.taskUpdated({ taskId, status: o.announce });
  if (o.announce === "completed" || o.announce === "failed") app.metrics.tasksFinished.inc({ status: o.announce });
  if (o.latencyMs !== undefined) app.metrics.taskLatency.observe(o.latencyMs / 1000);
  app.bus.workAvailable();
}

/** The provider could not run the assignment: the execution is lost and the task re-queued. */
export async function handleExecutionError(app: AppContext, providerId: string, msg: ExecutionError): Promise<Ack> {
  const a = await app.db.prisma.assignment.findUnique({ where: { id: msg.assignmentId }, select: { providerId: true } });
  if (!a || a.providerId !== providerId) return fail("ASSIGNMENT_NOT_FOUND", `no assignment ${msg.assignmentId} for this provider`);
  if (!(await loseAssignment(app, msg.assignmentId, "error", msg.code))) {
    return fail("LEASE_LOST", `assignment ${msg.assignmentId} is no longer live`);
  }
  await app.db.prisma.provider.update({ where: { id: providerId }, data: { tasksFailed: { increment: 1 } } });
  return { ok: true };
}
