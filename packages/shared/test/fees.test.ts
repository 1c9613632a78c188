import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FEE_SPLIT, splitFee } from "../src/fees";

const arbExecutions = fc.array(fc.record({ id: fc.string({ maxLength: 4 }), amount: fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: 10n ** 30n })) }), { maxLength: 7 });

describe("splitFee", () => {
  it("splits 80/15/5", () => {
    expect(FEE_SPLIT.providerBps + FEE_SPLIT.treasuryBps + FEE_SPLIT.creatorBps).toBe(10_000);
    expect(splitFee([{ id: "p", amount: 1000n }])).toEqual({ total: 1000n, treasury: 150n, creator: 50n, providers: [{ id: "p", amount: 800n }] });
  });

  it("gives the rounding remainder to the provider pool", () => {
    // 999: treasury ⌊149.85⌋ = 149, creator ⌊49.95⌋ = 49, pool 801 (> 80%).
    expect(splitFee([{ id: "p", amount: 999n }])).toMatchObject({ treasury: 149n, creator: 49n, providers: [{ id: "p", amount: 801n }] });
    expect(splitFee([{ id: "p", amount: 1n }])).toMatchObject({ treasury: 0n, creator: 0n, providers: [{ id: "p", amount: 1n }] });
  });

  it("hands leftover units to the largest fractional remainders, ties in input order", () => {
    // total 3 → pool 3, three equal shares of 1 each: exact.
    expect(
      splitFee([
        { id: "a", amount: 1n },
        { id: "b", amount: 1n },
        { id: "c", amount: 1n },
      ]).providers.map((p) => p.amount),
    ).toEqual([1n, 1n, 1n]);
    // total 20 → treasury 3, creator 1, pool 16 split 1:1:1:1:1:... among amounts [2, 3, 5, 10]:
    // exact 1.6, 2.4, 4, 8 → floors 1, 2, 4, 8 (=15), leftover 1 to the largest remainder (a: .6).
    expect(
      splitFee([
        { id: "a", amount: 2n },
        { id: "b", amount: 3n },
        { id: "c", amount: 5n },
        { id: "d", amount: 10n },
      ]).providers,
    ).toEqual([
      { id: "a", amount: 2n },
      { id: "b", amount: 2n },
      { id: "c", amount: 4n },
      { id: "d", amount: 8n },
    ]);
    // total 7 → treasury 1, creator 0, pool 6 over [1,1,1,1,1,1,1]: each 6/7 → 0, six leftovers to the first six.
    const seven = splitFee(Array.from({ length: 7 }, (_, i) => ({ id: `p${i}`, amount: 1n })));
    expect(seven.providers.map((p) => p.amount)).toEqual([1n, 1n, 1n, 1n, 1n, 1n, 0n]);
  });

  it("handles no executions and zero amounts", () => {
    expect(splitFee([])).toEqual({ total: 0n, treasury: 0n, creator: 0n, providers: [] });
    expect(splitFee([{ id: "a", amount: 0n }]).providers).toEqual([{ id: "a", amount: 0n }]);
  });

  it("throws on a negative amount", () => {
    expect(() =>
      splitFee([
        { id: "a", amount: 5n },
        { id: "b", amount: -1n },
      ]),
    ).toThrow("execution b: negative amount -1");
  });

  it("conserves every base unit, keeps each share within one unit of its proportion, and pays providers ≥ 80%", () => {
    fc.assert(
      fc.property(arbExecutions, (executions) => {
        const s = splitFee(executions);
        const total = executions.reduce((a, e) => a + e.amount, 0n);
        const pool = s.providers.reduce((a, p) => a + p.amount, 0n);
        expect(s.total).toBe(total);
        expect(pool + s.treasury + s.creator).toBe(total);
        expect(pool * 10_000n >= total * 8_000n).toBe(true);
        expect(s.treasury).toBe((total * 1500n) / 10_000n);
        expect(s.creator).toBe((total * 500n) / 10_000n);
        expect(s.providers.map((p) => p.id)).toEqual(executions.map((e) => e.id));
        if (total === 0n) return;
        s.providers.forEach((p, i) => {
          // |share − pool·amount/total| < 1  ⇔  |share·total − pool·amount| < total
          const err = p.amount * total - pool * executions[i]!.amount;
          expect(err < total && -err < total).toBe(true);
          expect(p.amount >= 0n).toBe(true);
        });
      }),
      { numRuns: 500 },
    );
  });
});
