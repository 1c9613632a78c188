import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { argmaxRows, compareTensorMaps, compareTensors, DEFAULT_TOLERANCES, MAX_REPORTED_MISMATCHES, toleranceFor } from "../src/comparator";
import { float32ToFloat16 } from "../src/float16";
import type { RawTensor } from "../src/tensor";
import { arbRawTensor, f32, f64, i32, i64, leBytes } from "./arbitraries";

const t32 = (xs: number[], dims = [xs.length]): RawTensor => ({ dtype: "float32", dims, data: f32(xs) });
const t64 = (xs: number[]): RawTensor => ({ dtype: "float64", dims: [xs.length], data: f64(xs) });
const t16 = (xs: number[]): RawTensor => ({
  dtype: "float16",
  dims: [xs.length],
  data: leBytes(xs, 2, (v, o, x) => v.setUint16(o, float32ToFloat16(x), true)),
});

describe("compareTensors", () => {
  it("is reflexive for every valid tensor", () => {
    fc.assert(
      fc.property(arbRawTensor(), (t) => {
        expect(compareTensors(t, t).equal).toBe(true);
      }),
    );
  });

  it("is symmetric", () => {
    const arb = fc.array(fc.float({ noDefaultInfinity: false }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        const n = Math.min(a.length, b.length);
        const x = t32(a.slice(0, n));
        const y = t32(b.slice(0, n));
        expect(compareTensors(x, y).equal).toBe(compareTensors(y, x).equal);
      }),
    );
  });

  it("applies |a−b| ≤ abs + rel·max(|a|,|b|) with the float32 defaults", () => {
    // abs 1e-4 + rel 1e-3 · 1000 = 1.0001 allowed around 1000
    expect(compareTensors(t32([1000]), t32([1001])).equal).toBe(true);
    expect(compareTensors(t32([1000]), t32([1001.01])).equal).toBe(false);
    expect(compareTensors(t32([0]), t32([9e-5])).equal).toBe(true);
    expect(compareTensors(t32([0]), t32([2e-4])).equal).toBe(false);
  });

  it("uses per-dtype defaults", () => {
    expect(compareTensors(t16([1]), t16([1.0078125])).equal).toBe(true); // float16 allows ~2e-2 around 1
    expect(compareTensors(t32([1]), t32([1.0078125])).equal).toBe(false);
    expect(compareTensors(t64([1]), t64([1 + 5e-7])).equal).toBe(true);
    expect(compareTensors(t64([1]), t64([1 + 5e-6])).equal).toBe(false);
    expect(DEFAULT_TOLERANCES.float32).toEqual({ abs: 1e-4, rel: 1e-3 });
  });

  it("reports max abs/rel differences and the mismatching elements (capped)", () => {
    const a = Array.from({ length: 30 }, (_, i) => i);
    const b = a.map((x) => x + 1);
    const r = compareTensors(t32(a), t32(b), { name: "logits" });
    expect(r.equal).toBe(false);
    expect(r.maxAbsDiff).toBe(1);
    expect(r.maxRelDiff).toBe(1); // 0 vs 1
    expect(r.mismatchCount).toBe(30);
    expect(r.mismatches).toHaveLength(MAX_REPORTED_MISMATCHES);
    expect(r.mismatches[2]).toEqual({ output: "logits", reason: "values", index: 2, expected: 2, got: 3 });
  });

  it("treats NaN and infinities as specified", () => {
    expect(compareTensors(t32([NaN]), t32([NaN])).equal).toBe(true);
    expect(compareTensors(t32([NaN]), t32([NaN]), { nanEqual: false }).equal).toBe(false);
    expect(compareTensors(t32([NaN]), t32([0])).equal).toBe(false);
    expect(compareTensors(t32([Infinity]), t32([Infinity])).equal).toBe(true);
    expect(compareTensors(t32([Infinity]), t32([-Infinity])).equal).toBe(false);
    expect(compareTensors(t32([Infinity]), t32([3.4e38]), { tolerance: { rel: 1 } }).equal).toBe(false);
    const r = compareTensors(t32([1, -Infinity]), t32([1, 0]));
    expect(r.maxAbsDiff).toBe(0); // non-finite pairs do not enter the maxima
    expect(r.mismatches[0]).toEqual({ output: "output", reason: "values", index: 1, expected: "-Infinity", got: 0 });
  });

  it("accepts a uniform or per-dtype tolerance override", () => {
    expect(compareTensors(t32([1]), t32([1.5]), { tolerance: { abs: 0.6 } }).equal).toBe(true);
    expect(compareTensors(t32([1]), t32([1.5]), { tolerance: { float16: { abs: 1, rel: 0 } } }).equal).toBe(false);
    expect(compareTensors(t32([1]), t32([1.00001]), { tolerance: { abs: 0, rel: 0 } }).equal).toBe(false);
    expect(toleranceFor("float16", { rel: 0.5 })).toEqual({ abs: 1e-2, rel: 0.5 });
    expect(toleranceFor("int32", { abs: 5 })).toEqual({ abs: 0, rel: 0 }); // uniform override is for floats only
  });

  it("compares integers, bools and strings exactly unless a per-dtype tolerance relaxes integers", () => {
    const ints = (xs: number[]): RawTensor => ({ dtype: "int32", dims: [xs.length], data: i32(xs) });
    expect(compareTensors(ints([5, 6]), ints([5, 7])).mismatches).toEqual([{ output: "output", reason: "values", index: 1, expected: 6, got: 7 }]);
    expect(compareTensors(ints([100]), ints([101]), { tolerance: { int32: { abs: 1, rel: 0 } } }).equal).toBe(true);
    const big = (xs: bigint[]): RawTensor => ({ dtype: "int64", dims: [xs.length], data: i64(xs) });
    const r = compareTensors(big([2n ** 62n]), big([2n ** 62n + 1n]));
    expect(r.equal).toBe(false);
    expect(r.mismatches[0]).toMatchObject({ expected: "4611686018427387904", got: "4611686018427387905" });
    const bool = (xs: number[]): RawTensor => ({ dtype: "bool", dims: [xs.length], data: new Uint8Array(xs) });
    expect(compareTensors(bool([1, 0]), bool([1, 1])).equal).toBe(false);
    const str = (xs: string[]): RawTensor => ({ dtype: "string", dims: [xs.length], data: xs });
    expect(compareTensors(str(["cat", "dog"]), str(["cat", "Dog"])).mismatches[0]).toMatchObject({ index: 1, expected: "dog", got: "Dog" });
  });

  it("reports dtype and dims differences without comparing values", () => {
    expect(compareTensors(t32([1]), t64([1])).mismatches).toEqual([{ output: "output", reason: "dtype", expected: "float32", got: "float64" }]);
    expect(compareTensors(t32([1, 2], [2]), t32([1, 2], [1, 2])).mismatches).toEqual([{ output: "output", reason: "dims", expected: [2], got: [1, 2] }]);
  });
});

describe("argmax mode", () => {
  it("finds the argmax per row: ties to the lowest index, NaN wins", () => {
    expect([...argmaxRows([1, 3, 3, 0, 9, 2, 5, NaN, 7], 3)]).toEqual([1, 1, 1]);
    expect([...argmaxRows([NaN, 5], 2)]).toEqual([0]);
    expect([...argmaxRows([], 0)]).toEqual([]);
  });

  it("accepts different values with the same class per row, rejects a changed class", () => {
    const a = t32([0.1, 0.7, 0.2, 0.5, 0.3, 0.2], [2, 3]);
    const same = t32([0.2, 0.4000001, 0.4, 0.9, 0.05, 0.05], [2, 3]);
    expect(compareTensors(a, same).equal).toBe(false);
    const r = compareTensors(a, same, { argmax: true });
    expect(r.equal).toBe(true);
    expect(r.maxAbsDiff).toBeCloseTo(0.4, 6); // value diffs are still measured
    const other = t32([0.1, 0.2, 0.7, 0.5, 0.3, 0.2], [2, 3]);
    expect(compareTensors(a, other, { argmax: true, name: "probs" }).mismatches).toEqual([{ output: "probs", reason: "argmax", index: 0, expected: 1, got: 2 }]);
  });

  it("compares scalars and non-float outputs by value", () => {
    expect(compareTensors(t32([1], []), t32([2], []), { argmax: true }).equal).toBe(false);
    const ints = (xs: number[]): RawTensor => ({ dtype: "int32", dims: [xs.length], data: i32(xs) });
    expect(compareTensors(ints([0, 5]), ints([1, 5]), { argmax: true }).equal).toBe(false);
  });
});

describe("compareTensorMaps", () => {
  it("reports missing and extra outputs, in name order", () => {
    const r = compareTensorMaps({ b: t32([1]), a: t32([1]) }, { a: t32([1]), c: t32([1]) });
    expect(r.equal).toBe(false);
    expect(r.mismatches).toEqual([
      { output: "b", reason: "missing" },
      { output: "c", reason: "extra" },
    ]);
  });

  it("aggregates maxima over outputs", () => {
    const r = compareTensorMaps({ a: t32([1]), b: t32([10]) }, { a: t32([1.0001]), b: t32([10.005]) });
    expect(r.equal).toBe(true);
    expect(r.maxAbsDiff).toBeCloseTo(0.005, 5);
    expect(r.maxRelDiff).toBeCloseTo(0.0005, 5);
  });

  it("equal maps compare equal with empty mismatches", () => {
    expect(compareTensorMaps({}, {})).toEqual({ equal: true, maxAbsDiff: 0, maxRelDiff: 0, mismatchCount: 0, mismatches: [] });
  });
});
