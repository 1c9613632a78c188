import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProviderIndex } from "../src/provider-index";
import { BACKENDS, PROVIDER_KINDS } from "../src/schemas/common";
import { type MatchRequest, type ProviderSnapshot, SCORE_WEIGHTS, type ScoreWeights, scoreProvider } from "../src/scoring";
import { provider } from "./arbitraries";

/** The reference answer: rank every provider by scoreProvider, ties by id. */
function bruteForce(providers: Iterable<ProviderSnapshot>, req: MatchRequest, k: number, w: ScoreWeights = SCORE_WEIGHTS): string[] {
  const scored: Array<[number, string]> = [];
  for (const p of providers) {
    const s = scoreProvider(p, req, w);
    if (s !== null) scored.push([s, p.id]);
  }
  scored.sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? -1 : 1));
  return scored.slice(0, Math.max(0, k)).map(([, id]) => id);
}

const HUGE = 2n ** 60n;
const arbPrice = fc.oneof(fc.bigInt({ min: 0n, max: 20n }), fc.constantFrom(HUGE - 1n, HUGE, HUGE + 1n, HUGE + 2n));
const arbRegion = fc.constantFrom("eu-west", "eu-central", "us-east", "local", "ap-south");
// Few distinct values so that equal scores (and the id tie-break) happen often.
const arbProvider = fc.record({
  id: fc.constantFrom(...Array.from({ length: 60 }, (_, i) => `p${String(i).padStart(2, "0")}`)),
  kind: fc.constantFrom(...PROVIDER_KINDS),
  backend: fc.constantFrom(...BACKENDS),
  region: arbRegion,
  price: arbPrice,
  // Flat, per-unit (docs/PRICING.md) or both: an execution costs price + pricePerUnit × units.
  pricePerUnit: fc.oneof(fc.constant(0n), arbPrice),
  reputation: fc.constantFrom(0, 0.5, 1, 0.3),
  slots: fc.integer({ min: 0, max: 3 }),
  active: fc.integer({ min: 0, max: 3 }),
  vramMb: fc.constantFrom(0, 4000, 16000),
  computeCapability: fc.constantFrom(0, 7.5, 8.6),
  benchmarkIps: fc.constantFrom(0, 100, 250),
  completed: fc.integer({ min: 0, max: 3 }),
  failed: fc.integer({ min: 0, max: 3 }),
});
const arbRequest: fc.Arbitrary<MatchRequest> = fc.record(
  {
    backend: fc.constantFrom(...BACKENDS),
    kind: fc.constantFrom(...PROVIDER_KINDS),
    minVramMb: fc.constantFrom(0, 4000, 8000),
    minComputeCapability: fc.constantFrom(7, 8.6),
    region: fc.oneof(arbRegion, fc.constant("sa-east")),
    maxPrice: arbPrice,
    units: fc.constantFrom(1n, 2n, 7n, 2n ** 20n),
    exclude: fc.uniqueArray(fc.constantFrom("p00", "p01", "p02", "p03", "p04", "p05"), { maxLength: 3 }).map((a) => new Set(a)),
  },
  { requiredKeys: ["maxPrice"] },
);
const arbOp = fc.oneof(
  { weight: 5, arbitrary: arbProvider.map((p) => ({ op: "upsert" as const, p })) },
  { weight: 1, arbitrary: arbProvider.map((p) => ({ op: "remove" as const, id: p.id })) },
  { weight: 2, arbitrary: fc.record({ id: arbProvider.map((p) => p.id), active: fc.integer({ min: 0, max: 3 }) }).map((x) => ({ op: "active" as const, ...x })) },
  // A copy of another provider under a new id: equal scores, so the id tie-break is exercised.
  { weight: 2, arbitrary: fc.tuple(arbProvider, arbProvider).map(([a, b]) => ({ op: "clone" as const, from: a.id, to: b.id })) },
);

describe("ProviderIndex", () => {
  // Default weights; weights where the request part dominates (so the bucket bound prunes often);
  // and weights with no base part at all (every provider in one bucket: crowded cells).
  const weightSets: Array<[string, ScoreWeights]> = [
    ["default weights", SCORE_WEIGHTS],
    ["request-heavy weights", { spec: 0.1, reputation: 0.1, price: 1, proximity: 1, load: 0.1, history: 0.1 }],
    ["price/proximity only", { spec: 0, reputation: 0, price: 1, proximity: 1, load: 0, history: 0 }],
  ];
  it.each(weightSets)("picks exactly what ranking by scoreProvider picks, through any sequence of updates (%s)", (_, weights) => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 150, size: "max" }), fc.array(fc.tuple(arbRequest, fc.integer({ min: 0, max: 6 })), { minLength: 1, maxLength: 6 }), (ops, requests) => {
        const index = new ProviderIndex(weights, 2); // tiny capacity: exercises growth
        const model = new Map<string, ProviderSnapshot>();
        const upsert = (p: ProviderSnapshot) => {
          index.upsert(p);
          model.set(p.id, { ...p });
        };
        for (const o of ops) {
          if (o.op === "upsert") upsert(o.p);
          else if (o.op === "clone") {
            const from = model.get(o.from);
            if (from) upsert({ ...from, id: o.to });
          } else if (o.op === "remove") {
            expect(index.remove(o.id)).toBe(model.delete(o.id));
          } else {
            const p = model.get(o.id);
            expect(index.setActive(o.id, o.active)).toBe(p !== undefined);
            if (p) p.active = o.active;
          }
        }
        expect(index.size).toBe(model.size);
        for (const [id, p] of model) expect(index.get(id)).toEqual(p);
        for (const [req, k] of requests) expect(index.pick(req, k)).toEqual(bruteForce(model.values(), req, k, weights));
        // Everything eligible, in order: catches a provider lost from (or doubled in) the search structure.
        expect(index.pick({ maxPrice: 2n ** 62n }, 1000)).toEqual(bruteForce(model.values(), { maxPrice: 2n ** 62n }, 1000, weights));
      }),
      { numRuns: 300 },
    );
  });

  it("also agrees under custom weights", () => {
    const w: ScoreWeights = { spec: 0, reputation: 0, price: 1, proximity: 2, load: 0, history: 0 };
    fc.assert(
      fc.property(fc.uniqueArray(arbProvider, { selector: (p) => p.id, maxLength: 20 }), arbRequest, (ps, req) => {
        const index = new ProviderIndex(w);
        ps.forEach((p) => index.upsert(p));
        expect(index.pick(req, 3)).toEqual(bruteForce(ps, req, 3, w));
      }),
    );
  });

  it("ranks by score, breaks ties by id, returns fewer when fewer are eligible", () => {
    const index = new ProviderIndex();
    index.upsert(provider({ id: "b", reputation: 0.9 }));
    index.upsert(provider({ id: "a", reputation: 0.9 }));
    index.upsert(provider({ id: "c", reputation: 0.2 }));
    index.upsert(provider({ id: "full", reputation: 1, active: 2 }));
    expect(index.pick({ maxPrice: 1000n }, 2)).toEqual(["a", "b"]);
    expect(index.pick({ maxPrice: 1000n }, 10)).toEqual(["a", "b", "c"]);
    expect(index.pick({ maxPrice: 1000n, exclude: new Set(["a"]) }, 2)).toEqual(["b", "c"]);
    expect(index.pick({ maxPrice: 1000n, backend: "webgpu" }, 2)).toEqual([]);
    expect(index.pick({ maxPrice: 1000n }, 0)).toEqual([]);
    index.setActive("full", 0);
    expect(index.pick({ maxPrice: 1000n }, 1)).toEqual(["full"]);
  });

  it("lets a later, lower id displace an equal score from a full buffer", () => {
    const index = new ProviderIndex();
    for (const id of ["e", "d", "c", "b", "a"]) index.upsert(provider({ id }));
    expect(index.pick({ maxPrice: 1000n }, 1)).toEqual(["a"]);
    expect(index.pick({ maxPrice: 1000n }, 2)).toEqual(["a", "b"]);
  });

  it("removes by swapping the last slot in, keeping lookups right", () => {
    const index = new ProviderIndex();
    for (const id of ["a", "b", "c"]) index.upsert(provider({ id }));
    expect(index.remove("a")).toBe(true);
    expect(index.remove("a")).toBe(false);
    expect(index.size).toBe(2);
    expect(index.get("c")?.id).toBe("c");
    index.setActive("c", 2);
    expect(index.pick({ maxPrice: 1000n }, 5)).toEqual(["b"]);
    expect(index.setActive("zzz", 1)).toBe(false);
  });

  it("returns copies, not its internal state", () => {
    const index = new ProviderIndex();
    const p = provider({ id: "x" });
    index.upsert(p);
    p.active = 2; // mutating the caller's object does not reach the index
    index.get("x")!.active = 2;
    expect(index.pick({ maxPrice: 1000n }, 1)).toEqual(["x"]);
  });
});
