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
import type { SqlClient } from "../db/database";
import type { LeadKind } from "../db/group-commit";
import { Prisma } from "../db/generated/client";
import { jsonRows } from "../db/json-rows";
import { blobLockKey, insertBlobRow, insertBlobRows, pinLock } from "../blobs/pin-lock";
import { settlementTransfer, transfersGoing, TransfersRefused } from "../ledger";
import { calibrationOf, compareOptionsFor } from "../models/calibration";
import type { ModelRow } from "../models/row";
import type { AloneSettlement } from "../tasks/alone-settlement";
import { LIVE_STATUS_IN } from "../tasks/statuses";
import { completedTaskRow, settleAcceptedTask, settlementOf, type SettleInput } from "../settlement/settle-task";
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
  /**
   * The output's bytes where the store keeps blobs of its size in the database (BlobStore.inlineWrite
   * said so): this statement stores them (blobs/pin-lock.ts insertBlobRow). Else the caller stored
   * them, and pins them after (ensurePinnedBlob).
   */
  inlineOutput?: Uint8Array;
}

/** What the settled result changed: the provider's counts, and when its task was submitted. */
export interface AloneSettled {
  stats: ProviderStats[];
  createdAtMs: number;
}

/** The result completed, accepted and settled in one statement; undefined, with nothing written but the blob, when its task is not as its dispatch left it. */
export async function settleAlone(tx: SqlClient, s: AloneSettlement, model: ModelRow, r: AloneResult, opts: { refusalAborts?: true } = {}): Promise<AloneSettled | undefined> {
  const v = s.verification;
  const solo = joinsSoloWindow(v);
  const leading = Prisma.sql`
    ${r.inlineOutput ? Prisma.sql`alone_blob AS (${insertBlobRow(r.outputSha256, r.inlineOutput)}),` : Prisma.empty}
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
      WHERE id = ${r.assignmentId} AND status ${LIVE_STATUS_IN} AND price = ${s.price}
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
    ...settlementInput(s, model, r),
    leading,
    when,
    returning,
    alongside: (cost) => [trust, completedTaskRow(r.taskId, cost, r, when)],
    ...opts,
  });
  if (settled.skipped) return undefined;
  const rows = (settled.rows ?? []) as Array<ProviderStats & { createdAtMs: number | string }>;
  return { stats: rows.map(({ createdAtMs, ...stats }) => stats), createdAtMs: Number(rows[0]?.createdAtMs ?? Date.now()) };
}

/** What the judge would settle a result judged alone with: its one execution accepted as it came, its price paid 80/15/5 out of the task's hold. */
const settlementInput = (s: AloneSettlement, model: ModelRow, r: AloneResult): SettleInput => ({
  task: { id: r.taskId, requesterId: s.requesterId, escrowHeld: s.held, inputSha256: s.inputSha256, verification: s.verification },
  model,
  winners: [{ assignmentId: r.assignmentId, providerId: r.providerId, providerAccountId: s.accountId, backend: s.backend, price: s.price }],
  outputDigest: r.outputDigest,
  compare: compareOptionsFor(calibrationOf(model), s.verification.argmax),
  executions: [{ providerId: r.providerId, backend: s.backend, verdict: "accepted" }],
  qa: { kind: "user", check: checkOf("user", s.verification), recheck: "none" },
});

/** A result judged alone, as a group-commit lead (db/group-commit.ts): what it settles with, its model, the result. */
export interface AloneLead {
  settlement: AloneSettlement;
  model: ModelRow;
  result: AloneResult;
}

/**
 * Results judged alone as group-commit leads: a batch's (db/group-commit.ts) settled by one
 * statement (settleAloneMany), where each took one of its own — under load a batch held half a
 * dozen, each a round trip the batch waited for in turn.
 */
export const aloneLeads: LeadKind<AloneLead, AloneSettled | undefined> = {
  one: (tx, l) => settleAlone(tx, l.settlement, l.model, l.result),
  many: settleAloneMany,
  // Committed by itself (a lone result): a refused settlement must then write nothing at all.
  autocommit: (db, l) => settleAlone(db, l.settlement, l.model, l.result, { refusalAborts: true }),
};

/**
 * settleAlone for several results, one statement: each writes what settleAlone writes, under the
 * same checks, and is answered undefined (nothing of it written but its output blob) where they
 * fail. The statement's text is the same whatever their number (arrays), so PostgreSQL keeps it
 * prepared. What several of them change together is summed, as several statements would leave it:
 * an Account row (the treasury, a requester, a provider's operator: ledger/transfer.ts
 * transfersGoing), a provider's count, a pair's solo count. Throws TransfersRefused when a guard
 * refused the money's move (the caller rolls back, and settles each alone to learn why).
 */
export async function settleAloneMany(tx: SqlClient, leads: readonly AloneLead[]): Promise<Array<AloneSettled | undefined>> {
  const units = leads.map(({ settlement: s, model, result: r }) => ({ s, r, solo: joinsSoloWindow(s.verification), ...settlementOf(settlementInput(s, model, r)) }));
  const inline = new Map(units.flatMap(({ r }) => (r.inlineOutput ? [[r.outputSha256, r.inlineOutput] as const] : [])));
  const col = <T>(f: (u: (typeof units)[number]) => T) => units.map(f);
  const now = new Date();
  const transfers = transfersGoing(
    units.map((u) => settlementTransfer(u.payment).transfer),
    Prisma.sql`alone_done`,
  );
  const [row] = await tx.$queryRaw<Array<{ done: string | Array<{ n: number; createdAtMs: number | string }> | null; stats: string | ProviderStats[] | null; moved: boolean }>>`
    WITH u AS (
      SELECT * FROM unnest(${col((u) => u.r.taskId)}::text[], ${col((u) => u.s.requesterId)}::text[], ${col((u) => u.s.held.toString())}::bigint[],
                           ${col((u) => u.r.assignmentId)}::text[], ${col((u) => u.s.price.toString())}::bigint[], ${col((u) => u.r.providerId)}::text[],
                           ${col((u) => u.s.backend)}::text[], ${col((u) => String(u.solo))}::boolean[], ${col((u) => u.r.outputSha256)}::text[],
                           ${col((u) => u.r.outputDigest)}::text[], ${col((u) => JSON.stringify(u.r.outputMeta))}::jsonb[],
                           ${col((u) => JSON.stringify(u.r.timings))}::jsonb[], ${col((u) => u.cost.toString())}::bigint[],
                           ${col((u) => JSON.stringify(u.receipt))}::jsonb[], ${col((u) => blobLockKey(u.r.outputSha256).toString())}::bigint[])
        WITH ORDINALITY AS u(task, requester, held, assignment, price, provider, backend, solo, "outSha", "outDigest", "outMeta", timings, cost, receipt, pin, n)
    ),
    alone_blob AS (${insertBlobRows(inline)}),
    alone_task AS (
      SELECT t.id, t."createdAt", t."requesterId", t.status, t.wanted, t.dispatched, t."escrowHeld"
      FROM "Task" t, (SELECT count(pg_advisory_xact_lock_shared(pin)) FROM u) AS pins WHERE t.id IN (SELECT task FROM u)
      ORDER BY t.id FOR UPDATE OF t
    ),
    alone_ok AS (
      SELECT u.n FROM u JOIN alone_task t ON t.id = u.task
      WHERE t."requesterId" = u.requester AND t.status IN ('assigned', 'running') AND t.wanted = 1 AND t.dispatched = 1 AND t."escrowHeld" = u.held
    ),
    alone_done AS (
      UPDATE "Assignment" a
      SET status = 'completed', "outputSha256" = u."outSha", "outputDigest" = u."outDigest", "outputMeta" = u."outMeta", timings = u.timings,
          "completedAt" = ${now}, verdict = 'accepted', solo = u.solo
      FROM u
      WHERE a.id = u.assignment AND a.status ${LIVE_STATUS_IN} AND a.price = u.price AND u.n IN (SELECT n FROM alone_ok)
        AND NOT EXISTS (SELECT 1 FROM "Assignment" x WHERE x."taskId" = u.task AND x.id <> u.assignment AND x.status IN ('assigned', 'running', 'completed'))
      RETURNING u.n, u.task
    ),
    ${transfers.ctes},
    alone_completed AS (
      UPDATE "Task" t
      SET status = 'completed', cost = u.cost, "escrowHeld" = 0, receipt = u.receipt, "outputSha256" = u."outSha", "outputMeta" = u."outMeta",
          "outputDigest" = u."outDigest", "completedAt" = ${now}, "updatedAt" = ${now}
      FROM u WHERE t.id = u.task AND u.n IN (SELECT n FROM alone_done)
    ),
    alone_trust AS (
      INSERT INTO "ProviderTrust" ("providerId", backend, solo, "updatedAt")
      SELECT u.provider, u.backend, sum(CASE WHEN u.solo THEN 1 ELSE 0 END)::int, ${now}::timestamp(3) FROM u
      WHERE u.n IN (SELECT n FROM alone_done) GROUP BY u.provider, u.backend
      ON CONFLICT ("providerId", backend) DO UPDATE SET solo = "ProviderTrust".solo + EXCLUDED.solo, "updatedAt" = EXCLUDED."updatedAt"
    ),
    alone_counted AS (
      UPDATE "Provider" p SET "tasksCompleted" = p."tasksCompleted" + c.k
      FROM (SELECT u.provider, count(*)::int AS k FROM u WHERE u.n IN (SELECT n FROM alone_done) GROUP BY u.provider) c
      WHERE p.id = c.provider
      RETURNING p.id, p.reputation, p."tasksCompleted", p."tasksRejected", p."tasksFailed"
    )
    SELECT (SELECT json_agg(json_build_object('n', d.n, 'createdAtMs', floor(extract(epoch FROM t."createdAt") * 1000)::bigint))
            FROM alone_done d JOIN alone_task t ON t.id = d.task) AS done,
           (SELECT json_agg(c) FROM alone_counted c) AS stats,
           ${transfers.moved} AS moved`;
  if (!row?.moved) throw new TransfersRefused(leads.length);
  const stats = new Map(jsonRows(row.stats).map((p) => [p.id, p]));
  const done = new Map(jsonRows(row.done).map((d) => [Number(d.n), Number(d.createdAtMs)]));
  return units.map((u, i) => {
    const createdAtMs = done.get(i + 1);
    const mine = stats.get(u.r.providerId);
    return createdAtMs === undefined ? undefined : { stats: mine ? [mine] : [], createdAtMs };
  });
}
