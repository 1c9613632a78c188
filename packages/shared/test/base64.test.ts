import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Base64Error, decodeBase64, decodeBase64Js, encodeBase64, encodeBase64Js } from "../src/base64";

const nodeB64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

describe("base64", () => {
  it("matches RFC 4648 test vectors", () => {
    const vectors: Array<[string, string]> = [
      ["", ""],
      ["f", "Zg=="],
      ["fo", "Zm8="],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg=="],
      ["fooba", "Zm9vYmE="],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, enc] of vectors) {
      const bytes = new TextEncoder().encode(plain);
      expect(encodeBase64Js(bytes)).toBe(enc);
      expect(encodeBase64(bytes)).toBe(enc);
      expect(decodeBase64Js(enc)).toEqual(bytes);
    }
  });

  it("pure-JS and Buffer paths agree with Node and round-trip, at any byte offset", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 5 }), (bytes, off) => {
        const host = new Uint8Array(bytes.length + off);
        host.set(bytes, off);
        const view = host.subarray(off);
        const enc = encodeBase64Js(view);
        expect(enc).toBe(nodeB64(bytes));
        expect(encodeBase64(view)).toBe(enc);
        expect(decodeBase64(enc)).toEqual(bytes);
      }),
    );
  });

  it.each([
    ["Zm9", "not a multiple of 4"],
    ["Zm9v Zg==", "not a multiple of 4"],
    ["Zm 9", 'character " " at offset 2'],
    ["Zm-_", 'character "-" at offset 2'],
    ["Z===", "padding '=' at offset 1"],
    ["Zg=a", "padding '=' at offset 2"],
    ["Zh==", "padding bits are not zero"],
    ["Zm9=", "padding bits are not zero"],
    ["Zm9é", 'character "é" at offset 3'],
    ["====", "padding '=' at offset 0"],
  ])("rejects %j (%s)", (text, why) => {
    expect(() => decodeBase64(text)).toThrow(Base64Error);
    expect(() => decodeBase64(text)).toThrow(why);
  });

  it("handles multi-megabyte payloads quickly", () => {
    const bytes = new Uint8Array(8 << 20);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    const t0 = performance.now();
    const enc = encodeBase64Js(bytes);
    const dec = decodeBase64(enc);
    const ms = performance.now() - t0;
    expect(Buffer.compare(dec, bytes)).toBe(0);
    expect(ms).toBeLessThan(2000); // ~100 ms on a laptop; generous for slow CI
  });
});
