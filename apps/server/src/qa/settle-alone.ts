/**
 * A result judged alone (qa/judge.ts `judgedAlone`: a user's task run once unchecked, `mode: none`
 * or an `auto` task's `solo`/`single` plan) completed, accepted
 * and settled by one statement, where the general way takes two (the result statement, then the
 * settlement's). Under load each round trip inside a group-commit batch waits its turn behind the
 * event loop's queue (~3 ms, bench/statement-latency.ts), and the batch is serial: a round trip
 * saved per `none` result is throughput.
 *
 * The statement knows what the judge would decide — the one execution is accepted as it came, a
 * solo verdict, its price paid 80/15/5 out of the task's hold — and checks, under the task's lock,
 * that the task is still as the dispatch that placed it left it (`AloneSettlement`): open, this
 * requester's, holding what it held, wanting one execution, with no other. When anything differs
 * (the lease lost, the task cancelled, retried or re-priced), it writes nothing but the output blob
 * and answers undefined: the caller goes the general way, which decides as it always did.
 *
 * The task is found by its id alone and its conditions checked on the row locked: with them in the
 * lookup, PostgreSQL's plan for the prepared statement scanned another index (kind, or dispatched
 * and wanted) instead of the primary key, on every user task (auto_explain, bench/throughput.ts at
 * 32 clients).
 */
import type { Tx } from "../db/database";
import { Prisma } from "../db/generated/client";
import { pinLock } from "../blobs/pin-lock";
import { calibrationOf, compareOptionsFor } from "../models/calibration";
import type { ModelRow } from "../models/row";
import type { AloneSettlement } from "../tasks/alone-settlement";
import { completedTaskRow, settleAcceptedTask } from "../settlement/settle-task";
import { checkOf, joinsSoloWindow } from "./judge";
import { soloVerdict, type ProviderStats } from "./verdicts";

export interface AloneResult {
  assignmentId: string;
  taskId: string;
  providerId: string;
  outputSha256: string;
  outputDigest: string;
  outputMeta: Record<string, { dtype: string; dims: number[] }>;
  timings: unknown;
  /** The output's write (BlobStore.inlineWrite): this statement stores it. Else the caller stored it, and pins it after (ensurePinnedBlob). */
  inlineOutput?: Prisma.Sql;
}

/** What the settled result changed: the provider's counts, and when its task was submitted. */
export interface AloneSettled {
  stats: ProviderStats[];
  createdAtMs: number;
}

/** The result completed, accepted and settled in one statement; undefined, with nothing written but the blob, when its task is not as its dispatch left it. */
export async function settleAlone(tx: Tx, s: AloneSettlement, model: ModelRow, r: AloneResult): Promise<AloneSettled | undefined> {
  const v = s.verification;
  const solo = joinsSoloWindow(v);
  const leading = Prisma.sql`
    ${r.inlineOutput ? Prisma.sql`alone_blob AS (${r.inlineOutput}),` : Prisma.empty}
    alone_task AS (
      SELECT t.id, t."createdAt", t."requesterId", t.status, t.wanted, t.dispatched, t."escrowHeld"
      FROM "Task" t, (SELECT ${pinLock(r.outputSha256)}) AS pin WHERE t.id = ${r.taskId}
      FOR UPDATE OF t
    ),
    alone_ok AS (
      SELECT 1 FROM alone_task
      WHERE "requesterId" = ${s.requesterId} AND status IN ('assigned', 'running') AND wanted = 1 AND dispatched = 1 AND "escrowHeld" = ${s.held}
    ),
    alone_done AS (
      UPDATE "Assignment"
      SET status = 'completed', "outputSha256" = ${r.outputSha256}, "outputDigest" = ${r.outputDigest},
          "outputMeta" = ${JSON.stringify(r.outputMeta)}::jsonb, timings = ${JSON.stringify(r.timings)}::jsonb, "completedAt" = ${new Date()},
          verdict = 'accepted', solo = ${solo}
      WHERE id = ${r.assignmentId} AND status IN ('assigned', 'running') AND price = ${s.price}
        AND EXISTS (SELECT 1 FROM alone_ok)
        AND NOT EXISTS (SELECT 1 FROM "Assignment" x WHERE x."taskId" = ${r.taskId} AND x.id <> ${r.assignmentId} AND x.status IN ('assigned', 'running', 'completed'))
      RETURNING id
    )`;
  const when = Prisma.sql`EXISTS (SELECT 1 FROM alone_done)`;
  // The verdict is alone_done's own (one row is updated once per statement); the pair's and the
  // provider's counts are soloVerdict's, under the same condition.
  const judged = { assignmentId: r.assignmentId, taskId: r.taskId, providerId: r.providerId, accountId: s.accountId, backend: s.backend, price: s.price };
  const {
    alongside: [, trust],
    returning,
  } = soloVerdict(judged, solo, { when, returningAlso: Prisma.sql`, (SELECT floor(extract(epoch FROM "createdAt") * 1000)::bigint FROM alone_task) AS "createdAtMs"` });
  const settled = await settleAcceptedTask(tx, {
    task: { id: r.taskId, requesterId: s.requesterId, escrowHeld: s.held, inputSha256: s.inputSha256, verification: v },
    model,
    winners: [{ assignmentId: r.assignmentId, providerId: r.providerId, providerAccountId: s.accountId, backend: s.backend, price: s.price }],
    outputDigest: r.outputDigest,
    compare: compareOptionsFor(calibrationOf(model), v.argmax),
    executions: [{ providerId: r.providerId, backend: s.backend, verdict: "accepted" }],
    qa: { kind: "user", check: checkOf("user", v), recheck: "none" },
    leading,
    when,
    returning,
    alongside: (cost) => [trust, completedTaskRow(r.taskId, cost, r, when)],
  });
  if (settled.skipped) return undefined;
  const rows = (settled.rows ?? []) as Array<ProviderStats & { createdAtMs: number | string }>;
  return { stats: rows.map(({ createdAtMs, ...stats }) => stats), createdAtMs: Number(rows[0]?.createdAtMs ?? Date.now()) };
}
