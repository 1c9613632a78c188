import { fromTypedArray, type RawTensor } from "@stun/shared";
import { describe, expect, it } from "vitest";
import { judge, judgedAlone, type JudgeInput } from "../../src/qa/judge";
import { DEFAULT_QA_POLICY, newPairTrust } from "../../src/qa/policy";
import type { StoredVerification } from "../../src/tasks/verification";

const out = (...values: number[]): Record<string, RawTensor> => ({ y: fromTypedArray({ dtype: "float32", dims: [values.length], data: Float32Array.from(values) }) });
const RIGHT = out(1, 2, 3);
const WRONG = out(9, 9, 9);
const res = (assignmentId: string, outputs = RIGHT) => ({ assignmentId, outputs });
const replicated: StoredVerification = { mode: "auto", replicas: 2, argmax: false, single: false, plan: "replicate" };
/** Every agreement audited (refereeAuditRate 1), so the audit path is deterministic. */
const alwaysAudit = { ...DEFAULT_QA_POLICY, refereeAuditRate: 1, refereeAuditUntrusted: 1 };

const input = (over: Partial<JudgeInput>): JudgeInput => ({
  kind: "user",
  v: replicated,
  wanted: 2,
  results: [res("a"), res("b")],
  compare: { argmax: false },
  refereeable: false,
  policy: DEFAULT_QA_POLICY,
  auditDraw: 0.5,
  ...over,
});

describe("judge: replicas", () => {
  it("accepts agreeing replicas as checked evidence, every one valid", () => {
    expect(judge(input({}))).toEqual({
      kind: "accept",
      verdicts: [
        { assignmentId: "a", verdict: "valid" },
        { assignmentId: "b", verdict: "valid" },
      ],
      winners: ["a", "b"],
      losers: [],
      checked: true,
      overturned: false,
      qa: { check: "replicated" },
    });
  });

  it("asks for a tie-breaker when two replicas disagree and the server cannot referee, and fails the task without consensus after it", () => {
    expect(judge(input({ results: [res("a"), res("b", WRONG)] })).kind).toBe("tiebreak");
    const j = judge(input({ wanted: 3, results: [res("a"), res("b", WRONG), res("c", out(5, 5, 5))] }));
    expect(j).toMatchObject({ kind: "fail", code: "NO_CONSENSUS" });
    expect(j.kind === "fail" && j.verdicts.map((x) => x.verdict)).toEqual(["inconclusive", "inconclusive", "inconclusive"]);
  });

  it("a tie-breaker's majority wins: the odd one out is invalid", () => {
    const j = judge(input({ wanted: 3, results: [res("a"), res("b", WRONG), res("c")] }));
    expect(j).toMatchObject({ kind: "accept", winners: ["a", "c"], losers: ["b"] });
    expect(j.kind === "accept" && j.verdicts).toEqual([
      { assignmentId: "a", verdict: "valid" },
      { assignmentId: "c", verdict: "valid" },
      { assignmentId: "b", verdict: "invalid" },
    ]);
  });

  it("lets the server's reference run decide a dispute when it can, marking the receipt refereed", () => {
    const base = input({ refereeable: true, results: [res("a", WRONG), res("b")] });
    expect(judge(base)).toEqual({ kind: "need-reference", use: "dispute" });
    const j = judge({ ...base, reference: RIGHT });
    expect(j).toMatchObject({ kind: "accept", winners: ["b", "referee"], losers: ["a"], qa: { check: "replicated", refereed: true } });
    expect(j.kind === "accept" && j.verdicts).toEqual([
      { assignmentId: "b", verdict: "valid" },
      { assignmentId: "a", verdict: "invalid" },
    ]);
    // The reference run failed: a provider tie-breaker instead.
    expect(judge({ ...base, reference: null }).kind).toBe("tiebreak");
  });
});

describe("judge: referee audits of agreements", () => {
  const base = input({ refereeable: true, policy: alwaysAudit });

  it("asks for the agreeing pairs' records, then for the reference run when the draw says audit", () => {
    expect(judge(base)).toEqual({ kind: "need-agreeing-trust", agreeing: ["a", "b"] });
    expect(judge({ ...base, agreeingTrust: [newPairTrust(), newPairTrust()] })).toEqual({ kind: "need-reference", use: "audit" });
  });

  it("delivers an agreement the reference confirms, marked audited", () => {
    const j = judge({ ...base, agreeingTrust: [newPairTrust(), newPairTrust()], reference: RIGHT });
    expect(j).toMatchObject({ kind: "accept", winners: ["a", "b"], qa: { check: "replicated", refereeAudited: true } });
  });

  it("rejects every agreeing replica the reference contradicts and runs the task again under the referee", () => {
    const j = judge({ ...base, results: [res("a", WRONG), res("b", WRONG)], agreeingTrust: [newPairTrust(), newPairTrust()], reference: RIGHT });
    expect(j).toEqual({
      kind: "retry",
      verdicts: [
        { assignmentId: "a", verdict: "invalid" },
        { assignmentId: "b", verdict: "invalid" },
      ],
      wanted: 1,
      verification: { ...replicated, single: true, plan: "referee" },
      contradictedAgreement: true,
    });
  });

  it("does not audit without a draw under the audit probability, nor re-check tasks", () => {
    const noAudit = { ...DEFAULT_QA_POLICY, refereeAuditRate: 0, refereeAuditUntrusted: 0 };
    expect(judge({ ...base, policy: noAudit, agreeingTrust: [newPairTrust(), newPairTrust()] }).kind).toBe("accept");
    expect(judge({ ...base, kind: "recheck" }).kind).toBe("accept");
  });
});

describe("judge: single executions", () => {
  it("checks a `referee` task's lone result against the reference run: confirmed, contradicted, or replicated when the run failed", () => {
    const v: StoredVerification = { ...replicated, single: true, plan: "referee" };
    const base = input({ v, wanted: 1, results: [res("a")], refereeable: true });
    expect(judge(base)).toEqual({ kind: "need-reference", use: "lone" });
    expect(judge({ ...base, reference: RIGHT })).toMatchObject({ kind: "accept", checked: true, verdicts: [{ assignmentId: "a", verdict: "valid" }], qa: { check: "referee" } });
    expect(judge({ ...base, reference: WRONG })).toEqual({ kind: "retry", verdicts: [{ assignmentId: "a", verdict: "invalid" }], wanted: 1, contradictedAgreement: false });
    expect(judge({ ...base, reference: null })).toEqual({ kind: "replicate", verification: { ...v, single: false, plan: "replicate" } });
  });

  it("accepts a trusted pair's solo result unchecked, into its solo window", () => {
    const v: StoredVerification = { ...replicated, single: true, plan: "solo" };
    expect(judge(input({ v, wanted: 1, results: [res("a")] }))).toMatchObject({ kind: "accept", checked: false, verdicts: [{ assignmentId: "a", verdict: "solo" }], qa: { check: "solo" } });
  });

  it("judgedAlone names exactly the tasks whose one result the judge accepts as it came (qa/settle-alone.ts settles those without it)", () => {
    const modes = ["none", "redundant", "auto", "zk"] as const;
    const plans = [undefined, "replicate", "audit", "solo", "referee", "single"] as const;
    const extras: Array<Partial<StoredVerification>> = [
      {},
      { recheck: { taskId: "t", assignmentId: "o", providerId: "p" } },
      { chainEscrow: true },
      { tee: { providerId: "p", publicKey: "k", evidenceSha256: "e", kind: "simulated", simulated: true, measurement: null } },
    ];
    let alone = 0;
    for (const kind of ["user", "canary", "recheck"])
      for (const mode of modes)
        for (const plan of plans)
          for (const single of [undefined, true, false])
            for (const extra of extras) {
              const v: StoredVerification = { mode, replicas: mode === "none" ? 1 : 2, argmax: false, ...(plan ? { plan } : {}), ...(single !== undefined ? { single } : {}), ...extra };
              if (!judgedAlone(kind, v)) continue;
              alone++;
              const why = JSON.stringify({ kind, v });
              // One execution, wanted alone; no answer, no original, no reference run: accepted as it came.
              const j = judge(input({ kind, v, wanted: 1, results: [res("a", WRONG)], refereeable: true, policy: alwaysAudit }));
              expect(j, why).toMatchObject({ kind: "accept", checked: false, verdicts: [{ assignmentId: "a", verdict: "solo" }], winners: ["a"], losers: [] });
            }
    // mode none (any plan but referee, single or not) and auto's solo and single plans, each without re-check, escrow or TEE.
    expect(alone).toBe((plans.length - 1) * 3 + 2);
  });

  it("judges a canary against its known answer", () => {
    const canary = input({ kind: "canary", v: { mode: "none", replicas: 1, argmax: false }, wanted: 1, results: [res("c")] });
    expect(judge({ ...canary, answer: RIGHT })).toMatchObject({ kind: "accept", checked: true, verdicts: [{ assignmentId: "c", verdict: "valid" }], qa: { check: "known-answer" } });
    expect(judge({ ...canary, answer: WRONG })).toEqual({
      kind: "fail",
      code: "CANARY_FAILED",
      message: "the output did not match the known answer",
      verdicts: [{ assignmentId: "c", verdict: "invalid" }],
    });
  });
});

describe("judge: re-checks", () => {
  const v: StoredVerification = { mode: "redundant", replicas: 2, argmax: false, recheck: { taskId: "t0", assignmentId: "orig", providerId: "p0" } };
  const recheck = (original: Record<string, RawTensor>, fresh: Record<string, RawTensor>[]) =>
    input({ kind: "recheck", v, wanted: fresh.length, original: res("orig", original), results: fresh.map((o, i) => res(`r${i}`, o)) });

  it("confirms an original the re-check agrees with; the original itself gets no verdict here", () => {
    const j = judge(recheck(RIGHT, [RIGHT]));
    expect(j).toMatchObject({ kind: "accept", overturned: false, qa: { check: "recheck" } });
    expect(j.kind === "accept" && j.verdicts).toEqual([{ assignmentId: "r0", verdict: "valid" }]);
  });

  it("overturns an original the majority outvotes", () => {
    expect(judge(recheck(WRONG, [RIGHT])).kind).toBe("tiebreak");
    const j = judge(recheck(WRONG, [RIGHT, RIGHT]));
    expect(j).toMatchObject({ kind: "accept", overturned: true, losers: ["orig"] });
    expect(j.kind === "accept" && j.verdicts.map((x) => x.assignmentId)).toEqual(["r0", "r1"]);
  });
});
