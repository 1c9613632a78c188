/** Percentiles of a sample (nearest-rank), for the benchmarks' printed figures. */
export function percentiles(sample: readonly number[]): { p50: number; p90: number; p99: number; max: number; mean: number } {
  const s = [...sample].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[s.length - 1] ?? NaN, mean };
}
