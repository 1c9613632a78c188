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
 *   re-check of its most recent `recheckLimit` unchecked (solo) results. Trust then also waits for
 *   `checksPerInvalid` lifetime checked results per lifetime invalid one (a lifetime invalid rate
 *   of at most 1 / checksPerInvalid), so a pair that cheats now and then does not earn it back in
 *   `trustAfter` checks.
 * - When a trusted pair is caught, the other pairs of its operator (and, with `siblings: network`,
 *   of its network prefix) lose their streak: a swarm's sleepers cannot be told apart.
 * - Canary tasks (known answers) are mixed into the stream at `canaryRate` per user task.
 * - Referee audits: the server re-runs `refereeAuditRate` of the accepted results that providers
 *   agreed on (replicas that agree, a re-check confirming a solo result) itself, and an agreement
 *   its reference run contradicts is invalid for every provider in it.
 */
import { sameOperator, type Identity } from "./quorum";

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
  /**
   * Lifetime checked results a pair must have per lifetime invalid verdict before it is trusted
   * (again); 0 turns the rule off. Absent: the default (so a configuration written before this
   * parameter existed keeps its meaning).
   */
  checksPerInvalid?: number;
  /**
   * Share of accepted results that providers agreed on which the server's own reference run
   * re-checks before delivery (drawRefereeAudit), when at least one of them is trusted; 0 turns
   * referee audits off. Absent: the default.
   */
  refereeAuditRate?: number;
  /**
   * The same share when none of the agreeing pairs is trusted (a network's cold start, newcomers
   * checking newcomers): agreement between strangers with no record proves least. Absent: the default.
   */
  refereeAuditUntrusted?: number;
  /**
   * Who shares fate with a pair caught with a wrong result (sharesFate, afterSiblingCaught): `operator`
   * — the other pairs of its operator (account, or accounts sharing a wallet link); `network` — also
   * every pair on its network prefix; `off`. Absent: the default.
   */
  siblings?: SiblingScope;
}

export const SIBLING_SCOPES = ["off", "operator", "network"] as const;
export type SiblingScope = (typeof SIBLING_SCOPES)[number];

export const DEFAULT_QA_POLICY: Required<QaPolicy> = {
  trustAfter: 20,
  auditStart: 1,
  auditFloor: 0.05,
  auditHalfLife: 10,
  canaryRate: 0.01,
  recheckLimit: 200,
  slashMultiple: 10n,
  minSlash: 10n,
  checksPerInvalid: 100,
  refereeAuditRate: 0.02,
  refereeAuditUntrusted: 0.5,
  siblings: "network",
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

/**
 * Valid checked results since the pair became trusted; negative while it is not. A pair is trusted
 * once it has `trustAfter` valid checked results in a row AND `checksPerInvalid` lifetime checked
 * results per lifetime invalid one: whichever came later started its trust.
 */
export function trustedChecks(t: PairTrust, p: QaPolicy): number {
  const needed = t.invalid * (p.checksPerInvalid ?? DEFAULT_QA_POLICY.checksPerInvalid);
  return Math.min(t.streak - p.trustAfter, t.checked - needed);
}

export const isTrusted = (t: PairTrust, p: QaPolicy): boolean => trustedChecks(t, p) >= 0;

/** The probability that this pair's next execution is checked (1 while it is not trusted). */
export function checkProbability(t: PairTrust, p: QaPolicy): number {
  const since = trustedChecks(t, p);
  if (since < 0) return 1;
  const decayed = p.auditStart * 0.5 ** (since / p.auditHalfLife);
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
  const next = { streak: t.streak + 1, solo: t.solo, checked: t.checked + 1, invalid: t.invalid };
  // Becoming trusted starts a new solo window (what a later re-check would look at).
  return trustedChecks(next, p) === 0 ? { ...next, solo: 0 } : next;
}

/**
 * Whether catching a pair (its record just before the invalid verdict) makes its siblings share
 * its fate: it was trusted — a sleeper waking up, not a newcomer failing its first checks — and
 * `siblings` is not `off`.
 */
export const catchResetsSiblings = (before: PairTrust, p: QaPolicy): boolean => (p.siblings ?? DEFAULT_QA_POLICY.siblings) !== "off" && isTrusted(before, p);

/**
 * Whether a provider (`other`) is a sibling of one just caught (`caught`): the same operator, or —
 * with `siblings: network` — the same network prefix.
 */
export function sharesFate(caught: Identity, other: Identity, p: QaPolicy): boolean {
  const scope = p.siblings ?? DEFAULT_QA_POLICY.siblings;
  if (scope === "off") return false;
  if (sameOperator(caught, other)) return true;
  return scope === "network" && caught.net !== undefined && caught.net === other.net;
}

/**
 * The record of a pair that shares fate with one just caught (catchResetsSiblings, sharesFate): it
 * loses its streak — replicated again until it has `trustAfter` valid checks in a row, its audits
 * then starting over at `auditStart` — without an invalid verdict, a slash or re-checks of its
 * own. A swarm caught in one member cannot go on cheating in the others while their audits are
 * down at the floor; an honest neighbour pays `trustAfter` checked executions.
 */
export const afterSiblingCaught = (t: PairTrust): PairTrust => (t.streak === 0 ? t : { ...t, streak: 0 });

/** The record after a result was accepted alone, unchecked. */
export const afterSolo = (t: PairTrust): PairTrust => ({ ...t, solo: t.solo + 1 });

/** Whether to mix a canary into the stream next to a user task (`random` uniform in [0, 1)). */
export const drawCanary = (p: QaPolicy, random: number): boolean => random < p.canaryRate;

/**
 * The probability that the server's reference run re-checks an accepted result that providers
 * agreed on, before it is delivered: `refereeAuditRate`, or `refereeAuditUntrusted` when none of
 * the agreeing pairs (`agreeing`: their records) is trusted. Agreement between replicas of
 * different operators is no proof when strangers collude (colluding accounts, a Sybil swarm on
 * many networks); a contradicted agreement is invalid for every provider in it.
 */
export function refereeAuditProbability(p: QaPolicy, agreeing: readonly PairTrust[]): number {
  return refereeAuditShare(
    p,
    agreeing.some((t) => isTrusted(t, p)),
  );
}

/** The audit share of an agreement in which some pair is trusted (`refereeAuditRate`), or none is (`refereeAuditUntrusted`). */
const refereeAuditShare = (p: QaPolicy, anyTrusted: boolean): number =>
  anyTrusted ? (p.refereeAuditRate ?? DEFAULT_QA_POLICY.refereeAuditRate) : (p.refereeAuditUntrusted ?? DEFAULT_QA_POLICY.refereeAuditUntrusted);

/**
 * Whether a draw audits an agreement whose pairs are as `anyTrusted` says (drawRefereeAudit with
 * their records summed up): handle-result.ts asks it as the result arrives, with the trust its
 * claim saw, to start the reference run before the judge asks for it (qa/result-plan.ts).
 */
export const auditExpected = (p: QaPolicy, random: number, anyTrusted: boolean): boolean => random < refereeAuditShare(p, anyTrusted);

/** Whether to referee-audit an agreement (`random` uniform in [0, 1); crypto in the server). */
export const drawRefereeAudit = (p: QaPolicy, random: number, agreeing: readonly PairTrust[]): boolean => random < refereeAuditProbability(p, agreeing);

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
export const stakeCovers = (stake: bigint, atRisk: bigint, price: bigint, p: QaPolicy): boolean => price === 0n || stake >= (atRisk + price) * p.slashMultiple;

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
