/**
 * Grouping replica results by agreement, for redundant verification.
 *
 * Agreement under a tolerance is not transitive: A may agree with B and B with C while A and C
 * differ (each pair a little under the tolerance, the ends over it). So "the set of results that
 * agree" is not well defined, and a rule has to be chosen. The rule here: **each group is
 * represented by its first member** (the earliest result, in the order given), and a result joins
 * the first group whose representative it agrees with, else starts a new group. Every member
 * agrees with its group's representative (though not necessarily with the other members), the
 * groups are disjoint, and the outcome depends only on the order of `results` — callers pass them
 * in a stable order (e.g. by assignment creation) so that a verdict can be recomputed.
 */
import { compareTensorMaps, type CompareOptions } from "./comparator";
import { type RawTensor, validateRawTensor } from "./tensor";

export interface ReplicaResult {
  outputs: Record<string, RawTensor>;
}

function isWellFormed(outputs: Record<string, RawTensor>): boolean {
  try {
    for (const [name, t] of Object.entries(outputs)) validateRawTensor(t, name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Partitions `results` into groups of indices (see the module comment for the rule). A result
 * whose outputs are malformed (fail validateRawTensor) agrees with nothing: it forms its own group.
 */
export function groupByAgreement<T extends ReplicaResult>(results: readonly T[], opts: CompareOptions = {}): number[][] {
  const groups: number[][] = [];
  const open: number[][] = []; // groups that can take members (those with a well-formed representative)
  results.forEach((r, i) => {
    if (!isWellFormed(r.outputs)) {
      groups.push([i]);
      return;
    }
    const home = open.find((g) => compareTensorMaps(results[g[0]!]!.outputs, r.outputs, opts).equal);
    if (home) home.push(i);
    else {
      const g = [i];
      groups.push(g);
      open.push(g);
    }
  });
  return groups;
}

/**
 * The largest agreeing group, if it has at least `quorum` members (ties → the group formed first).
 * `winners` are its indices, `losers` all other indices, both ascending; null when no group
 * reaches the quorum (the caller adds a tie-breaker or fails the task).
 */
export function findMajority<T extends ReplicaResult>(results: readonly T[], quorum: number, opts: CompareOptions = {}): { winners: number[]; losers: number[] } | null {
  if (!Number.isInteger(quorum) || quorum < 1) throw new RangeError(`quorum must be a positive integer, got ${quorum}`);
  let best: number[] | undefined;
  for (const g of groupByAgreement(results, opts)) if (g.length >= quorum && g.length > (best?.length ?? 0)) best = g;
  if (!best) return null;
  const winners = new Set(best);
  return { winners: best, losers: results.map((_, i) => i).filter((i) => !winners.has(i)) };
}
