import { describe, expect, it } from "vitest";
import type { CandidateFacts } from "../../src/qa/candidates";
import { DEFAULT_QA_POLICY, newPairTrust, type PairTrust } from "../../src/qa/policy";
import { chooseCheckers, comparesExecutions, decidedVerification, eligibleCandidates, isFirstDispatch, planChecked, planLead, withinStake, type Candidate, type Offer } from "../../src/scheduler/plan";
import type { StoredVerification } from "../../src/tasks/verification";

const policy = { ...DEFAULT_QA_POLICY };
/** A pair past trustAfter valid checks in a row, checked often enough to be trusted with the floor audit rate. */
const TRUSTED: PairTrust = { streak: 1000, solo: 0, checked: 1000, invalid: 0 };

const offer = (id: string, over: Partial<Offer> = {}): Offer => ({ id, accountId: `acc-${id}`, backend: "cpu", price: 10n, ...over });
const facts = (account: string, over: Partial<CandidateFacts> = {}): CandidateFacts => ({
  trust: newPairTrust(),
  stake: 1_000n,
  atRisk: 0n,
  identity: { account, links: [] },
  ...over,
});
const cand = (id: string, o: Partial<Offer> = {}, f: Partial<CandidateFacts> = {}): Candidate => {
  const p = offer(id, o);
  return { p, f: facts(p.accountId, f) };
};
const ids = (cs: readonly Candidate[]) => cs.map((c) => c.p.id);
const auto: StoredVerification = { mode: "auto", replicas: 2, argmax: false };

describe("eligibleCandidates", () => {
  it("keeps the index's order, dropping providers whose stake does not cover one more execution or whose row is gone", () => {
    const offers = [offer("a"), offer("b"), offer("c"), offer("free", { price: 0n })];
    const known = new Map([
      ["a", facts("acc-a")],
      // 10 × (90 + 10) = 1000 ≤ 1000: covered exactly; b has 91 at risk: not covered.
      ["b", facts("acc-b", { atRisk: 91n })],
      ["free", facts("acc-free", { stake: 0n })],
    ]);
    expect(ids(eligibleCandidates(offers, known, policy))).toEqual(["a", "free"]);
  });
});

describe("chooseCheckers", () => {
  it("takes trusted pairs first, then the index's order, one per operator and none of the taken operators", () => {
    const eligible = [
      cand("new1"),
      cand("lead-op", {}, { identity: { account: "lead", links: [] } }),
      cand("trusted", {}, { trust: TRUSTED }),
      cand("new2", {}, { identity: { account: "x", links: ["0xw"] } }),
      cand("new3", {}, { identity: { account: "y", links: ["0xw"] } }),
    ];
    expect(ids(chooseCheckers(eligible, [{ account: "lead", links: [] }], 3, policy, "off"))).toEqual(["trusted", "new1", "new2"]);
    expect(chooseCheckers(eligible, [], 0, policy, "off")).toEqual([]);
  });
});

describe("withinStake", () => {
  it("stops adding picks of one account once its stake no longer covers them together", () => {
    // Stake 250 at 10× covers 25 at risk: two executions at 10, not three.
    const shared = { stake: 250n, identity: { account: "acc-s", links: [] } };
    const picks = [cand("s1", { accountId: "acc-s" }, shared), cand("s2", { accountId: "acc-s" }, shared), cand("s3", { accountId: "acc-s" }, shared), cand("o")];
    expect(ids(withinStake(picks, policy))).toEqual(["s1", "s2", "o"]);
  });
});

describe("which tasks are planned how", () => {
  it("compares executions of auto and redundant user tasks, never of canaries", () => {
    expect(comparesExecutions("user", auto)).toBe(true);
    expect(comparesExecutions("recheck", { ...auto, mode: "redundant" })).toBe(true);
    expect(comparesExecutions("canary", auto)).toBe(false);
    expect(comparesExecutions("user", { ...auto, mode: "none" })).toBe(false);
  });

  it("plans an auto task afresh only on its first dispatch, before single was decided", () => {
    expect(isFirstDispatch(auto, 0)).toBe(true);
    expect(isFirstDispatch(auto, 1)).toBe(false);
    expect(isFirstDispatch({ ...auto, single: false }, 0)).toBe(false);
    expect(isFirstDispatch({ ...auto, mode: "redundant" }, 0)).toBe(false);
  });
});

describe("an auto task's first plan", () => {
  const checked = (lead: Candidate, rest: Candidate[] = [], sameBackend = false) => {
    const p = planLead([lead, ...rest], 0.99, policy, sameBackend);
    if (p?.kind !== "checked") throw new Error(`expected a checked plan, got ${p?.kind}`);
    return p;
  };
  const base = { others: [] as Candidate[], checkerRegistered: false, refereeable: false, allowSingle: false, replicas: 2 };

  it("has nobody to lead without an eligible candidate", () => {
    expect(planLead([], 0.5, policy, false)).toBeUndefined();
  });

  it("lets a trusted lead run alone unless the draw falls under its audit probability", () => {
    const lead = cand("t", {}, { trust: TRUSTED });
    expect(planLead([lead], 0.99, policy, false)).toEqual({ kind: "solo", plan: { plan: "solo", wanted: 1, picks: [lead] } });
    expect(planLead([lead], 0.0, policy, false)?.kind).toBe("checked");
  });

  it("replicates an untrusted lead's task with checkers of other operators, pinned to its backend under same-backend quorums", () => {
    const lead = cand("lead", { backend: "cuda" });
    const p = checked(lead, [cand("w", { backend: "wasm" }), cand("c", { backend: "cuda" })], true);
    expect(p.plan).toBe("replicate");
    expect(p.backend).toBe("cuda");
    expect(ids(p.sameOrigin)).toEqual(["c"]);
    const other = cand("c", { backend: "cuda" });
    expect(planChecked(p, { ...base, others: [other] })).toEqual({ plan: "replicate", wanted: 2, picks: [lead, other], backend: "cuda" });
  });

  it("without a free checker: waits for a registered one, else the referee, else single where allowed, else waits", () => {
    const lead = cand("lead");
    const p = checked(lead);
    expect(planChecked(p, { ...base, checkerRegistered: true, refereeable: true })).toMatchObject({ plan: "replicate", wanted: 2, picks: [lead] });
    expect(planChecked(p, { ...base, refereeable: true, allowSingle: true })).toEqual({ plan: "referee", wanted: 1, picks: [lead] });
    expect(planChecked(p, { ...base, allowSingle: true })).toEqual({ plan: "single", wanted: 1, picks: [lead] });
    expect(planChecked(p, base)).toEqual({ plan: "replicate", wanted: 2, picks: [lead] });
  });

  it("stores the decision on the task's verification, keeping the requester's options", () => {
    const lead = cand("lead", { backend: "cuda" });
    expect(decidedVerification({ ...auto, allowSingle: true }, { plan: "single", wanted: 1, picks: [lead] })).toEqual({ ...auto, allowSingle: true, single: true, plan: "single" });
    expect(decidedVerification(auto, { plan: "replicate", wanted: 2, picks: [lead], backend: "cuda" })).toEqual({ ...auto, single: false, plan: "replicate", backend: "cuda" });
  });
});
