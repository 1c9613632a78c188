/**
 * mulberry32: a tiny deterministic PRNG (uniform in [0, 1)), so the same seed always gives the
 * same numbers — model weights in tests and benchmarks, calibration inputs, fault injection. Not
 * for anything an adversary must not predict (the server draws audits with node:crypto).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` deterministic float32 weights uniform in ±scale (mulberry32 from `seed`). */
export function uniformWeights(seed: number, n: number, scale: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}
