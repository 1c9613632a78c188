import { describe, expect, it } from "vitest";
import { continentOf, isEligible, type MatchRequest, type ProviderSnapshot, SCORE_WEIGHTS, type ScoreWeights, scoreProvider, validateWeights } from "../src/scoring";
import { provider } from "./arbitraries";

const req = (over: Partial<MatchRequest> = {}): MatchRequest => ({ maxPrice: 200n, ...over });
const only = (factor: keyof ScoreWeights): ScoreWeights => ({ spec: 0, reputation: 0, price: 0, proximity: 0, load: 0, history: 0, [factor]: 1 });

describe("eligibility", () => {
  it("accepts a provider meeting every constraint", () => {
    expect(isEligible(provider(), req({ backend: "cuda", kind: "native", minVramMb: 8000, minComputeCapability: 8.6, region: "us-east" }))).toBe(true);
  });

  it.each([
    ["no free slot", provider({ active: 2 }), req()],
    ["zero slots", provider({ slots: 0 }), req()],
    ["too expensive", provider({ price: 201n }), req()],
    ["wrong backend", provider(), req({ backend: "cpu" })],
    ["wrong kind", provider(), req({ kind: "browser" })],
    ["too little VRAM", provider(), req({ minVramMb: 8001 })],
    ["compute capability too low", provider(), req({ minComputeCapability: 9 })],
    ["excluded", provider(), req({ exclude: new Set(["p1"]) })],
  ])("rejects: %s", (_, p, r) => {
    expect(isEligible(p, r)).toBe(false);
    expect(scoreProvider(p, r)).toBeNull();
  });

  it("compares prices beyond 2^53 exactly", () => {
    const max = 2n ** 60n;
    expect(Number(max + 1n)).toBe(Number(max)); // the numbers collide...
    expect(isEligible(provider({ price: max + 1n }), req({ maxPrice: max }))).toBe(false); // ...the check does not
    expect(isEligible(provider({ price: max }), req({ maxPrice: max }))).toBe(true);
  });
});

describe("factors", () => {
  const score = (factor: keyof ScoreWeights, p: Partial<ProviderSnapshot>, r: Partial<MatchRequest> = {}) => scoreProvider(provider(p), req(r), only(factor));

  it("spec: saturating throughput, half at SPEC_IPS_HALF", () => {
    expect(score("spec", { benchmarkIps: 0 })).toBe(0);
    expect(score("spec", { benchmarkIps: 100 })).toBe(0.5);
    expect(score("spec", { benchmarkIps: 300 })).toBe(0.75);
    expect(score("spec", { benchmarkIps: Infinity })).toBe(1);
    expect(score("spec", { benchmarkIps: NaN })).toBe(0);
  });

  it("reputation: clamped to 0..1", () => {
    expect(score("reputation", { reputation: 0.8 })).toBe(0.8);
    expect(score("reputation", { reputation: 3 })).toBe(1);
    expect(score("reputation", { reputation: NaN })).toBe(0);
  });

  it("price: cheaper is better relative to maxPrice", () => {
    expect(score("price", { price: 0n })).toBe(1);
    expect(score("price", { price: 50n })).toBe(0.75);
    expect(score("price", { price: 200n })).toBe(0);
    expect(score("price", { price: 0n }, { maxPrice: 0n })).toBe(1);
  });

  it("proximity: region 1, continent 0.5, elsewhere 0, unspecified 1", () => {
    expect(score("proximity", {}, { region: "eu-west" })).toBe(1);
    expect(score("proximity", {}, { region: "eu-central" })).toBe(0.5);
    expect(score("proximity", {}, { region: "us-east" })).toBe(0);
    expect(score("proximity", { region: "local" }, { region: "local" })).toBe(1);
    expect(score("proximity", {})).toBe(1);
    expect(continentOf("ap-south-1")).toBe("ap");
    expect(continentOf("local")).toBe("local");
  });

  it("load: free capacity", () => {
    expect(score("load", { active: 0, slots: 4 })).toBe(1);
    expect(score("load", { active: 3, slots: 4 })).toBe(0.25);
  });

  it("history: Laplace prior, 0.5 for a newcomer", () => {
    expect(score("history", {})).toBe(0.5);
    expect(score("history", { completed: 98, failed: 0 })).toBe(0.99);
    expect(score("history", { completed: 0, failed: 8 })).toBe(0.1);
  });

  it("weights sum to 1 and the total combines the factors", () => {
    expect(Object.values(SCORE_WEIGHTS).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // spec .5, reputation .5, price .5, proximity 1, load 1, history .5
    expect(scoreProvider(provider(), req())).toBeCloseTo(0.15 * 0.5 + 0.25 * 0.5 + 0.2 * 0.5 + 0.1 + 0.15 + 0.15 * 0.5, 12);
  });

  it("rejects negative or non-finite weights", () => {
    expect(() => validateWeights({ ...SCORE_WEIGHTS, price: -1 })).toThrow("score weight price");
    expect(() => validateWeights({ ...SCORE_WEIGHTS, load: NaN })).toThrow(RangeError);
  });
});
