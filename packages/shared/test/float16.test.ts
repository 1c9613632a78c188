import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { float16ArrayToFloat32, float16ToFloat32, float32ToFloat16 } from "../src/float16";

describe("float16", () => {
  it("decodes known patterns", () => {
    expect(float16ToFloat32(0x3c00)).toBe(1);
    expect(float16ToFloat32(0xc000)).toBe(-2);
    expect(float16ToFloat32(0x7bff)).toBe(65504);
    expect(float16ToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16ToFloat32(0x0400)).toBe(2 ** -14);
    expect(float16ToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(float16ToFloat32(0x7c00)).toBe(Infinity);
    expect(float16ToFloat32(0xfc00)).toBe(-Infinity);
    expect(Object.is(float16ToFloat32(0x8000), -0)).toBe(true);
    expect(float16ToFloat32(0x7e00)).toBeNaN();
    expect(float16ToFloat32(0xfc01)).toBeNaN();
  });

  it("round-trips every one of the 65,536 patterns (NaNs to the canonical NaN)", () => {
    const table = float16ArrayToFloat32(new Uint16Array(65536).map((_, i) => i));
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const v = float16ToFloat32(h);
      if (!Object.is(table[h], Math.fround(v)) || float32ToFloat16(v) !== (Number.isNaN(v) ? 0x7e00 : h)) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it("rounds like NumPy (direct from double, ties to even, overflow, subnormals)", () => {
    // [double, numpy.float16 bits] generated with numpy 2.4: np.array(v).astype(np.float16).view(np.uint16)
    const cases: Array<[number, number]> = [
      [65519.99, 31743],
      [65520.0, 31744],
      [65504.0, 31743],
      [2.9802322387695312e-8, 0],
      [4.470348358154297e-8, 1],
      [2.980232834815979e-8, 1],
      [1.00048828125, 15360],
      [1.0004882812509095, 15361],
      [1.00146484375, 15362],
      [6.1005353927612305e-5, 1024],
      [0.1, 11878],
      [-0.0, 32768],
      [1e-8, 0],
      [3.14159, 16968],
      [-65536.0, 64512],
      [6.1e-5, 1023],
      [5.96e-8, 1],
      [2.98e-8, 0],
    ];
    for (const [x, bits] of cases) expect([x, float32ToFloat16(x)]).toEqual([x, bits]);
  });

  it("returns the nearest representable half for any double (ties to even)", () => {
    fc.assert(
      fc.property(fc.double({ min: -70000, max: 70000, noNaN: true }), (x) => {
        const h = float32ToFloat16(x);
        const v = float16ToFloat32(h);
        if (!Number.isFinite(v)) {
          expect(Math.abs(x)).toBeGreaterThanOrEqual(65520);
          return;
        }
        const mag = h & 0x7fff;
        // Neighbours of the result in magnitude order, same sign.
        for (const n of [mag - 1, mag + 1]) {
          if (n < 0 || n >= 0x7c00) continue;
          const nv = float16ToFloat32((h & 0x8000) | n);
          const d = Math.abs(x - v);
          const dn = Math.abs(x - nv);
          expect(d).toBeLessThanOrEqual(dn);
          if (d === dn) expect(mag % 2).toBe(0);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
