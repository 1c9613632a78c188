import { auditExpected, type QaPolicy } from "./policy";

/** What a result's plan depends on, as its slot's ref (scheduler/provider-registry.ts AssignmentRef) carries it. */
export interface ResultPlanFacts {
  /**
   * The task's judge may ask for the server's reference run (replicas to compare, a re-check, or
   * `auto`'s referee plan, qa/judge.ts mayNeedReference).
   */
  mayNeedReference?: boolean;
  /** Replicas of one task this instance placed, in one claim or several (scheduler/replica-placements.ts): one object, shared by their refs. */
  replicas?: PlacedReplicas;
}

export interface PlacedReplicas {
  /** Their results that have not arrived. A result that leaves one out is not its task's last: its judge will not run. */
  out: number;
  /** Placed so far (by one claim, or by several of this instance: scheduler/replica-placements.ts). */
  placed: number;
  /** Replicas the task still wants placed: while any are, no result is its task's last. */
  unplaced: number;
  /**
   * Whether any of their (provider, backend) pairs was trusted when the claim placed them: a hint of
   * the audit share the judge will apply (policy.ts refereeAuditProbability), which reads the
   * pairs' records again, under lock, when it judges.
   */
  anyTrusted: boolean;
  /** The task's input: what the reference run runs. */
  inputSha256: string;
}

/** How a result's group-commit unit is prepared (handle-result.ts). */
export interface ResultPlan {
  /** The unit runs in a savepoint of its own (db/group-commit.ts): its judge may throw for the reference run. */
  savepoint: boolean;
  /** The reference run of this input starts before the unit is queued: its judge is expected to ask for it. */
  referenceFirst?: string;
  /** Its task is expected short of its replicas after it (others are out, or still to place): nothing to judge (short-result.ts). */
  short?: true;
}

/**
 * How a result's unit is prepared. The server's reference run never runs inside the transaction;
 * a judge that asks for it rolls its unit back (handle-result.ts NeedReference), so a unit whose
 * judge may ask takes a savepoint (two statements more) to roll back alone — and then runs a second
 * time. Replicas placed together (`replicas`) know better:
 *
 * - before the last of them is in, or while replicas are left to place, the task is still short:
 *   nothing is judged, no savepoint, and the result may be written with others' (`short`);
 * - the last one's judge audits their agreement when its draw falls below the audit share of the
 *   pairs' trust. Where the claim's hint (`anyTrusted`) says it will, the reference run starts at
 *   once and the unit runs once, with it; otherwise no audit is expected, and the unit takes no
 *   savepoint. A wrong hint (a pair's trust changed since the claim) or a dispute between the
 *   replicas still makes the judge ask: that unit's throw sends its batch to the
 *   savepoint-per-unit transaction, which is correct, only slower, and rare.
 *
 * Counts the result in: called once per result, in the order the results' units are queued.
 */
export function planResult(ref: ResultPlanFacts, auditDraw: number, policy: QaPolicy): ResultPlan {
  if (!ref.mayNeedReference) return { savepoint: false };
  const r = ref.replicas;
  if (!r) return { savepoint: true };
  r.out -= 1;
  if (r.out > 0 || r.unplaced > 0) return { savepoint: false, short: true };
  if (!auditExpected(policy, auditDraw, r.anyTrusted)) return { savepoint: false };
  return { savepoint: false, referenceFirst: r.inputSha256 };
}
