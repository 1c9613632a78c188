import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { followedPrice } from "../src/price-follow";

describe("followedPrice", () => {
  it("quotes the index, never below the floor; keeps its quote (floored) before the index has a point", () => {
    expect(followedPrice(5n, 8n, 3n)).toBe(8n);
    expect(followedPrice(5n, 2n, 3n)).toBe(3n);
    expect(followedPrice(5n, undefined, 3n)).toBe(5n);
    expect(followedPrice(1n, undefined, 3n)).toBe(3n);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.option(fc.bigInt({ min: 0n, max: 10n ** 18n }), { nil: undefined }), fc.bigInt({ min: 0n, max: 10n ** 18n }), (current, index, floor) => {
        const next = followedPrice(current, index, floor);
        expect(next >= floor).toBe(true);
        expect(next === floor || next === (index ?? current)).toBe(true);
      }),
    );
  });
});
