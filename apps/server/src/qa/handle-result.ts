import { deserializeTensorMap, serializeTensorMap, type Ack, type ExecutionError, type RawTensor, type Receipt, type ReceiptQa, type Result, type TensorInfo } from "@stun/shared";
import type { AppContext } from "../context";
import { sha256Hex } from "../blobs/blob-store";
import type { SqlClient } from "../db/database";
import { jsonRows } from "../db/json-rows";
import { loseAssignment, resultArrived, sendCancellations, writingResult } from "../tasks/lifecycle";
import { isLive, isOpen, LIVE_STATUS_IN, OPEN_TASK_STATUSES } from "../tasks/statuses";
import { cancelLiveAssignments, endTaskUnpaid, type Cancellation } from "../tasks/end-unpaid";
import { putUnlessInline } from "../blobs/blob-store";
import { pinLock } from "../blobs/pin-lock";
import { ensurePinnedBlob } from "../storage/blob-pins";
import { Prisma } from "../db/generated/client";
import { parseVerification, type StoredVerification } from "../tasks/verification";
import { completedTaskRow, settleAcceptedTask } from "../settlement/settle-task";
import { aloneLeads, type AloneSettled } from "./settle-alone";
import { shortLeads, type ShortWritten } from "./short-result";
import { leadOf, type Lead } from "../db/group-commit";
import type { AloneSettlement } from "../tasks/alone-settlement";
import { escrowTaskCompleted } from "../tasks/chain-escrow";
import { getModelRow } from "../models/cache";
import type { ModelRow } from "../models/row";
import { checkOutputs } from "./check-outputs";
import { linksOf, loadRequesterAndProviderIdentities } from "./candidates";
import { earnsCredit, type Identity } from "./quorum";
import { unpredictableUniform } from "./unpredictable";
import { planResult } from "./result-plan";
import { canReferee, refereeOutputs } from "./referee";
import { calibrationOf, compareOptionsFor } from "../models/calibration";
import type { Candidate } from "./decide";
import { joinsSoloWindow, judge, mayNeedReference, type JudgeInput } from "./judge";
import {
  readReplicaFacts,
  replicaFactsOf,
  recordCheckedVerdict,
  recordSoloVerdict,
  soloVerdict,
  validVerdicts,
  type Judged,
  type ProviderStats,
  type ReplicaFactRow,
  type ReplicaFacts,
} from "./verdicts";
import { checkZkResult, type ZkCheck } from "../zk/zk-job";
import { sealedBoxBytes } from "@stun/tee";

type ZkReceipt = NonNullable<Receipt["zk"]>;

const fail = (code: string, message: string): Ack => ({ ok: false, error: { code, message } });

interface Outcome {
  announce?: "verifying" | "completed" | "failed" | "queued";
  cancellations: Cancellation[];
  statsChanged: ProviderStats[];
  latencyMs?: number;
  /** A requester's task whose result a re-check corrected. */
  corrected?: string;
  /**
   * The judgement queued work for the dispatchers: the task wants more executions (a tie-breaker,
   * replicas, a retry) or re-checks of a caught provider's solo results were queued. A result that
   * only found its task short of its replicas (`verifying`) queued nothing: they were placed.
   */
  newWork?: boolean;
}

/**
 * A provider's result for one of its assignments: stored, then judged once every wanted
 * execution of the task is in. Accepting settles payment in the same transaction.
 */
export async function handleResult(app: AppContext, providerId: string, msg: Result): Promise<Ack> {
  const { db } = app;
  // The assignment as this instance handed it out; otherwise (e.g. handed out before a restart,
  // or by another instance) from the database. The transaction below re-checks it is still live.
  let ref = app.providers.held(providerId, msg.assignmentId);
  if (ref) resultArrived(app, msg.assignmentId);
  else {
    const row = await db.prisma.assignment.findUnique({
      where: { id: msg.assignmentId },
      select: { providerId: true, status: true, taskId: true, task: { select: { modelId: true, verification: true, kind: true, wanted: true } } },
    });
    if (!row || row.providerId !== providerId) return fail("ASSIGNMENT_NOT_FOUND", `no assignment ${msg.assignmentId} for this provider`);
    if (!isLive(row.status)) return fail("LEASE_LOST", `assignment ${msg.assignmentId} is ${row.status}`);
    const v = parseVerification(row.task.verification);
    ref = {
      taskId: row.taskId,
      modelId: row.task.modelId,
      ...(v.mode === "zk" ? { zk: true } : {}),
      ...(v.tee ? { sealed: true } : {}),
      ...(mayNeedReference(row.task.kind, row.task.wanted, v) ? { mayNeedReference: true } : {}),
    };
  }
  // Until its unit settled, this instance's running mark leaves the task's row to it (lifecycle.ts).
  const written = writingResult(app, ref.taskId);
  try {
    return await storeAndJudge(app, providerId, ref, msg);
  } finally {
    written();
  }
}

/** An assignment as this instance handed it out (ProviderRegistry.held), or as handleResult read it back. */
type HeldAssignment = NonNullable<ReturnType<AppContext["providers"]["held"]>>;

/** The result of the assignment `ref`: its outputs checked and stored, then its unit (completeAssignment). */
async function storeAndJudge(app: AppContext, providerId: string, ref: HeldAssignment, msg: Result): Promise<Ack> {
  const { blobs } = app;
  const a: ResultUnit = { id: msg.assignmentId, taskId: ref.taskId, savepoint: false, ...(ref.alone ? { alone: ref.alone } : {}) };
  const model = await getModelRow(app, ref.modelId);
  if (ref.sealed) return handleSealedResult(app, providerId, a, model, msg);

  let outputs: Record<string, RawTensor>;
  try {
    if (msg.sealed) throw new Error("a sealed result for a task that was not sealed");
    outputs = checkOutputs(msg.outputs as Record<string, RawTensor>, model.outputs as TensorInfo[]);
  } catch (e) {
    await loseAssignment(app, a.id, "error", "OUTPUT_INVALID");
    return fail("OUTPUT_INVALID", (e as Error).message);
  }
  // A zk task: the proof is checked before anything is stored, and its outputs are the result.
  let zkReceipt: ZkReceipt | undefined;
  if (ref.zk) {
    const checked = await checkZkProof(app, providerId, a.taskId, model, msg);
    if (!checked.ok) {
      await loseAssignment(app, a.id, "error", checked.code);
      return fail(checked.code, checked.message);
    }
    outputs = checked.outputs;
    zkReceipt = checked.receipt;
  }
  // From here on the outputs are views of our own copy, never of the socket's receive buffers.
  // The container is the canonical encoding (canonicalTensorMapBytes), so one hash serves as both
  // the blob's address and the output digest that replicas and receipts compare.
  const stored = serializeTensorMap(outputs);
  outputs = deserializeTensorMap(stored);
  const outputDigest = sha256Hex(stored);
  const outputSha256 = await putUnlessInline(blobs, stored, outputDigest);
  const outputMeta = Object.fromEntries(Object.entries(outputs).map(([n, t]) => [n, { dtype: t.dtype, dims: t.dims }]));

  // The server's reference run (seconds at worst) never runs inside the transaction, where it would
  // hold the task's locks and every other unit of the batch: when the judge asks for it, the unit
  // rolls back, the run happens outside, and the unit runs again with it (once per result).
  // The provider's slot is free once its result is here (provider-core frees it when the run ends):
  // the next assignment is dispatched while this result commits.
  app.providers.free(providerId, a.id);
  // Drawn now, so the unit knows whether it may be audited (its savepoint, a reference run started
  // first: result-plan.ts); the judge uses it.
  const known: KnownFacts = { auditDraw: unpredictableUniform() };
  const plan = planResult(ref, known.auditDraw, app.config.qa);
  a.savepoint = plan.savepoint;
  if (plan.short) a.short = true;
  if (plan.referenceFirst !== undefined && canReferee(model, app.config.REFEREE_MAX_BYTES)) known.reference = await referenceRun(app, model, plan.referenceFirst, "ahead");
  for (;;) {
    try {
      return await completeAssignment(app, providerId, a, model, { outputs, outputSha256, outputDigest, outputMeta, stored, timings: msg.timings }, known, zkReceipt);
    } catch (e) {
      if (!(e instanceof NeedReference) || known.reference !== undefined) throw e;
      known.reference = await referenceRun(app, model, e.inputSha256, "on-demand");
    }
  }
}

/** The server's reference run for a judge (null: it failed), counted by when it started: before the unit (`ahead`) or after the judge asked and the unit rolled back (`on-demand`). */
async function referenceRun(app: AppContext, model: ModelRow, inputSha256: string, started: "ahead" | "on-demand"): Promise<Record<string, RawTensor> | null> {
  app.metrics.referenceRuns.inc({ started });
  return (await refereeOutputs(app, model, inputSha256)) ?? null;
}

/**
 * A sealed task's result (docs/TEE.md): outputs sealed to the requester's key, stored as they came
 * (enc ‖ ciphertext); the server checks only their form. One execution in an attested TEE: it is
 * accepted as `attested`, and the requester checks the outputs open under its key for its input.
 */
async function handleSealedResult(app: AppContext, providerId: string, a: { id: string; taskId: string }, model: ModelRow, msg: Result): Promise<Ack> {
  let stored: Uint8Array;
  try {
    if (!msg.sealed || Object.keys(msg.outputs).length > 0) throw new Error("a sealed task's result carries its outputs sealed (`sealed`), and none in the clear");
    stored = sealedBoxBytes(msg.sealed);
  } catch (e) {
    await loseAssignment(app, a.id, "error", "OUTPUT_INVALID");
    return fail("OUTPUT_INVALID", (e as Error).message);
  }
  const outputDigest = sha256Hex(stored);
  const outputSha256 = await putUnlessInline(app.blobs, stored, outputDigest);
  app.providers.free(providerId, a.id);
  return completeAssignment(
    app,
    providerId,
    { ...a, savepoint: false },
    model,
    { outputs: {}, outputSha256, outputDigest, outputMeta: {}, stored, timings: msg.timings },
    { auditDraw: unpredictableUniform() },
    undefined,
  );
}

/** What a result's judgement learnt outside its transaction: its audit draw, the reference run's outputs (null: it failed). */
interface KnownFacts {
  auditDraw: number;
  reference?: Record<string, RawTensor> | null;
}

/** Thrown inside the result transaction when the judge needs the reference run and it is not known yet. */
class NeedReference extends Error {
  constructor(readonly inputSha256: string) {
    super("the judge needs the server's reference run");
  }
}

interface StoredResult {
  outputs: Record<string, RawTensor>;
  outputSha256: string;
  outputDigest: string;
  outputMeta: Record<string, { dtype: string; dims: number[] }>;
  stored: Uint8Array;
  timings: Result["timings"];
}

/** How a result's unit is run: its savepoint, and the lead that may write it with others' (judged alone, or its task short after it). */
interface ResultUnit {
  id: string;
  taskId: string;
  savepoint: boolean;
  alone?: AloneSettlement;
  short?: true;
}

/** The result's transaction (group commit): the assignment completed and, once the task has every execution it wants, judged. */
async function completeAssignment(app: AppContext, providerId: string, a: ResultUnit, model: ModelRow, r: StoredResult, known: KnownFacts, zkReceipt: ZkReceipt | undefined): Promise<Ack> {
  const { blobs } = app;
  const { outputs, outputSha256, outputDigest, outputMeta, stored } = r;
  // The result path runs raw SQL: it is the busiest transaction, and Prisma's per-query overhead
  // was most of its cost. The task row is locked first, as every writer does. Group commit: results
  // arriving together share one transaction, each in a savepoint of its own; a deadlock with another
  // result transaction (PostgreSQL) runs this one again (db/group-commit.ts).
  // A small output is written by the first statement (BlobStore.inlineWrite), which then holds its pin.
  const inlineOutput = blobs.inlineWrite?.(stored, outputSha256);
  // The unit's lead writes the result with the batch's others, one statement: settled where it is
  // judged alone (settle-alone.ts), completed where its task is short after it (short-result.ts) —
  // unless the task is no longer as the lead expects, and the unit goes the general way.
  const written = { assignmentId: a.id, taskId: a.taskId, outputSha256, outputDigest, outputMeta, timings: r.timings, ...(inlineOutput ? { inlineOutput: stored } : {}) };
  const lead: Lead<AloneSettled | ShortWritten | undefined> | undefined =
    a.alone && !zkReceipt ? leadOf(aloneLeads, { settlement: a.alone, model, result: { ...written, providerId } }) : a.short && !zkReceipt ? leadOf(shortLeads, written) : undefined;
  // What the unit answers where its lead wrote the result (settled, or its task marked verifying).
  const ledOutcome = (led: AloneSettled | ShortWritten): Outcome =>
    "createdAtMs" in led
      ? { cancellations: [], statsChanged: led.stats, announce: "completed", latencyMs: Date.now() - led.createdAtMs }
      : { cancellations: [], statsChanged: [], ...(led.wasVerifying ? {} : { announce: "verifying" as const }) };
  const outcome = await app.commits.run<Outcome | undefined, AloneSettled | ShortWritten | undefined>(
    async (tx, led) => {
      if (led && !inlineOutput) await ensurePinnedBlob(tx, blobs, outputSha256, stored);
      if (led) return ledOutcome(led);
      // One statement: lock the task row, complete the assignment if it is still live, take the
      // output's pin lock (storage/blob-pins.ts), and read the task's executions the judge weighs
      // (`completedOf`) with their providers locked. Short of the executions the task wants, and
      // sure it saw them all (`shortOf`), the same statement marks the task verifying.
      const completedAt = new Date();
      const [task] = await tx.$queryRaw<Array<TaskRow & { done: number; short: number; completed: CompletedJson[] | string | null; facts: ReplicaFactRow[] | string | null }>>`
      WITH ${inlineOutput ? Prisma.sql`blob AS (${inlineOutput}),` : Prisma.empty}
      t AS (SELECT ctid::text AS "rowVersion", * FROM "Task" WHERE id = ${a.taskId} FOR UPDATE),
      a AS (
        UPDATE "Assignment"
        SET status = 'completed', "outputSha256" = ${outputSha256}, "outputDigest" = ${outputDigest},
            "outputMeta" = ${JSON.stringify(outputMeta)}::jsonb, timings = ${JSON.stringify(r.timings)}::jsonb, "completedAt" = ${completedAt}
        WHERE id = ${a.id} AND status ${LIVE_STATUS_IN} AND EXISTS (SELECT 1 FROM t)
        RETURNING id
      ),
      ${completedOf(a.taskId, a.id)},
      ${shortOf(a.taskId, completedAt)},
      ${replicaFactsOfC}
      SELECT t.*, (SELECT count(*) FROM a)::int AS done, (SELECT count(*) FROM m)::int AS short, (SELECT json_agg(c) FROM c) AS completed,
             (SELECT json_agg(f) FROM f) AS facts
      FROM t, (SELECT ${pinLock(outputSha256)}) AS pin`;
      if (!task || Number(task.done) === 0) return undefined;
      if (!inlineOutput) await ensurePinnedBlob(tx, blobs, outputSha256, stored);
      // Marked verifying: nothing to judge yet; the task's other executions are placed.
      if (Number(task.short) > 0) return { cancellations: [], statsChanged: [], ...(task.status !== "verifying" ? { announce: "verifying" as const } : {}) };
      // The statement's snapshot has this execution as it was before the update: its new fields are ours.
      const rows = jsonRows(task.completed);
      const completed = rows.map((c) => (c.id === a.id ? { ...fromJson(c), outputSha256, outputDigest, outputMeta, completedAt } : fromJson(c)));
      const facts = task.facts ? replicaFactsOf(jsonRows(task.facts), task.requesterId) : undefined;
      return judgeTask(app, tx, { ...task, escrowHeld: BigInt(task.escrowHeld) }, model, { assignmentId: a.id, outputs }, known, completed, zkReceipt, facts);
      // Once the reference run is known the judge will not ask for it again: no savepoint needed.
    },
    {
      savepoint: a.savepoint && known.reference === undefined,
      ...(lead ? { lead } : {}),
      // An inline output is the lead's to write: nothing of the unit's own is left, so a lone result's lead may commit by itself.
      ...(lead && inlineOutput ? { settledBy: ledOutcome } : {}),
    },
  );
  if (!outcome) return fail("LEASE_LOST", `assignment ${a.id} is no longer live`);
  afterCommit(app, a.taskId, outcome);
  return { ok: true };
}

type TaskRow = {
  id: string;
  kind: string;
  requesterId: string;
  recheckOf: string | null;
  answerSha256: string | null;
  status: string;
  wanted: number;
  dispatched: number;
  attempts: number;
  verification: unknown;
  escrowHeld: bigint;
  inputSha256: string;
  createdAt: Date;
};

interface CompletedRow {
  id: string;
  completedAt: Date;
  providerId: string;
  backend: string;
  price: bigint;
  outputSha256: string;
  outputMeta: unknown;
  outputDigest: string;
  accountId: string;
}

/** A `CompletedRow` as `unjudgedRows` selects it: the price as text (exact), the time as epoch milliseconds (a number through `json_agg`). */
type CompletedJson = Omit<CompletedRow, "price" | "completedAt"> & { price: string; completedAtMs: number | bigint };

/** A `CompletedJson` row as the judge weighs it. */
const fromJson = ({ completedAtMs, ...c }: CompletedJson): CompletedRow => ({ ...c, price: BigInt(c.price), completedAt: new Date(Number(completedAtMs)) });

/**
 * A task's completed executions not judged yet (and whatever else `also` admits), with their
 * providers' rows locked. Verdicts lock Provider rows (then their trust and account rows). Two tasks
 * judged at once on PostgreSQL would lock overlapping providers in their own completion orders and
 * deadlock: the providers are locked in one order (by id), after the task row.
 */
const unjudgedRows = (taskId: string, also: Prisma.Sql) => Prisma.sql`
    SELECT x.id, x."providerId", x.backend, x.price::text AS price, x."outputSha256", x."outputMeta", x."outputDigest",
           floor(extract(epoch FROM x."completedAt") * 1000)::bigint AS "completedAtMs", p."accountId",
           p."netPrefix", p."validWeight", p."invalidWeight"
    FROM "Assignment" x JOIN "Provider" p ON p.id = x."providerId"
    WHERE x."taskId" = ${taskId} AND ${also}
    ORDER BY p.id
    FOR NO KEY UPDATE OF p`;

/**
 * The CTE `c` of the result statement: the unjudged executions — the one the statement completes
 * included, its row as the snapshot had it (`a` locks the task row `t` first).
 */
const completedOf = (taskId: string, assignmentId: string) => Prisma.sql`
  c AS (${unjudgedRows(taskId, Prisma.sql`EXISTS (SELECT 1 FROM a) AND (x.id = ${assignmentId} OR (x.status = 'completed' AND x.verdict IS NULL))`)})`;

/**
 * The CTEs `w` and `m` of the result statement. `w`: what the statement saw — every result of the
 * task that is in (`whole`), its task open and its execution completed (`open`), fewer executions
 * than the task wants (`short`), and so whether it reads the replica facts (`readsFacts`,
 * replicaFactsOfC). `m`: the task marked verifying (its row written, whatever its status was) when
 * the statement is whole, open and short.
 *
 * The statement read the executions (`c`) in its snapshot, taken before it waited for the task's
 * lock: another transaction's result for this task, committed while it waited, is not in it. Every
 * transaction that completes an execution of an open task writes the task's row (it is marked
 * verifying here or in `readUnjudged`, or judged), so the row this statement locked (`t`, its newest
 * version) is the one its snapshot saw (same `ctid`) only when no such result committed meanwhile.
 * Otherwise `m` writes nothing and the judge reads again (`readUnjudged`).
 */
const shortOf = (taskId: string, at: Date) => Prisma.sql`
  w AS (
    SELECT *, whole AND open AND NOT short AND wanted >= 2 AND kind = 'user' AS "readsFacts"
    FROM (
      SELECT t."rowVersion" = (SELECT ctid::text FROM "Task" WHERE id = ${taskId}) AS whole,
             t.status IN (${Prisma.join([...OPEN_TASK_STATUSES])}) AND EXISTS (SELECT 1 FROM a) AS open,
             (SELECT count(*) FROM c) < t.wanted AS short, t.wanted, t.kind
      FROM t
    ) s
  ),
  m AS (
    UPDATE "Task" SET status = 'verifying', "updatedAt" = ${at}
    FROM t, w
    WHERE "Task".id = t.id AND w.whole AND w.open AND w.short
    RETURNING 1
  )`;

/**
 * The CTEs `pt` and `f` of the result statement: the replica facts the judge of a task with
 * replicas asks for (verdicts.ts readReplicaFacts: each pair's trust, locked, each provider's
 * evidence and identity, the requester's links), read for every execution in `c` (their providers
 * locked there, before their trust rows) when the statement completed the task's executions and
 * saw them all (`w.readsFacts`). One statement fewer for the last replica of every task.
 */
const replicaFactsOfC = Prisma.sql`
  pt AS MATERIALIZED (
    SELECT x."providerId", x.backend, x.streak, x.solo, x.checked, x.invalid
    FROM "ProviderTrust" x
    WHERE (SELECT "readsFacts" FROM w)
      AND EXISTS (SELECT 1 FROM c WHERE c."providerId" = x."providerId" AND c.backend = x.backend)
    ORDER BY x."providerId", x.backend FOR UPDATE OF x
  ),
  f AS (
    SELECT DISTINCT ON (c."providerId", c.backend) c."providerId" AS id, c.backend, c."accountId", ${linksOf(Prisma.sql`c."accountId"`)} AS links,
           c."netPrefix", c."validWeight", c."invalidWeight", ${linksOf(Prisma.sql`t."requesterId"`)} AS "requesterLinks",
           pt.streak, pt.solo, pt.checked, pt.invalid
    FROM c CROSS JOIN t LEFT JOIN pt ON pt."providerId" = c."providerId" AND pt.backend = c.backend
    WHERE (SELECT "readsFacts" FROM w)
  )`;

/**
 * The task's completed executions not judged yet, read now (a new snapshot), providers locked as in
 * `completedOf`; while fewer than it wants, the same statement marks the task `verifying`
 * (`markedVerifying`: it was not yet) — and writes its row even when it was, which tells a result
 * statement waiting for the task's lock that its snapshot is out of date (`shortOf`).
 */
async function readUnjudged(tx: SqlClient, task: { id: string; wanted: number; status: string }): Promise<{ rows: CompletedRow[]; markedVerifying: boolean }> {
  const [r] = await tx.$queryRaw<Array<{ completed: CompletedJson[] | string | null; marked: number }>>`
    WITH c AS MATERIALIZED (${unjudgedRows(task.id, Prisma.sql`x.status = 'completed' AND x.verdict IS NULL`)}),
    v AS (
      UPDATE "Task" SET status = 'verifying', "updatedAt" = ${new Date()}
      WHERE id = ${task.id} AND (SELECT count(*) FROM c) < ${task.wanted}
      RETURNING 1
    )
    SELECT (SELECT json_agg(c) FROM c) AS completed, (SELECT count(*) FROM v)::int AS marked`;
  return { rows: jsonRows(r?.completed ?? null).map(fromJson), markedVerifying: Number(r?.marked ?? 0) > 0 && task.status !== "verifying" };
}

const judged = (c: CompletedRow, taskId: string): Judged => ({
  assignmentId: c.id,
  taskId,
  providerId: c.providerId,
  accountId: c.accountId,
  backend: c.backend,
  price: BigInt(c.price),
});

/**
 * Judges the task once every wanted execution is in (judge.ts decides; this loads what it asks
 * for and applies the judgement inside the result transaction).
 */
async function judgeTask(
  app: AppContext,
  tx: SqlClient,
  task: TaskRow,
  model: ModelRow,
  fresh: Candidate,
  known: KnownFacts,
  unjudged: CompletedRow[],
  zk?: ZkReceipt,
  prefetched?: ReplicaFacts,
): Promise<Outcome> {
  const taskId = task.id;
  const policy = app.config.qa;
  const outcome: Outcome = { cancellations: [], statsChanged: [] };
  if (!isOpen(task.status)) {
    await tx.$executeRaw`UPDATE "Assignment" SET verdict = 'late' WHERE id = ${fresh.assignmentId}`;
    return outcome;
  }
  // The result statement's own read saw the task's other executions as of its snapshot, taken
  // before it waited for the task's lock: another instance's result for this task, committed while
  // it waited, may not be in it (`shortOf` marked the task verifying only when none was). Short of
  // the executions wanted, read again (a new statement, a new snapshot, the lock held): else two
  // replicas finishing at once would each see only itself. The same statement marks the task
  // verifying when it is still short.
  const current = unjudged.length < task.wanted ? await readUnjudged(tx, task) : { rows: unjudged, markedVerifying: false };
  const completed = current.rows.sort((x, y) => x.completedAt.getTime() - y.completedAt.getTime() || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  if (completed.length < task.wanted) {
    if (current.markedVerifying) outcome.announce = "verifying";
    return outcome;
  }
  const v = parseVerification(task.verification);
  // A re-check also judges the original execution's provider (rare: a deadlock this order cannot
  // rule out is run again by group commit).
  if (v.recheck) await tx.$queryRaw`SELECT id FROM "Provider" WHERE id = ${v.recheck.providerId} FOR NO KEY UPDATE`;
  const outputsOf = async (c: { id: string; outputSha256: string }) => (c.id === fresh.assignmentId ? fresh.outputs : deserializeTensorMap(await app.blobs.get(c.outputSha256, tx)));
  const results: Candidate[] = [];
  for (const c of completed) results.push({ assignmentId: c.id, outputs: await outputsOf(c) });
  // A re-check's original solo result is its first replica.
  const original = task.kind !== "canary" && v.recheck ? await loadOriginal(tx, v.recheck.assignmentId) : undefined;
  const input: JudgeInput = {
    kind: task.kind,
    v,
    wanted: task.wanted,
    results,
    ...(original ? { original: { assignmentId: original.id, outputs: await outputsOf(original) } } : {}),
    ...(task.kind === "canary" ? { answer: deserializeTensorMap(await app.blobs.get(task.answerSha256!, tx)) } : {}),
    compare: compareOptionsFor(calibrationOf(model), v.argmax),
    refereeable: canReferee(model, app.config.REFEREE_MAX_BYTES),
    policy,
    auditDraw: known.auditDraw,
  };
  // The judge asks for each costly fact at most once: the reference run, and the agreeing pairs'
  // records (their trust weighs the audit draw, drawn when the result arrived).
  const byId = new Map(completed.map((c) => [c.id, c]));
  // The agreeing executions' trust, evidence and identities, and the requester's: read once, for
  // the audit draw, the credit rule and their verdicts.
  let replicas: ReplicaFacts | undefined;
  let j = judge(input);
  for (; j.kind === "need-reference" || j.kind === "need-agreeing-trust"; j = judge(input)) {
    if (j.kind === "need-reference") {
      if (known.reference === undefined) throw new NeedReference(task.inputSha256);
      input.reference = known.reference;
    } else {
      const agreeing = j.agreeing.map((id) => byId.get(id)!);
      // Read by the result statement when it saw every execution (`replicaFactsOfC`), else now.
      replicas = prefetched && agreeing.every((c) => prefetched.evidence(c.providerId)) ? prefetched : await readReplicaFacts(tx, agreeing, task.requesterId);
      input.agreeingTrust = agreeing.map((c) => replicas!.trust(c));
    }
  }

  const credit =
    j.kind === "accept" && j.checked
      ? await creditOf(
          tx,
          task,
          j.winners.map((id) => byId.get(id)).filter((c): c is CompletedRow => c !== undefined),
          replicas,
        )
      : undefined;
  const verdicts = "verdicts" in j ? j.verdicts : [];
  // An accepted task's lone solo verdict (mode none, a trusted pair's solo run) is written by the
  // settlement's own statement below: one round trip fewer on the busiest path.
  const lone = j.kind === "accept" && !original && verdicts.length === 1 && verdicts[0]!.verdict === "solo" ? verdicts[0]! : undefined;
  // So are an accepted task's verdicts when every one is valid and earns credit (its agreeing
  // replicas, each on a provider of its own): one statement reads what they change (validVerdicts).
  const agreeing =
    !lone && j.kind === "accept" && !original && verdicts.length > 0 && verdicts.every((x) => x.verdict === "valid" && (credit?.get(x.assignmentId) ?? true))
      ? verdicts.map((x) => judged(byId.get(x.assignmentId)!, taskId))
      : undefined;
  const deferred = lone ? soloVerdict(judged(byId.get(lone.assignmentId)!, taskId), joinsSoloWindow(v)) : agreeing ? await validVerdicts(tx, policy, agreeing, replicas) : undefined;
  if (agreeing && deferred) app.metrics.verdicts.inc({ verdict: "accepted" }, agreeing.length);
  for (const { assignmentId, verdict } of deferred ? [] : verdicts) {
    const c = byId.get(assignmentId)!;
    if (verdict === "inconclusive") await tx.$executeRaw`UPDATE "Assignment" SET verdict = 'inconclusive' WHERE id = ${c.id}`;
    else if (verdict === "solo") outcome.statsChanged.push(await recordSoloVerdict(tx, judged(c, taskId), joinsSoloWindow(v)));
    else {
      const valid = verdict === "valid";
      const effects = await recordCheckedVerdict(tx, policy, judged(c, taskId), valid, valid ? { credit: credit?.get(c.id) ?? true } : undefined);
      outcome.statsChanged.push(effects.stats);
      if (effects.rechecks > 0) outcome.newWork = true;
      app.metrics.verdicts.inc({ verdict: valid ? "accepted" : "rejected" });
    }
  }

  switch (j.kind) {
    case "replicate":
      await tx.$executeRaw`
        UPDATE "Task" SET wanted = ${v.replicas}, verification = ${JSON.stringify(j.verification)}::jsonb, status = 'verifying' WHERE id = ${taskId}`;
      outcome.announce = "verifying";
      outcome.newWork = true;
      return outcome;
    case "tiebreak":
      await tx.$executeRaw`UPDATE "Task" SET wanted = wanted + 1, status = 'verifying', "updatedAt" = ${new Date()} WHERE id = ${taskId}`;
      outcome.announce = "verifying";
      outcome.newWork = true;
      return outcome;
    case "fail":
      outcome.cancellations = await endTaskUnpaid(tx, task, "failed", j.code, j.message);
      outcome.announce = "failed";
      return outcome;
    case "retry":
      if (j.contradictedAgreement) {
        app.metrics.refereeAudits.inc();
        app.metrics.verdicts.inc({ verdict: "contradicted" });
      }
      return await retryAfterWrong(app, tx, task, outcome, j.wanted, j.verification);
    case "accept":
      break;
  }
  if (j.qa.refereeAudited) app.metrics.refereeAudits.inc();
  if (original) await settleRecheck(app, tx, original, j.overturned, byId.get(j.winners[0]!)!, outcome);

  const winners = j.winners.map((id) => byId.get(id)).filter((c): c is CompletedRow => c !== undefined);
  const first = winners[0]!;
  // Stragglers (e.g. a tie-breaker's sibling still running) are told to stop.
  if (task.dispatched > completed.length) outcome.cancellations = await cancelLiveAssignments(tx, taskId);
  // The settlement's statement also completes the Task row (one round trip).
  const { cost, rows } = await settleAcceptedTask(tx, {
    task: { ...task, verification: v },
    model,
    winners: winners.map((c) => ({ assignmentId: c.id, providerId: c.providerId, providerAccountId: c.accountId, backend: c.backend, price: BigInt(c.price) })),
    outputDigest: first.outputDigest,
    compare: input.compare,
    executions: completed.map((c) => ({
      providerId: c.providerId,
      backend: c.backend,
      verdict: j.winners.includes(c.id) ? "accepted" : "rejected",
    })),
    qa: {
      kind: task.kind as ReceiptQa["kind"],
      check: v.tee ? "attested" : j.qa.check,
      recheck: "none",
      ...(j.qa.refereed ? { refereed: true } : {}),
      ...(j.qa.refereeAudited ? { refereeAudited: true } : {}),
    },
    ...(zk ? { zk } : {}),
    ...(deferred ? { returning: deferred.returning } : {}),
    alongside: (settled) => [...(deferred?.alongside ?? []), completedTaskRow(taskId, settled, first)],
  });
  if (deferred) outcome.statsChanged.push(...(rows as ProviderStats[]));
  // Paid from an on-chain escrow: the change the chain returns goes back to system:chain.
  if (v.chainEscrow) await escrowTaskCompleted(tx, taskId, task.requesterId, cost);
  outcome.announce = "completed";
  if (task.kind === "user") outcome.latencyMs = Date.now() - task.createdAt.getTime();
  return outcome;
}

/**
 * Whether each winner's valid verdict earns reputation and trust: not on a task its own operator
 * submitted, nor when it agreed only with providers of its own operator (qa/quorum.ts). The
 * identities come from `known` (the agreeing replicas' facts) when it holds every winner's.
 */
async function creditOf(tx: SqlClient, task: TaskRow, winners: CompletedRow[], known: ReplicaFacts | undefined): Promise<Map<string, boolean>> {
  const { requester, providers } =
    known?.requester && winners.every((w) => known.identity(w.providerId))
      ? { requester: known.requester, providers: new Map(winners.map((w) => [w.providerId, known.identity(w.providerId)!])) }
      : await loadRequesterAndProviderIdentities(
          tx,
          task.requesterId,
          winners.map((w) => w.providerId),
        );
  const identityOf = (w: CompletedRow): Identity => providers.get(w.providerId) ?? { account: w.accountId, links: [] };
  return new Map(winners.map((w) => [w.id, earnsCredit(identityOf(w), requester, winners.filter((o) => o.id !== w.id).map(identityOf))]));
}

/**
 * The server's reference run contradicted what the task's executions delivered (a lone result, or
 * an agreement of replicas): those were judged invalid; the task runs again — `wanted` executions on
 * providers of operators that have not run it yet (stragglers cancelled), checked as `verification`
 * says — or, once it has used up its attempts, fails and is refunded.
 */
async function retryAfterWrong(app: AppContext, tx: SqlClient, task: TaskRow, outcome: Outcome, wanted: number, verification?: StoredVerification): Promise<Outcome> {
  const attempts = task.attempts + 1;
  if (attempts >= app.config.MAX_ATTEMPTS) {
    outcome.cancellations = await endTaskUnpaid(tx, task, "failed", "NO_CONSENSUS", "the server's reference run contradicted the providers' results");
    outcome.announce = "failed";
    return outcome;
  }
  outcome.cancellations = await cancelLiveAssignments(tx, task.id);
  await tx.$executeRaw`
    UPDATE "Task" SET attempts = ${attempts}, wanted = ${wanted}, dispatched = 0, status = 'queued', "updatedAt" = ${new Date()},
                      verification = COALESCE(${verification ? JSON.stringify(verification) : null}::jsonb, verification)
    WHERE id = ${task.id}`;
  outcome.announce = "queued";
  outcome.newWork = true;
  return outcome;
}

/** A zk result's proof, checked against the task's stored input (zk/zk-job.ts). */
async function checkZkProof(app: AppContext, providerId: string, taskId: string, model: ModelRow, msg: Result): Promise<ZkCheck> {
  const zk = await app.zk.whenReady(model);
  if (!zk) return { ok: false, code: "PROOF_INVALID", message: "this server has no circuit for the task's model" };
  const [task] = await app.db.prisma.$queryRaw<Array<{ inputSha256: string }>>`SELECT "inputSha256" FROM "Task" WHERE id = ${taskId}`;
  if (!task) return { ok: false, code: "PROOF_INVALID", message: `no task ${taskId}` };
  const inputs = deserializeTensorMap(await app.blobs.get(task.inputSha256));
  const input = inputs[zk.artifacts.model.input.name];
  if (!input) return { ok: false, code: "PROOF_INVALID", message: `the task has no input "${zk.artifacts.model.input.name}"` };
  return checkZkResult(app, zk, { taskId, providerId, input, outputs: model.outputs as TensorInfo[] }, msg.zk);
}

async function loadOriginal(tx: SqlClient, assignmentId: string) {
  const [row] = await tx.$queryRaw<Array<CompletedRow & { taskId: string; requesterId: string; cost: bigint }>>`
    SELECT a.id, a."providerId", a.backend, a.price, a."outputSha256", a."outputMeta", a."outputDigest", a."completedAt", p."accountId",
           t.id AS "taskId", t."requesterId", COALESCE(t.cost, 0) AS cost
    FROM "Assignment" a JOIN "Provider" p ON p.id = a."providerId" JOIN "Task" t ON t.id = a."taskId"
    WHERE a.id = ${assignmentId}
    FOR UPDATE OF t`;
  if (!row) throw new Error(`re-checked assignment ${assignmentId} is gone`);
  return row;
}

/**
 * A re-check's verdict on the original solo result. Confirmed: noted on the requester's receipt.
 * Overturned: the original counts as a wrong result (reputation, trust, slash — the requester gets
 * back what it paid), and the requester's task now carries the consensus output, with a
 * correction record saying what changed.
 */
async function settleRecheck(
  app: AppContext,
  tx: SqlClient,
  original: CompletedRow & { taskId: string; requesterId: string; cost: bigint },
  overturned: boolean,
  winner: CompletedRow,
  outcome: Outcome,
): Promise<void> {
  if (!overturned) {
    await tx.$executeRaw`
      UPDATE "Task" SET receipt = jsonb_set(receipt, '{qa,recheck}', '"confirmed"'::jsonb, true) WHERE id = ${original.taskId} AND receipt IS NOT NULL`;
    return;
  }
  const effects = await recordCheckedVerdict(tx, app.config.qa, judged(original, original.taskId), false, {
    verdict: "overturned",
    wronged: { requesterId: original.requesterId, paid: BigInt(original.cost), taskId: original.taskId },
  });
  outcome.statsChanged.push(effects.stats);
  if (effects.rechecks > 0) outcome.newWork = true;
  app.metrics.verdicts.inc({ verdict: "overturned" });
  const correction = { at: new Date().toISOString(), byAssignment: winner.id, previousOutputDigest: original.outputDigest, outputDigest: winner.outputDigest };
  await tx.$executeRaw`
    UPDATE "Task"
    SET "outputSha256" = ${winner.outputSha256}, "outputMeta" = ${JSON.stringify(winner.outputMeta ?? {})}::jsonb,
        "outputDigest" = ${winner.outputDigest}, correction = ${JSON.stringify(correction)}::jsonb,
        receipt = jsonb_set(jsonb_set(receipt, '{qa,recheck}', '"corrected"'::jsonb, true), '{outputDigest}', to_jsonb(${winner.outputDigest}::text), true),
        "updatedAt" = ${new Date()}
    WHERE id = ${original.taskId}`;
  outcome.corrected = original.taskId;
}

function afterCommit(app: AppContext, taskId: string, o: Outcome): void {
  if (o.cancellations.length) sendCancellations(app, o.cancellations, "task finished");
  for (const r of o.statsChanged) {
    app.providers.updateStats(r.id, { reputation: r.reputation, completed: r.tasksCompleted, failed: r.tasksRejected + r.tasksFailed });
  }
  if (o.announce) app.bus.taskUpdated({ taskId, status: o.announce });
  if (o.corrected) app.bus.taskUpdated({ taskId: o.corrected, status: "completed" });
  if (o.announce === "completed" || o.announce === "failed") app.metrics.tasksFinished.inc({ status: o.announce });
  if (o.latencyMs !== undefined) app.metrics.taskLatency.observe(o.latencyMs / 1000);
  // The provider's slot came free here; there is new work only when the judgement queued some
  // (`newWork`), which other instances hear of if this one cannot place it. Every writer of queued
  // work says `new` (the dispatcher counts on it).
  app.bus.workAvailable(o.newWork ? "new" : "here");
}

/** The provider could not run the assignment: the execution is lost and the task re-queued. */
export async function handleExecutionError(app: AppContext, providerId: string, msg: ExecutionError): Promise<Ack> {
  const a = await app.db.prisma.assignment.findUnique({ where: { id: msg.assignmentId }, select: { providerId: true } });
  if (!a || a.providerId !== providerId) return fail("ASSIGNMENT_NOT_FOUND", `no assignment ${msg.assignmentId} for this provider`);
  resultArrived(app, msg.assignmentId);
  if (!(await loseAssignment(app, msg.assignmentId, "error", msg.code))) {
    return fail("LEASE_LOST", `assignment ${msg.assignmentId} is no longer live`);
  }
  await app.db.prisma.provider.update({ where: { id: providerId }, data: { tasksFailed: { increment: 1 } } });
  return { ok: true };
}
