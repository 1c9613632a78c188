import { describe, expect, it } from "vitest";
import {
  DEFAULT_QA_POLICY,
  afterChecked,
  afterSiblingCaught,
  afterSolo,
  auditExpected,
  catchResetsSiblings,
  checkProbability,
  drawCanary,
  drawRefereeAudit,
  isTrusted,
  newPairTrust,
  planExecution,
  preferTrusted,
  refereeAuditProbability,
  sharesFate,
  slashAmount,
  slashSplit,
  stakeCovers,
  trustedChecks,
  type PairTrust,
  type QaPolicy,
} from "../../src/qa/policy";
import type { Identity } from "../../src/qa/quorum";

const P: QaPolicy = {
  trustAfter: 5,
  auditStart: 0.4,
  auditFloor: 0.05,
  auditHalfLife: 4,
  canaryRate: 0.02,
  recheckLimit: 50,
  slashMultiple: 10n,
  minSlash: 25n,
  checksPerInvalid: 10,
  refereeAuditRate: 0.03,
  refereeAuditUntrusted: 0.4,
  siblings: "network",
};

/** A pair after `n` valid checked results in a row. */
const validRun = (n: number, p = P, from: PairTrust = newPairTrust()): PairTrust => {
  let t = from;
  for (let i = 0; i < n; i++) t = afterChecked(t, true, p);
  return t;
};

// Draws spread over [0, 1): every plan a probability allows shows up.
const DRAWS = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);

describe("trust and the execution plan", () => {
  it("a new pair is untrusted and always replicated, whatever the draw", () => {
    const t = newPairTrust();
    expect(t).toEqual({ streak: 0, solo: 0, checked: 0, invalid: 0 });
    expect(isTrusted(t, P)).toBe(false);
    expect(checkProbability(t, P)).toBe(1);
    for (const r of DRAWS) expect(planExecution(t, P, r)).toBe("replicate");
  });

  it("stays untrusted (always replicated) until trustAfter valid checks in a row, then runs solo or audited", () => {
    const almost = validRun(P.trustAfter - 1);
    expect(isTrusted(almost, P)).toBe(false);
    for (const r of DRAWS) expect(planExecution(almost, P, r)).toBe("replicate");

    const trusted = validRun(P.trustAfter);
    expect(isTrusted(trusted, P)).toBe(true);
    expect(checkProbability(trusted, P)).toBeCloseTo(P.auditStart, 12);
    const plans = DRAWS.map((r) => planExecution(trusted, P, r));
    expect(plans).not.toContain("replicate");
    // Audited exactly when the draw is under the check probability.
    expect(plans.filter((x) => x === "audit").length).toBe(DRAWS.filter((r) => r < P.auditStart).length);
    expect(planExecution(trusted, P, 0)).toBe("audit");
    expect(planExecution(trusted, P, 0.999)).toBe("solo");
  });

  it("unchecked solo results do not build trust", () => {
    let t = validRun(P.trustAfter - 1);
    for (let i = 0; i < 100; i++) t = afterSolo(t);
    expect(isTrusted(t, P)).toBe(false);
    expect(t.streak).toBe(P.trustAfter - 1);
    expect(t.solo).toBe(100);
    expect(t.checked).toBe(P.trustAfter - 1);
  });

  it("the audit probability halves every auditHalfLife valid checks and never falls below the floor", () => {
    const at = (extra: number) => checkProbability(validRun(P.trustAfter + extra), P);
    expect(at(P.auditHalfLife)).toBeCloseTo(P.auditStart / 2, 12);
    expect(at(2 * P.auditHalfLife)).toBeCloseTo(P.auditStart / 4, 12);
    let previous = at(0);
    for (let extra = 1; extra <= 200; extra++) {
      const p = at(extra);
      expect(p).toBeLessThanOrEqual(previous);
      expect(p).toBeGreaterThanOrEqual(P.auditFloor);
      previous = p;
    }
    expect(at(200)).toBe(P.auditFloor);
    // Still audited at the floor: a trusted pair is never beyond checking.
    const veteran = validRun(P.trustAfter + 10_000);
    expect(planExecution(veteran, P, P.auditFloor - 1e-9)).toBe("audit");
    expect(planExecution(veteran, P, P.auditFloor)).toBe("solo");
  });

  it("a floor above the start wins, and the probability is at most 1", () => {
    const high = { ...P, auditStart: 3, auditFloor: 0.5 };
    expect(checkProbability(validRun(high.trustAfter, high), high)).toBe(1);
    const floorOver = { ...P, auditStart: 0.1, auditFloor: 0.3 };
    expect(checkProbability(validRun(floorOver.trustAfter, floorOver), floorOver)).toBe(0.3);
  });

  it("an invalid result resets the pair: untrusted, replicated again, solo window emptied, counted", () => {
    let t = validRun(P.trustAfter + 7);
    t = afterSolo(afterSolo(t));
    const reset = afterChecked(t, false, P);
    expect(reset).toEqual({ streak: 0, solo: 0, checked: t.checked + 1, invalid: t.invalid + 1 });
    expect(isTrusted(reset, P)).toBe(false);
    for (const r of DRAWS) expect(planExecution(reset, P, r)).toBe("replicate");
    // Trust has to be earned again from scratch, with the start audit rate.
    const again = validRun(P.trustAfter, P, reset);
    expect(isTrusted(again, P)).toBe(true);
    expect(checkProbability(again, P)).toBeCloseTo(P.auditStart, 12);
    expect(again.checked).toBe(reset.checked + P.trustAfter);
    expect(again.invalid).toBe(1);
  });

  it("after an invalid verdict, trust also waits for checksPerInvalid lifetime checks per invalid one", () => {
    // Caught on its 3rd check: 1 invalid needs 10 checked results, so a streak of trustAfter is not enough.
    let t = afterChecked(validRun(2), false, P);
    expect(t).toMatchObject({ streak: 0, checked: 3, invalid: 1 });
    t = validRun(P.trustAfter, P, t);
    expect(t.checked).toBe(8);
    expect(isTrusted(t, P)).toBe(false);
    expect(trustedChecks(t, P)).toBe(-2);
    for (const r of DRAWS) expect(planExecution(t, P, r)).toBe("replicate");
    t = validRun(2, P, t);
    expect(isTrusted(t, P)).toBe(true);
    expect(trustedChecks(t, P)).toBe(0);
    // Its audits start over at auditStart from the moment it became trusted, not from the streak.
    expect(checkProbability(t, P)).toBeCloseTo(P.auditStart, 12);
    expect(checkProbability(validRun(P.auditHalfLife, P, t), P)).toBeCloseTo(P.auditStart / 2, 12);
    // Each further invalid verdict raises the bar: 2 invalid need 20 checked results.
    let twice = afterChecked(t, false, P);
    twice = validRun(P.trustAfter, P, twice);
    expect(twice.checked).toBe(16);
    expect(isTrusted(twice, P)).toBe(false);
    expect(isTrusted(validRun(4, P, twice), P)).toBe(true);
    // A clean pair never waits for it; checksPerInvalid 0 turns the rule off.
    expect(isTrusted(validRun(P.trustAfter), P)).toBe(true);
    const off = { ...P, checksPerInvalid: 0 };
    expect(isTrusted(validRun(off.trustAfter, off, afterChecked(newPairTrust(), false, off)), off)).toBe(true);
  });

  it("the solo window restarts when the invalid-rate bar is what made the pair trusted", () => {
    let t = validRun(P.trustAfter + 1, P, afterChecked(newPairTrust(), false, P));
    expect(isTrusted(t, P)).toBe(false);
    t = afterSolo(t);
    expect(t.solo).toBe(1);
    while (!isTrusted(t, P)) t = afterChecked(t, true, P);
    expect(t.checked).toBe(P.checksPerInvalid);
    expect(t.solo).toBe(0);
  });

  it("a policy without checksPerInvalid (written before it existed) gets the default", () => {
    const { checksPerInvalid: _omitted, ...old } = P;
    const caught = validRun(P.trustAfter, old, afterChecked(newPairTrust(), false, old));
    expect(isTrusted(caught, old)).toBe(DEFAULT_QA_POLICY.checksPerInvalid <= caught.checked);
    expect(trustedChecks(caught, old)).toBe(Math.min(0, caught.checked - DEFAULT_QA_POLICY.checksPerInvalid));
  });

  it("becoming trusted starts a new solo window; later valid checks keep it", () => {
    // Solo results counted while untrusted (e.g. a one-provider network) are not in the window.
    let t = afterSolo(afterSolo(afterSolo(validRun(P.trustAfter - 1))));
    expect(t.solo).toBe(3);
    t = afterChecked(t, true, P);
    expect(isTrusted(t, P)).toBe(true);
    expect(t.solo).toBe(0);
    t = afterSolo(afterSolo(t));
    t = afterChecked(t, true, P);
    expect(t.solo).toBe(2);
    expect(afterSolo(t)).toEqual({ ...t, solo: 3 });
  });

  it("trustAfter 0 trusts a new pair at once", () => {
    const p = { ...P, trustAfter: 0 };
    expect(isTrusted(newPairTrust(), p)).toBe(true);
    expect(planExecution(newPairTrust(), p, 0.99)).toBe("solo");
  });

  it("pure: the record passed in is not modified", () => {
    const t = validRun(P.trustAfter);
    const copy = { ...t };
    afterChecked(t, false, P);
    afterChecked(t, true, P);
    afterSolo(t);
    expect(t).toEqual(copy);
  });
});

describe("canaries", () => {
  it("drawn when the draw is under the canary rate", () => {
    expect(DRAWS.filter((r) => drawCanary(P, r)).length).toBe(DRAWS.filter((r) => r < P.canaryRate).length);
    expect(drawCanary(P, 0)).toBe(true);
    expect(drawCanary(P, P.canaryRate)).toBe(false);
    expect(drawCanary({ ...P, canaryRate: 0 }, 0)).toBe(false);
  });
});

describe("referee audits", () => {
  const trusted = validRun(P.trustAfter);
  const fresh = newPairTrust();

  it("audits an agreement at refereeAuditRate when a pair in it is trusted, at refereeAuditUntrusted when none is", () => {
    expect(refereeAuditProbability(P, [trusted, fresh])).toBe(P.refereeAuditRate);
    expect(refereeAuditProbability(P, [fresh, trusted])).toBe(P.refereeAuditRate);
    expect(refereeAuditProbability(P, [trusted, trusted])).toBe(P.refereeAuditRate);
    expect(refereeAuditProbability(P, [fresh, fresh])).toBe(P.refereeAuditUntrusted);
    // A caught pair below the invalid-rate bar counts as untrusted, whatever its streak.
    const caught = validRun(P.trustAfter, P, afterChecked(newPairTrust(), false, P));
    expect(refereeAuditProbability(P, [caught, fresh])).toBe(P.refereeAuditUntrusted);
  });

  it("drawn when the draw is under the probability; rate 0 never audits", () => {
    const count = (agreeing: PairTrust[], p = P) => DRAWS.filter((r) => drawRefereeAudit(p, r, agreeing)).length;
    expect(count([trusted, trusted])).toBe(DRAWS.filter((r) => r < P.refereeAuditRate!).length);
    expect(count([fresh, fresh])).toBe(DRAWS.filter((r) => r < P.refereeAuditUntrusted!).length);
    expect(drawRefereeAudit(P, 0, [trusted])).toBe(true);
    expect(drawRefereeAudit(P, P.refereeAuditRate!, [trusted])).toBe(false);
    expect(count([trusted], { ...P, refereeAuditRate: 0 })).toBe(0);
    expect(count([fresh], { ...P, refereeAuditUntrusted: 0 })).toBe(0);
  });

  it("auditExpected, given whether any agreeing pair is trusted, draws what drawRefereeAudit draws with their records", () => {
    const all = [[trusted], [fresh], [trusted, fresh], [fresh, fresh]];
    for (const p of [P, { ...P, refereeAuditRate: 0.9 }, { ...P, refereeAuditRate: 0, refereeAuditUntrusted: 0 }]) {
      for (const agreeing of all) {
        const anyTrusted = agreeing.some((t) => isTrusted(t, p));
        for (const r of DRAWS) expect(auditExpected(p, r, anyTrusted)).toBe(drawRefereeAudit(p, r, agreeing));
      }
    }
  });

  it("a policy without the rates (written before they existed) gets the defaults", () => {
    const { refereeAuditRate: _a, refereeAuditUntrusted: _b, ...old } = P;
    expect(refereeAuditProbability(old, [validRun(old.trustAfter, old)])).toBe(DEFAULT_QA_POLICY.refereeAuditRate);
    expect(refereeAuditProbability(old, [newPairTrust()])).toBe(DEFAULT_QA_POLICY.refereeAuditUntrusted);
  });
});

describe("siblings share the fate of a caught pair", () => {
  const id = (account: string, links: string[] = [], net?: string): Identity => ({ account, links, ...(net ? { net } : {}) });
  const caught = id("a", ["0xw"], "10.0.0.0/24");

  it("only a trusted pair's catch resets its siblings (a sleeper, not a newcomer failing its first checks)", () => {
    expect(catchResetsSiblings(validRun(P.trustAfter), P)).toBe(true);
    expect(catchResetsSiblings(validRun(P.trustAfter - 1), P)).toBe(false);
    expect(catchResetsSiblings(newPairTrust(), P)).toBe(false);
    expect(catchResetsSiblings(validRun(P.trustAfter), { ...P, siblings: "off" })).toBe(false);
  });

  it("siblings: the same operator (account or a shared wallet link), and with `network` the same network prefix", () => {
    const network = { ...P, siblings: "network" as const };
    const operator = { ...P, siblings: "operator" as const };
    for (const p of [network, operator]) {
      expect(sharesFate(caught, id("a", [], "10.9.9.0/24"), p)).toBe(true);
      expect(sharesFate(caught, id("b", ["0xw"], "10.9.9.0/24"), p)).toBe(true);
      expect(sharesFate(caught, id("c", ["0xv"], "10.9.9.0/24"), p)).toBe(false);
    }
    expect(sharesFate(caught, id("d", [], "10.0.0.0/24"), network)).toBe(true);
    expect(sharesFate(caught, id("d", [], "10.0.0.0/24"), operator)).toBe(false);
    expect(sharesFate(id("a"), id("d"), network)).toBe(false); // prefixes unknown
    expect(sharesFate(caught, id("a"), { ...P, siblings: "off" })).toBe(false);
    const { siblings: _omitted, ...old } = P;
    expect(sharesFate(caught, id("d", [], "10.0.0.0/24"), old)).toBe(DEFAULT_QA_POLICY.siblings === "network");
  });

  it("a sibling loses its streak (replicated again, audits start over) but gets no invalid verdict", () => {
    const t = afterSolo(validRun(P.trustAfter + 30));
    const copy = { ...t };
    const reset = afterSiblingCaught(t);
    expect(t).toEqual(copy);
    expect(reset).toEqual({ ...t, streak: 0 });
    expect(isTrusted(reset, P)).toBe(false);
    for (const r of DRAWS) expect(planExecution(reset, P, r)).toBe("replicate");
    const again = validRun(P.trustAfter, P, reset);
    expect(isTrusted(again, P)).toBe(true);
    expect(checkProbability(again, P)).toBeCloseTo(P.auditStart, 12);
    expect(again.invalid).toBe(0);
    expect(afterSiblingCaught(newPairTrust())).toEqual(newPairTrust());
  });
});

describe("slashing and stake", () => {
  it("slashes slashMultiple × price", () => {
    expect(slashAmount(100n, 10_000n, P)).toBe(1000n);
  });

  it("never below minSlash (cheap or free work)", () => {
    expect(slashAmount(1n, 10_000n, P)).toBe(25n);
    expect(slashAmount(0n, 10_000n, P)).toBe(25n);
    expect(slashAmount(3n, 10_000n, P)).toBe(30n); // 10 × 3 is above the minimum
  });

  it("is capped by the stake, and is 0 without stake", () => {
    expect(slashAmount(100n, 400n, P)).toBe(400n);
    expect(slashAmount(1n, 7n, P)).toBe(7n);
    expect(slashAmount(100n, 1000n, P)).toBe(1000n);
    expect(slashAmount(100n, 0n, P)).toBe(0n);
    expect(slashAmount(100n, -5n, P)).toBe(0n);
  });

  it("splits a slash: the wronged requester gets back what it paid (up to the slash), the treasury the rest", () => {
    expect(slashSplit(1000n, 100n)).toEqual({ toRequester: 100n, toTreasury: 900n });
    expect(slashSplit(1000n, 1000n)).toEqual({ toRequester: 1000n, toTreasury: 0n });
    expect(slashSplit(300n, 1000n)).toEqual({ toRequester: 300n, toTreasury: 0n });
    expect(slashSplit(1000n, 0n)).toEqual({ toRequester: 0n, toTreasury: 1000n });
    expect(slashSplit(1000n, -50n)).toEqual({ toRequester: 0n, toTreasury: 1000n });
    expect(slashSplit(0n, 100n)).toEqual({ toRequester: 0n, toTreasury: 0n });
    for (const [amount, paid] of [
      [1000n, 100n],
      [5n, 9n],
      [77n, 0n],
    ] as const) {
      const s = slashSplit(amount, paid);
      expect(s.toRequester + s.toTreasury).toBe(amount);
    }
  });

  it("stake must cover slashMultiple × every live execution, the new one included", () => {
    // Live executions worth 30, a new one at 20: 10 × 50 = 500 needed.
    expect(stakeCovers(500n, 30n, 20n, P)).toBe(true);
    expect(stakeCovers(499n, 30n, 20n, P)).toBe(false);
    expect(stakeCovers(200n, 0n, 20n, P)).toBe(true);
    expect(stakeCovers(199n, 0n, 20n, P)).toBe(false);
    // Free work needs no stake.
    expect(stakeCovers(0n, 1_000n, 0n, P)).toBe(true);
    // A covered account can always be slashed in full for each of its live executions.
    const stake = 500n;
    expect(slashAmount(20n, stake, P) + slashAmount(30n, stake - slashAmount(20n, stake, P), P)).toBe(500n);
  });
});

describe("preferTrusted", () => {
  const trusted = validRun(P.trustAfter);
  const fresh = newPairTrust();
  type C = { id: string; t: PairTrust };
  const c = (id: string, t: PairTrust): C => ({ id, t });

  it("puts trusted pairs first and keeps the scheduler's order within each group (stable partition)", () => {
    const order = [c("a", fresh), c("b", trusted), c("c", fresh), c("d", trusted), c("e", fresh), c("f", trusted)];
    expect(preferTrusted(order, (x) => x.t, P).map((x) => x.id)).toEqual(["b", "d", "f", "a", "c", "e"]);
  });

  it("keeps the order as is when all or none are trusted, and handles empty input", () => {
    const none = [c("a", fresh), c("b", fresh), c("c", fresh)];
    const all = [c("a", trusted), c("b", trusted)];
    expect(preferTrusted(none, (x) => x.t, P).map((x) => x.id)).toEqual(["a", "b", "c"]);
    expect(preferTrusted(all, (x) => x.t, P).map((x) => x.id)).toEqual(["a", "b"]);
    expect(preferTrusted([], (x: C) => x.t, P)).toEqual([]);
  });

  it("returns a new array with the same elements and leaves the input alone", () => {
    const order = [c("a", fresh), c("b", trusted)];
    const out = preferTrusted(order, (x) => x.t, P);
    expect(out).not.toBe(order);
    expect(order.map((x) => x.id)).toEqual(["a", "b"]);
    expect(new Set(out)).toEqual(new Set(order));
  });

  it("judges trust under the policy given", () => {
    const order = [c("a", validRun(3)), c("b", fresh)];
    expect(preferTrusted(order, (x) => x.t, { ...P, trustAfter: 3 }).map((x) => x.id)).toEqual(["a", "b"]);
    expect(preferTrusted([...order].reverse(), (x) => x.t, { ...P, trustAfter: 3 }).map((x) => x.id)).toEqual(["a", "b"]);
    expect(preferTrusted([...order].reverse(), (x) => x.t, { ...P, trustAfter: 4 }).map((x) => x.id)).toEqual(["b", "a"]);
  });
});

describe("DEFAULT_QA_POLICY", () => {
  it("is a coherent policy (the figures behind it: bench/qa-sim.ts, docs/QA.md)", () => {
    const d = DEFAULT_QA_POLICY;
    expect(Number.isInteger(d.trustAfter) && d.trustAfter > 0).toBe(true);
    expect(d.auditFloor).toBeGreaterThan(0);
    expect(d.auditFloor).toBeLessThanOrEqual(d.auditStart);
    expect(d.auditStart).toBeLessThanOrEqual(1);
    expect(d.auditHalfLife).toBeGreaterThan(0);
    expect(d.canaryRate).toBeGreaterThanOrEqual(0);
    expect(d.canaryRate).toBeLessThan(1);
    expect(Number.isInteger(d.recheckLimit) && d.recheckLimit > 0).toBe(true);
    expect(d.slashMultiple).toBeGreaterThanOrEqual(1n);
    expect(d.minSlash).toBeGreaterThan(0n);
    expect(Number.isInteger(d.checksPerInvalid) && d.checksPerInvalid >= d.trustAfter).toBe(true);
    for (const rate of [d.refereeAuditRate, d.refereeAuditUntrusted]) {
      expect(rate).toBeGreaterThan(0);
      expect(rate).toBeLessThanOrEqual(1);
    }
    // A pair's first execution as a trusted pair is always audited: cheating as soon as trust is won never pays.
    let t = newPairTrust();
    while (!isTrusted(t, d)) t = afterChecked(t, true, d);
    expect(checkProbability(t, d)).toBe(1);
    expect(["off", "operator", "network"]).toContain(d.siblings);
    // Strangers with no record are referee-audited at least as often as agreements a trusted pair vouches for.
    expect(d.refereeAuditUntrusted).toBeGreaterThanOrEqual(d.refereeAuditRate);
  });
});
