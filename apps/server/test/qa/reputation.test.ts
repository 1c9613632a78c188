import { describe, expect, it } from "vitest";
import { REPUTATION_DECAY, REPUTATION_Z, addVerdict, reputationScore, wilsonLowerBound, type ReputationEvidence } from "../../src/qa/reputation";

const NONE: ReputationEvidence = { validWeight: 0, invalidWeight: 0 };
const verdicts = (vs: boolean[], from = NONE): ReputationEvidence => vs.reduce(addVerdict, from);
const repeat = (v: boolean, n: number): boolean[] => Array.from({ length: n }, () => v);

describe("wilsonLowerBound", () => {
  it("is exactly 0 with no valid evidence, for every amount of invalid evidence (no rounding residue)", () => {
    // Seen in CI: a cheater's decayed invalid weight gave 6.3e-18, and "never trusted" checks 0.
    let e: ReputationEvidence = { validWeight: 0, invalidWeight: 0 };
    for (let i = 0; i < 300; i++) {
      e = addVerdict(e, false);
      expect(reputationScore(e)).toBe(0);
      expect(wilsonLowerBound(0, i + 1)).toBe(0);
    }
  });

  it("is 0 with no evidence", () => {
    expect(wilsonLowerBound(0, 0)).toBe(0);
    expect(wilsonLowerBound(0, -1)).toBe(0);
    expect(reputationScore(NONE)).toBe(0);
  });

  it("is 0 when every result was invalid, and below 1 even when every result was valid", () => {
    expect(wilsonLowerBound(0, 50)).toBe(0);
    for (const n of [1, 10, 100, 10_000]) {
      const s = wilsonLowerBound(n, n);
      expect(s).toBeGreaterThan(0);
      expect(s).toBeLessThan(1);
    }
  });

  it("matches the formula at a known point (z = 1.645)", () => {
    // 9 of 10 valid: (0.9 + z²/20 − z·sqrt((0.09 + z²/40)/10)) / (1 + z²/10)
    const z2 = REPUTATION_Z ** 2;
    const expected = (0.9 + z2 / 20 - REPUTATION_Z * Math.sqrt((0.09 + z2 / 40) / 10)) / (1 + z2 / 10);
    expect(wilsonLowerBound(9, 10)).toBeCloseTo(expected, 12);
    expect(wilsonLowerBound(9, 10)).toBeCloseTo(0.6523, 3);
  });

  it("stays below the observed valid rate and approaches it with more evidence", () => {
    let previous = 0;
    for (const n of [10, 100, 1000, 100_000]) {
      const s = wilsonLowerBound(0.9 * n, n);
      expect(s).toBeLessThan(0.9);
      expect(s).toBeGreaterThan(previous);
      previous = s;
    }
    expect(previous).toBeGreaterThan(0.89);
  });

  it("is monotone: more valid results (same invalid) never lower it", () => {
    for (const invalid of [0, 1, 3]) {
      let previous = -1;
      for (let valid = 0; valid <= 200; valid++) {
        const s = wilsonLowerBound(valid, valid + invalid);
        expect(s).toBeGreaterThanOrEqual(previous);
        previous = s;
      }
    }
  });

  it("a lower z is less cautious", () => {
    expect(wilsonLowerBound(9, 10, 1)).toBeGreaterThan(wilsonLowerBound(9, 10));
  });
});

describe("reputation evidence with decay", () => {
  it("each verdict decays both weights and adds 1 to one of them", () => {
    const e = { validWeight: 10, invalidWeight: 2 };
    expect(addVerdict(e, true)).toEqual({ validWeight: 10 * REPUTATION_DECAY + 1, invalidWeight: 2 * REPUTATION_DECAY });
    expect(addVerdict(e, false)).toEqual({ validWeight: 10 * REPUTATION_DECAY, invalidWeight: 2 * REPUTATION_DECAY + 1 });
    expect(e).toEqual({ validWeight: 10, invalidWeight: 2 }); // pure
  });

  it("grows with valid results and is monotone in them", () => {
    let e = NONE;
    let previous = reputationScore(e);
    for (let i = 0; i < 300; i++) {
      e = addVerdict(e, true);
      const s = reputationScore(e);
      expect(s).toBeGreaterThan(previous - 1e-12);
      previous = s;
    }
    // Saturates near, but below, 1: decay caps the effective evidence at 1 / (1 − decay) verdicts.
    expect(previous).toBeGreaterThan(0.9);
    expect(previous).toBeLessThan(1);
    expect(e.validWeight).toBeLessThan(1 / (1 - REPUTATION_DECAY));
  });

  it("the first valid results lift a newcomer off 0", () => {
    expect(reputationScore(verdicts([true]))).toBeGreaterThan(0);
    expect(reputationScore(verdicts(repeat(true, 5)))).toBeGreaterThan(reputationScore(verdicts([true])));
  });

  it("one invalid result weighs more than one valid result", () => {
    for (const n of [5, 20, 100]) {
      const base = verdicts(repeat(true, n));
      const up = reputationScore(addVerdict(base, true)) - reputationScore(base);
      const down = reputationScore(base) - reputationScore(addVerdict(base, false));
      expect(down).toBeGreaterThan(up);
      expect(down).toBeGreaterThan(0);
    }
  });

  it("a recent invalid result costs more than an old one (order matters under decay)", () => {
    const recent = verdicts([...repeat(true, 30), false]);
    const old = verdicts([false, ...repeat(true, 30)]);
    expect(reputationScore(old)).toBeGreaterThan(reputationScore(recent));
  });

  it("decay lets an old invalid result fade: enough valid results afterwards restore the score", () => {
    const clean = verdicts(repeat(true, 300));
    const tainted = verdicts([...repeat(true, 100), false, false, false]);
    const justAfter = reputationScore(tainted);
    expect(justAfter).toBeLessThan(reputationScore(clean) - 0.1);
    const later = verdicts(repeat(true, 300), tainted);
    expect(later.invalidWeight).toBeLessThan(3 * REPUTATION_DECAY ** 300 + 1e-12);
    expect(reputationScore(later)).toBeGreaterThan(justAfter);
    expect(reputationScore(later)).toBeCloseTo(reputationScore(clean), 2);
  });

  it("a provider that is often wrong stays well below an honest one", () => {
    const honest = verdicts(repeat(true, 200));
    // Wrong one time in five, evenly spread.
    const flaky = verdicts(Array.from({ length: 200 }, (_, i) => i % 5 !== 4));
    expect(reputationScore(flaky)).toBeLessThan(0.8);
    expect(reputationScore(honest) - reputationScore(flaky)).toBeGreaterThan(0.15);
  });
});
