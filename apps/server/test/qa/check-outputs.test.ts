import { describe, expect, it } from "vitest";
import type { RawTensor, TensorInfo } from "@stun/shared";
import { checkOutputs } from "../../src/qa/check-outputs";

const f32 = (dims: number[]): RawTensor => ({ dtype: "float32", dims, data: new Uint8Array(4 * dims.reduce((a, b) => a * b, 1)) });
const declared: TensorInfo[] = [{ name: "y", dtype: "float32", shape: ["N", 3] }];

describe("checkOutputs (what a provider may return)", () => {
  it("accepts declared outputs, any size for a symbolic dimension, and drops undeclared ones", () => {
    const kept = checkOutputs({ y: f32([5, 3]), extra: f32([1]) }, declared);
    expect(Object.keys(kept)).toEqual(["y"]);
    expect(kept.y!.dims).toEqual([5, 3]);
  });

  it.each([
    [{}, /"y" is missing/],
    [{ y: { ...f32([1, 3]), dtype: "float64" } }, /"y" is float64, the model declares float32/],
    [{ y: f32([3]) }, /"y" has rank 1, the model declares 2/],
    [{ y: f32([1, 4]) }, /"y" has dims \[1,4\], the model declares \[N,3\]/],
    [{ y: { dtype: "float32", dims: [1, 3], data: new Uint8Array(5) } }, /y/],
  ] as Array<[Record<string, RawTensor>, RegExp]>)("refuses %j", (outputs, message) => {
    expect(() => checkOutputs(outputs, declared)).toThrow(message);
  });
});
