/**
 * The pricing core (apps/server/src/pricing, docs/PRICING.md): units and integer money, the
 * index's robustness to one high quote, and the quote's arithmetic.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { medianOf } from "../../src/pricing/median";
import { PriceIndex } from "../../src/pricing/price-index";
import { expectedWaitMs, quote, type QuoteFacts } from "../../src/pricing/quote";
import { ceilDiv, modelClassOf, perUnitOf, priceForUnits, UNIT_BYTES, unitsOf, withMarginBps } from "../../src/pricing/units";

const amount = fc.bigInt({ min: 0n, max: 10n ** 18n });

describe("units and money", () => {
  it("counts a model's units as MiB of its file, rounded up, at least 1", () => {
    expect(unitsOf(0)).toBe(1n);
    expect(unitsOf(1)).toBe(1n);
    expect(unitsOf(Number(UNIT_BYTES))).toBe(1n);
    expect(unitsOf(Number(UNIT_BYTES) + 1)).toBe(2n);
    expect(unitsOf(256 * 1024 * 1024)).toBe(256n);
    expect([1n, 2n, 3n, 4n, 7n, 8n].map(modelClassOf)).toEqual([1, 2, 2, 3, 3, 4]);
  });

  it("rounds every division up, never below the exact value and less than one unit above it", () => {
    fc.assert(
      fc.property(amount, fc.bigInt({ min: 1n, max: 10n ** 9n }), (price, units) => {
        const perUnit = perUnitOf(price, units);
        expect(perUnit * units >= price).toBe(true);
        expect(perUnit * units - price < units).toBe(true);
        expect(ceilDiv(priceForUnits(perUnit, units), units)).toBe(perUnit);
      }),
    );
  });

  it("adds a margin in basis points, rounded up", () => {
    expect(withMarginBps(7n, 5000n)).toBe(11n);
    expect(withMarginBps(100n, 2000n)).toBe(120n);
    expect(withMarginBps(0n, 2000n)).toBe(0n);
    fc.assert(
      fc.property(amount, fc.bigInt({ min: 0n, max: 100_000n }), (a, bps) => {
        const m = withMarginBps(a, bps);
        expect(m * 10_000n >= a * (10_000n + bps)).toBe(true);
        expect((m - 1n) * 10_000n < a * (10_000n + bps)).toBe(true);
      }),
    );
  });
});

describe("PriceIndex", () => {
  it("keeps the median per-unit clearing price per model class and backend, falling back to the class over every backend", () => {
    const index = new PriceIndex(8);
    for (const price of [10n, 12n, 11n]) index.record({ backend: "cpu", units: 1n, price });
    index.record({ backend: "cuda", units: 1n, price: 5n });
    expect(index.lookup(1n, "cpu")).toEqual({ perUnit: 11n, samples: 3, anyBackend: false });
    expect(index.lookup(1n, "cuda")).toEqual({ perUnit: 5n, samples: 1, anyBackend: false });
    expect(index.lookup(1n, "webgpu")).toEqual({ perUnit: 11n, samples: 4, anyBackend: true });
    expect(index.lookup(1000n)).toBeUndefined();
    // 40 units paid 400: 10 per unit, in class 6.
    index.record({ backend: "cpu", units: 40n, price: 400n });
    expect(index.lookup(33n, "cpu")?.perUnit).toBe(10n);
    expect(index.onBackend("cpu")).toMatchObject({ samples: 4 });
  });

  it("forgets the oldest clearings beyond its window", () => {
    const index = new PriceIndex(3);
    for (const price of [100n, 100n, 100n, 1n, 1n, 1n]) index.record({ backend: "cpu", units: 1n, price });
    expect(index.lookup(1n, "cpu")).toMatchObject({ perUnit: 1n, samples: 3 });
  });

  it("one provider's clearings, however high, move the index by no more than their rank: a minority cannot set it", () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: 1000n }), { minLength: 3, maxLength: 40 }), fc.bigInt({ min: 1001n, max: 10n ** 15n }), (honest, outlier) => {
        const index = new PriceIndex(1000);
        for (const price of honest) index.record({ backend: "cpu", units: 1n, price });
        // Fewer outliers than half the window: the median stays within the honest prices.
        const n = Math.floor((honest.length - 1) / 2);
        for (let i = 0; i < n; i++) index.record({ backend: "cpu", units: 1n, price: outlier });
        const point = index.lookup(1n, "cpu")!;
        expect(point.perUnit <= honest.reduce((a, b) => (a > b ? a : b))).toBe(true);
      }),
    );
  });

  it("takes the upper median", () => {
    expect(medianOf([])).toBeUndefined();
    expect(medianOf([3n, 1n, 2n])).toBe(2n);
    expect(medianOf([4n, 1n, 3n, 2n])).toBe(3n);
  });
});

describe("quote", () => {
  const facts = (over: Partial<QuoteFacts> = {}): QuoteFacts => ({
    units: 4n,
    index: undefined,
    asks: [],
    executions: 1,
    zkFee: 0n,
    queued: 0,
    freeSlots: 0,
    slots: 0,
    runMs: 0,
    fallbackMaxPrice: 1000n,
    marginBps: 2000n,
    minSamples: 3,
    ...over,
  });

  it("uses the index, else the median ask, else the operator's default", () => {
    expect(quote(facts())).toMatchObject({ source: "default", pricePerExecution: 1000n, defaultMaxPrice: 1000n, expectedWaitMs: null });
    expect(quote(facts({ asks: [9n, 40n, 20n] }))).toMatchObject({ source: "asks", pricePerExecution: 20n, pricePerUnit: 5n, defaultMaxPrice: 1000n });
    const q = quote(facts({ asks: [9n], index: { perUnit: 3n, samples: 3, anyBackend: false }, executions: 3, zkFee: 5n }));
    // (3 × 4 + 5) × 3 executions; default maxPrice (12 + 5) × 1.2 rounded up.
    expect(q).toMatchObject({ source: "index", pricePerUnit: 3n, pricePerExecution: 12n, total: 51n, defaultMaxPrice: 21n, samples: 3 });
  });

  it("defaults a submit's maxPrice to the index only once it rests on minSamples clearings", () => {
    expect(quote(facts({ index: { perUnit: 3n, samples: 2, anyBackend: false } })).defaultMaxPrice).toBe(1000n);
    expect(quote(facts({ index: { perUnit: 3n, samples: 3, anyBackend: false } })).defaultMaxPrice).toBe(15n);
    // Never above the largest amount a request may name.
    expect(quote(facts({ index: { perUnit: 10n ** 18n, samples: 3, anyBackend: false } })).defaultMaxPrice).toBe(10n ** 18n);
  });

  it("expects no wait while a slot is free, one run per full round of the slots ahead otherwise", () => {
    expect(expectedWaitMs(0, 0, 0, 100)).toBeNull();
    expect(expectedWaitMs(1, 2, 2, 100)).toBe(0);
    expect(expectedWaitMs(2, 2, 2, 100)).toBe(100);
    expect(expectedWaitMs(5, 0, 2, 100)).toBe(300);
  });
});
