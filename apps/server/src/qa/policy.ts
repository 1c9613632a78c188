/**
 * Adaptive replication: how much checking each execution gets, decided per (provider, backend)
 * pair from its record. Pure functions over plain data — the dispatcher and the result path use
 * them against the database, and bench/qa-sim runs the very same functions over simulated
 * populations. The policy and the reasons for its defaults are in docs/QA.md.
 *
 * - A new pair's results are always replicated (compared with another provider's).
 * - `trustAfter` consecutive valid checked results make the pair trusted: it then runs alone,
 *   audited (replicated without its knowledge) with a probability that starts at `auditStart`
 *   and halves every `auditHalfLife` further valid checks, never below `auditFloor`.
 * - An invalid result resets the pair (streak 0: replicated again), slashes stake, and queues a
 *   re-check of its most recent `recheckLimit` unchecked (solo) results.
 * - Canary tasks (known answers) are mixed into the stream at `canaryRate` per user task.
 */
export interface QaPolicy {
  trustAfter: number;
  auditStart: number;
  auditFloor: number;
  auditHalfLife: number;
  canaryRate: number;
  recheckLimit: number;
  /** A wrong result costs its provider this multiple of the execution's price (capped by stake). */
  slashMultiple: bigint;
  /** The smallest slash, for wrong results on cheap work. */
  minSlash: bigint;
}

export const DEFAULT_QA_POLICY: QaPolicy = {
  trustAfter: 20,
  auditStart: 0.5,
  auditFloor: 0.05,
  auditHalfLife: 10,
  canaryRate: 0.01,
  recheckLimit: 200,
  slashMultiple: 10n,
  minSlash: 10n,
};

/** A pair's record. `streak`: consecutive valid checked results; `solo`: results accepted alone
 * since it last became trusted; `checked`/`invalid`: lifetime counts. */
export interface PairTrust {
  streak: number;
  solo: number;
  checked: number;
  invalid: number;
}

export const newPairTrust = (): PairTrust => ({ streak: 0, solo: 0, checked: 0, invalid: 0 });

export const isTrusted = (t: PairTrust, p: QaPolicy): boolean => t.streak >= p.trustAfter;

/** The probability that this pair's next execution is checked (1 while it is not trusted). */
export function checkProbability(t: PairTrust, p: QaPolicy): number {
  if (!isTrusted(t, p)) return 1;
  const decayed = p.auditStart * Math.pow(0.5, (t.streak - p.trustAfter) / p.auditHalfLife);
  return Math.min(1, Math.max(p.auditFloor, decayed));
}

/**
 * How the next execution on this pair is checked: `replicate` (untrusted: always), `audit`
 * (trusted, drawn for a check), or `solo` (trusted, runs alone). `random` is a uniform draw in
 * [0, 1); the caller owns the randomness (crypto in the server, seeded in the simulation).
 */
export type ExecutionPlan = "replicate" | "audit" | "solo";

export function planExecution(t: PairTrust, p: QaPolicy, random: number): ExecutionPlan {
  if (!isTrusted(t, p)) return "replicate";
  return random < checkProbability(t, p) ? "audit" : "solo";
}

/** The record after a checked result (replica, audit, canary or re-check) was judged. */
export function afterChecked(t: PairTrust, valid: boolean, p: QaPolicy): PairTrust {
  if (!valid) return { streak: 0, solo: 0, checked: t.checked + 1, invalid: t.invalid + 1 };
  const streak = t.streak + 1;
  // Becoming trusted starts a new solo window (what a later re-check would look at).
  return { streak, solo: streak === p.trustAfter ? 0 : t.solo, checked: t.checked + 1, invalid: t.invalid };
}

/** The record after a result was accepted alone, unchecked. */
export const afterSolo = (t: PairTrust): PairTrust => ({ ...t, solo: t.solo + 1 });

/** Whether to mix a canary into the stream next to a user task (`random` uniform in [0, 1)). */
export const drawCanary = (p: QaPolicy, random: number): boolean => random < p.canaryRate;

/** What a wrong result costs its provider: slashMultiple × price (at least minSlash), capped by its stake. */
export function slashAmount(price: bigint, stake: bigint, p: QaPolicy): bigint {
  const want = price * p.slashMultiple > p.minSlash ? price * p.slashMultiple : p.minSlash;
  return want < stake ? want : stake > 0n ? stake : 0n;
}

/**
 * Who receives a slash: a requester who was handed the wrong result (a solo result overturned by
 * a re-check) gets back what it paid, up to the slash; the treasury gets the rest.
 */
export function slashSplit(amount: bigint, requesterPaid: bigint): { toRequester: bigint; toTreasury: bigint } {
  const toRequester = requesterPaid < amount ? requesterPaid : amount;
  return { toRequester: toRequester > 0n ? toRequester : 0n, toTreasury: amount - (toRequester > 0n ? toRequester : 0n) };
}

/**
 * The stake a provider account must hold to take one more execution at `price` while executions
 * worth `atRisk` (sum of prices) are live: every live execution must be slashable in full.
 */
export const stakeCovers = (stake: bigint, atRisk: bigint, price: bigint, p: QaPolicy): boolean =>
  price === 0n || stake >= (atRisk + price) * p.slashMultiple;

/**
 * Orders candidate checkers (the other replicas of a replicated or audited execution, re-checks,
 * tie-breakers) trusted pairs first, keeping the scheduler's order within each group: new pairs
 * then cannot vouch for each other while trusted ones are available (colluders starting out
 * together are not paired with each other).
 */
export function preferTrusted<T>(candidates: readonly T[], trustOf: (c: T) => PairTrust, p: QaPolicy): T[] {
  const trusted: T[] = [];
  const rest: T[] = [];
  for (const c of candidates) (isTrusted(trustOf(c), p) ? trusted : rest).push(c);
  return [...trusted, ...rest];
}
