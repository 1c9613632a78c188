/**
 * Reputation: a lower confidence bound on the valid rate of a provider's checked results, with
 * decay so that old behaviour fades. Unchecked (solo) results are not evidence and do not count.
 *
 * Evidence is a pair of decayed counts (valid, invalid): each new verdict multiplies both by
 * REPUTATION_DECAY (half-life ≈ 34 verdicts) and adds 1 to one of them. The score is the Wilson
 * score interval's lower bound at z = 1.645 (one-sided 95%): 0 with no evidence, near the valid
 * rate with much of it, and a few invalid results weigh heavily while evidence is thin.
 */
export const REPUTATION_DECAY = 0.98;
export const REPUTATION_Z = 1.645;

export interface ReputationEvidence {
  validWeight: number;
  invalidWeight: number;
}

export function wilsonLowerBound(valid: number, total: number, z = REPUTATION_Z): number {
  // No valid evidence: the bound is exactly 0 (the formula below leaves ~1e-17 of rounding for some totals).
  if (total <= 0 || valid <= 0) return 0;
  const phat = valid / total;
  const z2 = z * z;
  const centre = phat + z2 / (2 * total);
  const margin = z * Math.sqrt((phat * (1 - phat) + z2 / (4 * total)) / total);
  return Math.max(0, Math.min(1, (centre - margin) / (1 + z2 / total)));
}

export function addVerdict(e: ReputationEvidence, valid: boolean): ReputationEvidence {
  return {
    validWeight: e.validWeight * REPUTATION_DECAY + (valid ? 1 : 0),
    invalidWeight: e.invalidWeight * REPUTATION_DECAY + (valid ? 0 : 1),
  };
}

export const reputationScore = (e: ReputationEvidence): number => wilsonLowerBound(e.validWeight, e.validWeight + e.invalidWeight);
