/**
 * The robust statistic the price index is kept with: the median (the upper one of an even count).
 * A single quote, however high, moves it by at most one rank: one provider cannot raise the index
 * for everyone (bench/market-sim.ts shows it).
 */
export function medianOf(values: readonly bigint[]): bigint | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[sorted.length >> 1];
}
