/**
 * IEEE 754 binary16 ("half", onnxruntime's float16) conversions. Float16 tensors are carried as
 * their raw 16-bit patterns (a Uint16Array), exactly as onnxruntime accepts them.
 */

const TWO_POW_M24 = 2 ** -24;
const TWO_POW_M14 = 2 ** -14;
/** Smallest magnitude that rounds to infinity: max half (65504) plus half an ulp (16), a tie that goes to even (∞). */
const HALF_OVERFLOW = 65520;

/** Decodes a binary16 bit pattern (0..0xffff) into the number it represents (exact). */
export function float16ToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * TWO_POW_M24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/**
 * Encodes a number as the nearest binary16 bit pattern, ties to even, straight from the double (no
 * intermediate float32 rounding). Overflow gives ±Infinity, tiny values give subnormals or ±0 (sign
 * kept), NaN gives the canonical quiet NaN 0x7e00.
 */
export function float32ToFloat16(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= HALF_OVERFLOW) return sign | 0x7c00;
  // Subnormal range: value = m · 2^-24. m may round up to 1024, which is the smallest normal's encoding.
  if (a < TWO_POW_M14) return sign | roundHalfEven(a / TWO_POW_M24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a)
    e--; // log2 can be off by one next to powers of two
  else if (2 ** (e + 1) <= a) e++;
  // Scaling by a power of two is exact; m ∈ [1024, 2048]. m = 2048 carries into the exponent, as it should.
  const m = roundHalfEven(a * 2 ** (10 - e));
  return sign | (((e + 15) << 10) + (m - 1024));
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

let table: Float32Array | undefined;

/** Decodes a whole array of binary16 patterns (via a lazily built 65,536-entry table). */
export function float16ArrayToFloat32(bits: Uint16Array): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) table[i] = float16ToFloat32(i);
  }
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}
