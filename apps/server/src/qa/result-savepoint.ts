import { auditPossible, type QaPolicy } from "./policy";

/** What a result's savepoint depends on, as its slot's ref (scheduler/provider-registry.ts AssignmentRef) carries it. */
export interface SavepointFacts {
  /**
   * The task's judge may ask for the server's reference run (replicas to compare, a re-check, or
   * `auto`'s referee plan, qa/judge.ts mayNeedReference).
   */
  mayNeedReference?: boolean;
  /**
   * Replicas of one task this instance placed in one claim share this count of those whose results
   * have not arrived. A result that leaves one of them out is not its task's last: its judge will
   * not run, so it needs no savepoint.
   */
  replicas?: { out: number };
}

/**
 * Whether a result's group-commit unit takes a savepoint of its own (db/group-commit.ts): two
 * statements more, worth it only where the unit's judge may ask for the server's reference run,
 * which rolls the unit back (handle-result.ts NeedReference). Replicas placed together (`replicas`):
 * none before the last of them is in — the task is still short, nothing is judged — and then one
 * only when the result's audit draw may lead to an audit. A dispute between the replicas still asks,
 * rarely: that unit's throw sends its batch to the savepoint-per-unit transaction, which is
 * correct, only slower. Counts the result in: called once per result, in the order the results'
 * units are queued.
 */
export function savepointFor(ref: SavepointFacts, auditDraw: number, policy: QaPolicy): boolean {
  if (!ref.mayNeedReference) return false;
  if (!ref.replicas) return true;
  ref.replicas.out -= 1;
  return ref.replicas.out <= 0 && auditPossible(policy, auditDraw);
}
