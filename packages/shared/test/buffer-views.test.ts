import { describe, expect, it } from "vitest";
import { compareTensorMaps, copyBytes, deserializeTensorMap, serializeTensorMap, toTypedArray } from "../src";

/**
 * Node hands out Buffers that are views at arbitrary offsets into larger memory (fs.readFile's
 * pool, socket frames), and `Buffer#slice` returns a view, not a copy. The codec must read exactly
 * the bytes in view.
 */
describe("Node Buffer views at odd offsets", () => {
  const values = new Float32Array([1.5, -2.25, 3e-7, 42]);
  const pooled = () => {
    const slab = Buffer.alloc(64, 0xee);
    Buffer.from(values.buffer).copy(slab, 7);
    return slab.subarray(7, 7 + values.byteLength);
  };

  it("copyBytes copies a Buffer instead of aliasing it", () => {
    const view = pooled();
    const copy = copyBytes(view);
    expect(copy.byteOffset).toBe(0);
    expect([...copy]).toEqual([...view]);
    const before = copy[0]!;
    view[0] = before ^ 0xff;
    expect(copy[0]).toBe(before);
  });

  it("toTypedArray decodes the viewed bytes, not the start of the underlying memory", () => {
    const t = toTypedArray({ dtype: "float32", dims: [4], data: pooled() });
    expect([...(t.data as Float32Array)]).toEqual([...values]);
  });

  it("a tensor map read back from a pooled Buffer compares equal to the original", () => {
    const map = { y: { dtype: "float32" as const, dims: [4], data: new Uint8Array(values.buffer) } };
    const bytes = serializeTensorMap(map);
    const slab = Buffer.alloc(bytes.length + 13);
    Buffer.from(bytes).copy(slab, 13);
    const back = deserializeTensorMap(slab.subarray(13));
    expect(compareTensorMaps(map, back).equal).toBe(true);
  });
});
