/**
 * The dispatcher's decisions, pure: which providers a claimed task's executions go to, from facts
 * read beforehand (the candidates the provider index offered, their pair trust, stake and operator
 * identity, one random draw). No SQL, no registry, no clock: the dispatcher (dispatcher.ts) reads
 * the facts inside its claiming transaction, asks here for a plan, then applies it (inserts the
 * assignments, reserves the slots). bench/qa-sim runs these same functions.
 */
import { priceFor } from "@stun/shared";
import type { CandidateFacts } from "../qa/candidates";
import { planExecution, preferTrusted, stakeCovers, type QaPolicy } from "../qa/policy";
import { pickDistinct, type Identity, type NetPolicy } from "../qa/quorum";
import type { ExecutionPlan, StoredVerification } from "../tasks/verification";

/** What a placement needs of a provider (the registry's LocalProvider has more). */
export interface Offer {
  id: string;
  accountId: string;
  backend: string;
  /** Flat price; an execution costs priceFor(offer, the model's units). */
  price: bigint;
  pricePerUnit?: bigint;
}

/** A provider the index offered, with what the database says of it. */
export interface Candidate<O extends Offer = Offer> {
  p: O;
  f: CandidateFacts;
}

/**
 * The candidates whose account stake covers one more execution at their price for a model of
 * `units` (free work needs no stake), with their facts — in the index's order. A candidate without
 * facts (its row gone) is left out.
 */
export function eligibleCandidates<O extends Offer>(offers: readonly O[], facts: ReadonlyMap<string, CandidateFacts>, policy: QaPolicy, units = 1n): Candidate<O>[] {
  const out: Candidate<O>[] = [];
  for (const p of offers) {
    const f = facts.get(p.id);
    if (!f) continue;
    if (!stakeCovers(f.stake, f.atRisk, priceFor(p, units), policy)) continue;
    out.push({ p, f });
  }
  return out;
}

/**
 * Up to `n` checkers among eligible candidates: of other operators than `taken` and than each
 * other (network prefixes by `net`), trusted pairs first, in the index's order within each group.
 */
export function chooseCheckers<C extends Candidate>(eligible: readonly C[], taken: readonly Identity[], n: number, policy: QaPolicy, net: NetPolicy): C[] {
  if (n <= 0) return [];
  return pickDistinct(
    preferTrusted(eligible, (c) => c.f.trust, policy),
    (c) => c.f.identity,
    taken,
    n,
    net,
  );
}

/**
 * The picks whose accounts' stake still covers them together: several picks may share an account
 * (its facts were read before any of them was inserted). Executions inserted by earlier rows of the
 * same claim are already in the facts (same transaction).
 */
export function withinStake<C extends Candidate>(picks: readonly C[], policy: QaPolicy, units = 1n): C[] {
  const added = new Map<string, bigint>();
  return picks.filter(({ p, f }) => {
    const extra = added.get(p.accountId) ?? 0n;
    const price = priceFor(p, units);
    if (!stakeCovers(f.stake, f.atRisk + extra, price, policy)) return false;
    added.set(p.accountId, extra + price);
    return true;
  });
}

/** Whether the task's executions are compared with one another (so need distinct operators). */
export const comparesExecutions = (kind: string, v: StoredVerification): boolean => kind !== "canary" && (v.mode === "auto" || v.mode === "redundant");

/** Whether a claimed task is an `auto` task's first dispatch, whose plan is still to decide. */
export const isFirstDispatch = (v: StoredVerification, dispatched: number): boolean => v.mode === "auto" && dispatched === 0 && v.single === undefined;

/** An `auto` task's first dispatch: its plan, the executions it wants, and who starts now. */
export interface FirstPlan<C extends Candidate = Candidate> {
  plan: ExecutionPlan;
  wanted: number;
  picks: C[];
  /** Replicas must share the lead's backend (the model's calibration). */
  backend?: string;
}

/**
 * The lead's half of an `auto` task's first plan (docs/QA.md § Plan): the lead is the first eligible
 * candidate, and its pair record with `draw` (uniform in [0, 1)) decides. A trusted pair may run
 * alone (`solo`: the plan is complete); else the plan needs checkers of other operators — on the
 * lead's backend when the model's calibration asks for same-backend quorums — and `sameOrigin` are
 * the lead's fellow candidates that may serve (no second look at the index when they suffice).
 * Undefined: nobody eligible to lead.
 */
export type LeadPlan<C extends Candidate> = { kind: "solo"; plan: FirstPlan<C> } | { kind: "checked"; lead: C; plan: "replicate" | "audit"; backend?: string; sameOrigin: C[] };

export function planLead<C extends Candidate>(eligible: readonly C[], draw: number, policy: QaPolicy, sameBackendQuorum: boolean): LeadPlan<C> | undefined {
  const lead = eligible[0];
  if (!lead) return undefined;
  const plan = planExecution(lead.f.trust, policy, draw);
  if (plan === "solo") return { kind: "solo", plan: { plan, wanted: 1, picks: [lead] } };
  const backend = sameBackendQuorum ? lead.p.backend : undefined;
  const sameOrigin = eligible.slice(1).filter((c) => !backend || c.p.backend === backend);
  return { kind: "checked", lead, plan, ...(backend ? { backend } : {}), sameOrigin };
}

/** What decides a checked first plan once its checkers were looked for. */
export interface CheckFacts<C extends Candidate> {
  /** Checkers of other operators free now (they start with the lead). */
  others: C[];
  /** Whether a provider of another operator that could check is registered at all, busy or idle. */
  checkerRegistered: boolean;
  /** Whether the server's reference run can check this model (qa/referee.ts canReferee). */
  refereeable: boolean;
  /** Whether the requester (allowSingle) or the operator (ALLOW_SINGLE) lets it run unchecked. */
  allowSingle: boolean;
  replicas: number;
}

/**
 * The rest of a checked first plan: replicas on providers of other operators (those free now start
 * now, the rest follow as providers free up); or, when no provider of another operator is registered
 * at all, the server's reference run (`referee`); or, where allowed, alone unchecked (`single`).
 * Otherwise the task waits for a checker to join, until its deadline (then CHECKER_UNAVAILABLE).
 */
export function planChecked<C extends Candidate>(lead: Extract<LeadPlan<C>, { kind: "checked" }>, facts: CheckFacts<C>): FirstPlan<C> {
  const backend = lead.backend ? { backend: lead.backend } : {};
  const replicate: FirstPlan<C> = { plan: lead.plan, wanted: facts.replicas, picks: [lead.lead, ...facts.others], ...backend };
  if (facts.others.length > 0 || facts.checkerRegistered) return replicate;
  if (facts.refereeable) return { plan: "referee", wanted: 1, picks: [lead.lead] };
  if (facts.allowSingle) return { plan: "single", wanted: 1, picks: [lead.lead] };
  return replicate;
}

/** The verification a first plan stores on its task (`single` and `plan` decided, the backend pinned). */
export const decidedVerification = (v: StoredVerification, plan: FirstPlan): StoredVerification => ({
  ...v,
  single: plan.wanted === 1,
  plan: plan.plan,
  ...(plan.backend ? { backend: plan.backend } : {}),
});
