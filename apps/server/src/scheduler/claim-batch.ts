/**
 * One claim's database work — a page of the queue (Dispatcher.claimPage) or a submit placing its own
 * task (Dispatcher.placeAtSubmit) — in as few statements as the page allows:
 *
 * - the candidates' facts (qa/candidates.ts loadCandidateFacts) are read once per provider per
 *   claim: the page's likely candidates in one statement up front (`factsOf`), the odd one missed in
 *   one more;
 * - the placements are written together, in one statement at the end (`flush`): every assignment
 *   and every claimed task's dispatch count and decided plan.
 *
 * Until the flush, the executions placed by this claim are not in the database, yet they are at
 * risk for their providers' accounts: `factsOf` adds them to the accounts' `atRisk`, as a read after
 * each insert did (withinStake weighs it).
 */
import type { SqlClient } from "../db/database";
import { type CandidateFacts, loadCandidateFacts } from "../qa/candidates";
import type { StoredVerification } from "../tasks/verification";

/** An execution placed by a claim, not written yet. */
export interface PlacedExecution {
  id: string;
  taskId: string;
  providerId: string;
  accountId: string;
  backend: string;
  price: bigint;
}

export class ClaimBatch {
  private readonly facts = new Map<string, CandidateFacts>();
  /** The prices of executions placed by this claim, by provider account. */
  private readonly placedRisk = new Map<string, bigint>();
  private readonly executions: PlacedExecution[] = [];
  /** Each placed task's new executions and, on a first dispatch, its decided plan. */
  private readonly tasks = new Map<string, { n: number; plan?: { wanted: number; verification: StoredVerification } }>();

  /** The providers' facts, read in one statement for those this claim has not read yet, with its own placements at risk. */
  async factsOf(tx: SqlClient, providerIds: readonly string[]): Promise<Map<string, CandidateFacts>> {
    const missing = [...new Set(providerIds.filter((id) => !this.facts.has(id)))];
    if (missing.length > 0) for (const [id, f] of await loadCandidateFacts(tx, missing)) this.facts.set(id, f);
    const out = new Map<string, CandidateFacts>();
    for (const id of providerIds) {
      const f = this.facts.get(id);
      if (!f) continue;
      const placed = this.placedRisk.get(f.identity.account) ?? 0n;
      out.set(id, placed === 0n ? f : { ...f, atRisk: f.atRisk + placed });
    }
    return out;
  }

  /** A task's placement: its new executions (maybe none) and, on a first dispatch, its decided plan. Written by `flush`. */
  place(taskId: string, executions: PlacedExecution[], plan?: { wanted: number; verification: StoredVerification }): void {
    const t = this.tasks.get(taskId) ?? { n: 0 };
    t.n += executions.length;
    if (plan) t.plan = plan;
    this.tasks.set(taskId, t);
    for (const e of executions) {
      this.executions.push(e);
      this.placedRisk.set(e.accountId, (this.placedRisk.get(e.accountId) ?? 0n) + e.price);
    }
  }

  /** Whether this claim placed anything to write. */
  get empty(): boolean {
    return this.tasks.size === 0;
  }

  /**
   * Writes every placement in one statement: the assignments (leased for `leaseMs` from now), each
   * task's dispatch count (`assigned` once a queued task has one) and decided plan.
   */
  async flush(tx: SqlClient, leaseMs: number): Promise<void> {
    if (this.empty) return;
    const now = new Date();
    const es = this.executions;
    const ts = [...this.tasks];
    await tx.$executeRaw`
      WITH inserted AS (
        INSERT INTO "Assignment" (id, "taskId", "providerId", status, backend, price, "leaseUntil")
        SELECT a.id, a.task, a.provider, 'assigned', a.backend, a.price::bigint, ${new Date(now.getTime() + leaseMs)}
        FROM unnest(${es.map((e) => e.id)}::text[], ${es.map((e) => e.taskId)}::text[], ${es.map((e) => e.providerId)}::text[],
                    ${es.map((e) => e.backend)}::text[], ${es.map((e) => e.price.toString())}::text[]) AS a(id, task, provider, backend, price)
      )
      UPDATE "Task" t
      SET dispatched = t.dispatched + p.n,
          status = CASE WHEN t.status = 'queued' AND p.n > 0 THEN 'assigned' ELSE t.status END,
          "updatedAt" = CASE WHEN p.n > 0 THEN ${now} ELSE t."updatedAt" END,
          wanted = COALESCE(NULLIF(p.wanted, -1), t.wanted),
          verification = COALESCE(NULLIF(p.verification, '')::jsonb, t.verification)
      FROM unnest(${ts.map(([id]) => id)}::text[], ${ts.map(([, t]) => t.n)}::int[], ${ts.map(([, t]) => t.plan?.wanted ?? -1)}::int[],
                  ${ts.map(([, t]) => (t.plan ? JSON.stringify(t.plan.verification) : ""))}::text[]) AS p(id, n, wanted, verification)
      WHERE t.id = p.id`;
  }
}
