/**
 * A model's unit of work, the thing providers price per unit and the index is kept in
 * (docs/PRICING.md § Units). One unit is one MiB of the model's ONNX file, rounded up (at least 1):
 * the weights dominate the file and a dense network does about one multiply-accumulate per weight
 * per sample, so the size is a proxy for its compute that every model has at upload, costs nothing
 * to read and cannot be gamed by the uploader without paying for the bytes. Money is bigint base
 * units throughout; every division rounds up (the provider is never paid less than it quoted).
 */

/** Bytes per unit of work. */
export const UNIT_BYTES = 1n << 20n;

/** The model's units of work: ceil(sizeBytes / UNIT_BYTES), at least 1. */
export function unitsOf(sizeBytes: number | bigint): bigint {
  const b = BigInt(sizeBytes);
  return b <= 0n ? 1n : ceilDiv(b, UNIT_BYTES);
}

/**
 * The model's class for the price index: the bit length of its units (1 unit → 1, 2–3 → 2,
 * 4–7 → 3, ...), so each class spans a factor of two in size.
 */
export const modelClassOf = (units: bigint): number => (units <= 0n ? 0 : units.toString(2).length);

/** ceil(a / b) for a ≥ 0, b > 0. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  if (b <= 0n) throw new RangeError(`ceilDiv by ${b}`);
  return (a + b - 1n) / b;
}

/** A provider's price for one execution: its per-unit price × the model's units (exact). */
export const priceForUnits = (pricePerUnit: bigint, units: bigint): bigint => pricePerUnit * units;

/** What one execution paid per unit of work: ceil(price / units). */
export const perUnitOf = (price: bigint, units: bigint): bigint => ceilDiv(price, units > 0n ? units : 1n);

/** `amount` × (1 + bps / 10,000), rounded up. */
export const withMarginBps = (amount: bigint, bps: bigint): bigint => ceilDiv(amount * (10_000n + bps), 10_000n);
