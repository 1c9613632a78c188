import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StunError } from "../src/errors";
import type { RawTensor } from "../src/tensor";
import { canonicalTensorMapBytes, deserializeTensorMap, serializeTensorMap } from "../src/tensor-container";
import { arbTensorMap, atOffset, f32 } from "./arbitraries";

const plain = (t: RawTensor) => ({ dtype: t.dtype, dims: t.dims, data: Array.isArray(t.data) ? t.data : [...t.data] });
const plainMap = (m: Record<string, RawTensor>) => Object.fromEntries(Object.entries(m).map(([k, t]) => [k, plain(t)]));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

describe("tensor container", () => {
  it("round-trips any map", () => {
    fc.assert(
      fc.property(arbTensorMap, (map) => {
        expect(plainMap(deserializeTensorMap(serializeTensorMap(map)))).toEqual(plainMap(map));
      }),
    );
  });

  it("is canonical: key order and byte offsets do not change the bytes", () => {
    fc.assert(
      fc.property(arbTensorMap, (map) => {
        const reversed = Object.fromEntries(
          Object.entries(map)
            .reverse()
            .map(([k, t]) => [k, Array.isArray(t.data) ? t : { ...t, data: atOffset(t.data, 3) }]),
        );
        expect(hex(canonicalTensorMapBytes(reversed))).toBe(hex(canonicalTensorMapBytes(map)));
      }),
    );
  });

  it("distinguishes maps that differ only in dtype, dims, name or string boundaries", () => {
    const bytes = (m: Record<string, RawTensor>) => hex(canonicalTensorMapBytes(m));
    const base = { a: { dtype: "float32", dims: [2], data: f32([1, 2]) } as RawTensor };
    const variants: Array<Record<string, RawTensor>> = [
      base,
      { a: { dtype: "int32", dims: [2], data: f32([1, 2]) } },
      { a: { dtype: "float32", dims: [1, 2], data: f32([1, 2]) } },
      { b: { dtype: "float32", dims: [2], data: f32([1, 2]) } },
      { a: { dtype: "string", dims: [2], data: ["ab", "c"] } },
      { a: { dtype: "string", dims: [2], data: ["a", "bc"] } },
    ];
    expect(new Set(variants.map(bytes)).size).toBe(variants.length);
  });

  it("has the documented layout", () => {
    const b = serializeTensorMap({ x: { dtype: "uint8", dims: [2], data: new Uint8Array([7, 9]) } });
    // "STNT" v1 count=1 | nameLen=1 "x" | dtype uint8 (8) rank 1 | dim 2 | data 07 09
    expect(hex(b)).toBe("53544e5401" + "01000000" + "01000000" + "78" + "08" + "01" + "02000000" + "0709");
  });

  it("sorts names by UTF-8 bytes", () => {
    const t: RawTensor = { dtype: "bool", dims: [], data: new Uint8Array([1]) };
    const b = serializeTensorMap({ "\u{1F600}": t, "\uFFFF": t, b: t, a: t });
    const names = Object.keys(deserializeTensorMap(b));
    expect(names).toEqual(["a", "b", "\uFFFF", "\u{1F600}"]); // UTF-16 order would put U+1F600 (D83D…) before U+FFFF
  });

  it("rejects every truncation and trailing bytes", () => {
    const b = serializeTensorMap({ s: { dtype: "string", dims: [2], data: ["héllo", ""] }, f: { dtype: "float32", dims: [1], data: f32([1]) } });
    for (let n = 0; n < b.length; n++) {
      expect(() => deserializeTensorMap(b.subarray(0, n))).toThrow(StunError);
    }
    const longer = new Uint8Array(b.length + 1);
    longer.set(b);
    expect(() => deserializeTensorMap(longer)).toThrow("1 unexpected trailing bytes");
  });

  it.each([
    ["bad magic", (b: Uint8Array) => (b[0] = 0x41), 'no "STNT" magic'],
    ["bad version", (b: Uint8Array) => (b[4] = 2), "unsupported version 2"],
    ["unknown dtype", (b: Uint8Array) => (b[14] = 99), "unknown dtype code 99"],
    ["bad bool", (b: Uint8Array) => (b[b.length - 1] = 5), "bools must be 0 or 1"],
    ["rank > 8", (b: Uint8Array) => (b[15] = 9), "rank 9 exceeds 8"],
  ])("rejects %s", (_, corrupt, message) => {
    const b = serializeTensorMap({ x: { dtype: "bool", dims: [1], data: new Uint8Array([1]) } });
    corrupt(b);
    const run = () => deserializeTensorMap(b);
    expect(run).toThrow(message);
    try {
      run();
    } catch (e) {
      expect((e as StunError).code).toBe("TENSOR_INVALID");
    }
  });

  it("rejects duplicate names and invalid UTF-8", () => {
    const one = serializeTensorMap({ x: { dtype: "bool", dims: [], data: new Uint8Array([0]) } });
    const entry = one.subarray(9);
    const dup = new Uint8Array(9 + 2 * entry.length);
    dup.set(one.subarray(0, 9));
    dup[5] = 2; // count
    dup.set(entry, 9);
    dup.set(entry, 9 + entry.length);
    expect(() => deserializeTensorMap(dup)).toThrow('duplicate tensor "x"');
    const badName = one.slice();
    badName[13] = 0xff;
    expect(() => deserializeTensorMap(badName)).toThrow("name is not valid UTF-8");
  });

  it("refuses to serialize an invalid tensor", () => {
    expect(() => serializeTensorMap({ x: { dtype: "float32", dims: [2], data: new Uint8Array(4) } })).toThrow('tensor "x": float32 [2] needs 8 bytes');
  });
});
