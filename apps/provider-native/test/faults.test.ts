import { describe, expect, it } from "vitest";
import { createFault } from "../src/faults";

describe("TEST-ONLY fault injection", () => {
  it("perturb moves every float element far enough to fail a comparison, and leaves the input untouched", () => {
    const values = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i) * (i % 7));
    const data = new Uint8Array(values.buffer.slice(0));
    const out = createFault("perturb", 7)({ y: { dtype: "float32", dims: [4096], data } });
    const moved = new Float32Array((out.y!.data as Uint8Array).slice().buffer);
    let smallest = Infinity;
    for (let i = 0; i < values.length; i++) smallest = Math.min(smallest, Math.abs(moved[i]! - values[i]!));
    expect(smallest).toBeGreaterThanOrEqual(0.0049);
    expect(new Float32Array(data.buffer)).toEqual(values);
  });
});
