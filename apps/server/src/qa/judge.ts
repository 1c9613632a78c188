/**
 * The verdict on a task's results, pure: once every wanted execution is in, which are valid, which
 * invalid, and what happens to the task (accepted, another execution, failed, run again). No SQL,
 * no blob reads, no model runs: the caller (handle-result.ts) loads the results and applies the
 * judgement. Two facts are costly to get and needed only on some paths — the server's reference
 * run of the task (qa/referee.ts) and the pair records of an agreement (for the referee audit
 * draw) — so the judge asks for them (`need`), and the caller judges again with them.
 * bench/qa-sim runs this same function.
 */
import { compareTensorMaps, type CompareOptions, type RawTensor, type ReceiptQa } from "@stun/shared";
import { MAX_TIE_BREAKERS, type StoredVerification } from "../tasks/verification";
import { decide, type Candidate, type Decision } from "./decide";
import { drawRefereeAudit, type PairTrust, type QaPolicy } from "./policy";
import { REFEREE } from "./referee";

type Outputs = Record<string, RawTensor>;

export interface JudgeInput {
  /** The task's kind: user, canary or recheck. */
  kind: string;
  v: StoredVerification;
  /** Executions the task wants (all of them are in `results`). */
  wanted: number;
  /** The task's completed executions not yet judged, in completion order. */
  results: Candidate[];
  /** A re-check's original solo result: it counts as the first replica (and is not judged here but overturned or confirmed). */
  original?: Candidate;
  /** A canary's known answer. */
  answer?: Outputs;
  compare: CompareOptions;
  /** Whether the server's reference run can check this model (canReferee). */
  refereeable: boolean;
  policy: QaPolicy;
  /** A uniform draw in [0, 1) for the referee audit of an agreement. */
  auditDraw: number;
  /** The server's reference run of the task, once asked for: null when it failed or went over budget. */
  reference?: Outputs | null;
  /** The pair records of the agreeing executions (in `Need.agreeing`'s order), once asked for. */
  agreeingTrust?: readonly PairTrust[];
}

/** Why the reference run is needed: a lone `referee` result, replicas that disagree, or an audit of replicas that agree. */
export type ReferenceUse = "lone" | "dispute" | "audit";

/** A verdict on one execution, in the order they are to be recorded. `solo`: accepted unchecked. */
export interface Verdict {
  assignmentId: string;
  verdict: "valid" | "invalid" | "inconclusive" | "solo";
}

export type Judgement =
  | { kind: "need-reference"; use: ReferenceUse }
  | { kind: "need-agreeing-trust"; agreeing: string[] }
  /** A `referee` task whose reference run failed: a provider of another operator checks instead. */
  | { kind: "replicate"; verification: StoredVerification }
  /** Replicas disagree: one more execution. */
  | { kind: "tiebreak" }
  | { kind: "fail"; verdicts: Verdict[]; code: string; message: string }
  /** The reference run contradicted what was delivered: run again (`wanted` executions, `verification` when it changes). */
  | { kind: "retry"; verdicts: Verdict[]; wanted: number; verification?: StoredVerification; contradictedAgreement: boolean }
  | {
      kind: "accept";
      verdicts: Verdict[];
      winners: string[];
      losers: string[];
      /** Whether the results were compared with something (evidence), or one was accepted alone (its pair's solo window). */
      checked: boolean;
      /** A re-check's original was overturned (the winners' output replaces it). */
      overturned: boolean;
      qa: Pick<ReceiptQa, "check"> & { refereed?: true; refereeAudited?: true };
    };

/** How QA checked the task, for its receipt. */
export function checkOf(kind: string, v: StoredVerification): ReceiptQa["check"] {
  if (kind === "canary") return "known-answer";
  if (kind === "recheck") return "recheck";
  if (v.mode === "none") return "unverified";
  if (v.mode === "zk") return "proof";
  if (v.plan === "solo" || v.plan === "single" || v.plan === "audit" || v.plan === "referee") return v.plan;
  return "replicated";
}

const matches = (a: Outputs, b: Outputs, compare: CompareOptions): boolean => compareTensorMaps(a, b, compare).equal;

/**
 * Judges a task's results (docs/QA.md): a canary against its known answer; a `referee` task's lone
 * result against the reference run; replicas (and a re-check's original) by quorum, the reference
 * run deciding a dispute when it can, else a provider tie-breaker; an agreement of user replicas
 * audited by the reference run on a draw (drawRefereeAudit) before delivery.
 */
/**
 * Whether judging a task of this kind, wanting this many executions, may ask for the server's
 * reference run (`need-reference` below): `auto`'s referee plan, or executions to compare (replicas
 * or a re-check's original), which may disagree or be drawn for an audit. A lone execution never does.
 */
export function mayNeedReference(kind: string, wanted: number, v: Pick<StoredVerification, "plan" | "recheck">): boolean {
  return kind === "user" && (v.plan === "referee" || wanted >= 2 || v.recheck !== undefined);
}

/**
 * Whether a task's result is judged alone, with nothing read but its own rows: a user's task (no
 * re-check, no sealed input, no on-chain escrow) that runs once unchecked — `mode: none`, or an
 * `auto` task whose plan runs it alone (`solo`: a trusted pair; `single`: allowed unchecked; not
 * `referee`, which the reference run checks). The judge accepts its one execution as it came, a
 * solo verdict paid from its own hold. Its result completes and settles in one statement
 * (qa/settle-alone.ts).
 */
export const judgedAlone = (kind: string, v: StoredVerification): boolean =>
  kind === "user" &&
  v.plan !== "referee" &&
  (v.mode === "none" || (v.mode === "auto" && v.single === true && (v.plan === "solo" || v.plan === "single"))) &&
  v.recheck === undefined &&
  v.tee === undefined &&
  v.chainEscrow !== true;

/**
 * Whether a task's result accepted alone joins its pair's solo window (what a re-check looks at
 * once the pair is caught): `auto`'s lone runs do; mode none is the requester's choice of no
 * checking, not a solo result to re-check later.
 */
export const joinsSoloWindow = (v: StoredVerification): boolean => v.mode !== "none";

export function judge(input: JudgeInput): Judgement {
  const { kind, v, results, compare, policy } = input;
  const inResults = new Set(results.map((r) => r.assignmentId));

  // `auto` with nobody of another operator to check the lone execution: the server's reference run does.
  if (kind === "user" && v.plan === "referee") {
    const reference = input.refereeable ? input.reference : null;
    if (reference === undefined) return { kind: "need-reference", use: "lone" };
    if (reference === null) return { kind: "replicate", verification: { ...v, single: false, plan: "replicate" } };
    if (!matches(reference, results[0]!.outputs, compare)) {
      return { kind: "retry", verdicts: [{ assignmentId: results[0]!.assignmentId, verdict: "invalid" }], wanted: input.wanted, contradictedAgreement: false };
    }
  }

  let decision: Decision;
  let refereed = false;
  if (kind === "canary") {
    const first = results[0]!.assignmentId;
    decision = matches(input.answer!, results[0]!.outputs, compare) ? { kind: "accept", winners: [first], losers: [] } : { kind: "no-consensus", losers: [first] };
  } else {
    const all = input.original ? [input.original, ...results] : results;
    const wanted = input.wanted + (input.original ? 1 : 0);
    decision = decide(v, wanted, all, compare);
    // Replicas disagree: the server's reference run decides when it can, else a provider tie-breaker is added.
    if (decision.kind === "tiebreak" && input.refereeable) {
      if (input.reference === undefined) return { kind: "need-reference", use: "dispute" };
      if (input.reference !== null) {
        decision = decide(v, Math.max(wanted + 1, v.replicas + MAX_TIE_BREAKERS), [...all, { assignmentId: REFEREE, outputs: input.reference }], compare);
        refereed = true;
      }
    }
  }

  if (decision.kind === "tiebreak") return { kind: "tiebreak" };
  if (decision.kind === "no-consensus") {
    const losers = decision.losers;
    const [code, message] = kind === "canary" ? ["CANARY_FAILED", "the output did not match the known answer"] : ["NO_CONSENSUS", "the providers' outputs did not agree"];
    return {
      kind: "fail",
      verdicts: results.map((r) => ({ assignmentId: r.assignmentId, verdict: losers.includes(r.assignmentId) ? "invalid" : "inconclusive" })),
      code,
      message,
    };
  }

  // Replicas that agree are no proof when strangers collude: the server's reference run audits a
  // share of agreements before delivery (policy.ts drawRefereeAudit); a contradicted agreement is
  // invalid for every provider in it, and the task runs again on other operators' providers.
  const { winners, losers } = decision;
  let refereeAudited = false;
  if (kind === "user" && !refereed && winners.length >= 2 && input.refereeable) {
    const agreeing = results.filter((r) => winners.includes(r.assignmentId));
    if (agreeing.length >= 2) {
      if (input.agreeingTrust === undefined) return { kind: "need-agreeing-trust", agreeing: agreeing.map((r) => r.assignmentId) };
      if (drawRefereeAudit(policy, input.auditDraw, input.agreeingTrust)) {
        if (input.reference === undefined) return { kind: "need-reference", use: "audit" };
        if (input.reference !== null) {
          refereeAudited = true;
          if (!matches(input.reference, agreeing[0]!.outputs, compare)) {
            return {
              kind: "retry",
              verdicts: [
                ...agreeing.map((r): Verdict => ({ assignmentId: r.assignmentId, verdict: "invalid" })),
                ...results.filter((r) => !winners.includes(r.assignmentId)).map((r): Verdict => ({ assignmentId: r.assignmentId, verdict: "inconclusive" })),
              ],
              // The next execution (another operator's) is checked by the reference run itself: the
              // operators left may be too few for a new quorum, and no quorum checks better.
              wanted: 1,
              verification: { ...v, single: true, plan: "referee" },
              contradictedAgreement: true,
            };
          }
        }
      }
    }
  }

  // Accepted. Compared executions are evidence; a single unchecked one joins its pair's solo window.
  const checked = results.length > 1 || kind !== "user" || (v.mode !== "none" && !v.single) || v.plan === "referee";
  const verdicts: Verdict[] = [
    ...winners.filter((id) => inResults.has(id)).map((id): Verdict => ({ assignmentId: id, verdict: checked ? "valid" : "solo" })),
    ...losers.filter((id) => inResults.has(id)).map((id): Verdict => ({ assignmentId: id, verdict: "invalid" })),
  ];
  return {
    kind: "accept",
    verdicts,
    winners,
    losers,
    checked,
    overturned: input.original !== undefined && losers.includes(input.original.assignmentId),
    qa: { check: checkOf(kind, v), ...(refereed ? { refereed: true as const } : {}), ...(refereeAudited ? { refereeAudited: true as const } : {}) },
  };
}
