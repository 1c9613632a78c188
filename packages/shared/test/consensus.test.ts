import { describe, expect, it } from "vitest";
import { findMajority, groupByAgreement } from "../src/consensus";
import type { RawTensor } from "../src/tensor";
import { f32 } from "./arbitraries";

const r = (...xs: number[]) => ({ outputs: { y: { dtype: "float32", dims: [xs.length], data: f32(xs) } as RawTensor } });
const abs1 = { tolerance: { abs: 1, rel: 0 } };

describe("groupByAgreement", () => {
  it("groups results that agree with the group's first member", () => {
    expect(groupByAgreement([r(1), r(5), r(1.00001), r(5), r(9)])).toEqual([[0, 2], [1, 3], [4]]);
  });

  it("uses the first member as representative (agreement is not transitive)", () => {
    // 0 ~ 0.8 and 0.8 ~ 1.6, but 0 ≁ 1.6: 1.6 starts its own group rather than chaining.
    expect(groupByAgreement([r(0), r(0.8), r(1.6)], abs1)).toEqual([[0, 1], [2]]);
    // Order matters: with 0.8 first, both others join it.
    expect(groupByAgreement([r(0.8), r(0), r(1.6)], abs1)).toEqual([[0, 1, 2]]);
  });

  it("puts a malformed result alone and never makes it a representative", () => {
    const bad = { outputs: { y: { dtype: "float32", dims: [1], data: new Uint8Array(3) } as RawTensor } };
    expect(groupByAgreement([bad, r(1), bad, r(1)])).toEqual([[0], [1, 3], [2]]);
  });
});

describe("findMajority", () => {
  it("returns the largest group reaching quorum", () => {
    expect(findMajority([r(1), r(2), r(1)], 2)).toEqual({ winners: [0, 2], losers: [1] });
    expect(findMajority([r(2), r(1), r(1), r(1), r(2)], 2)).toEqual({ winners: [1, 2, 3], losers: [0, 4] });
  });

  it("breaks a tie between equally large groups by the group formed first", () => {
    expect(findMajority([r(2), r(1), r(1), r(2)], 2)).toEqual({ winners: [0, 3], losers: [1, 2] });
  });

  it("returns null when no group reaches quorum", () => {
    expect(findMajority([r(1), r(2)], 2)).toBeNull();
    expect(findMajority([], 1)).toBeNull();
  });

  it("honours comparison options (argmax)", () => {
    const a = r(0.1, 0.9);
    const b = r(0.4, 0.6);
    expect(findMajority([a, b], 2)).toBeNull();
    expect(findMajority([a, b], 2, { argmax: true })).toEqual({ winners: [0, 1], losers: [] });
  });

  it("rejects a quorum that is not a positive integer", () => {
    expect(() => findMajority([r(1)], 0)).toThrow(RangeError);
    expect(() => findMajority([r(1)], 1.5)).toThrow("quorum must be a positive integer");
  });
});
