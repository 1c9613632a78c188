/** The compiler's knobs (fixed-point scale and proven activation range) and their defaults. */

/** Version of the compiler's output format (changes the circuit, its keys and the hash tag). */
export const ZKML_COMPILER_VERSION = 1;

export interface ZkmlOptions {
  /** k: reals are round(x · 2^k) (default 16). */
  scaleBits?: number;
  /** A: activations are proven to satisfy |x · 2^k| < 2^(A−1) (default 32, i.e. |x| < 32768 at k = 16). */
  activationBits?: number;
  /** Publish PoseidonSponge(quantized input) as `inputHash` (default true; ~612 constraints per 16 inputs). */
  commitInput?: boolean;
}

export interface ResolvedZkmlOptions {
  scaleBits: number;
  activationBits: number;
  commitInput: boolean;
}

export function resolveOptions(opts: ZkmlOptions = {}): ResolvedZkmlOptions {
  const scaleBits = opts.scaleBits ?? 16;
  const activationBits = opts.activationBits ?? 32;
  if (!Number.isInteger(scaleBits) || scaleBits < 1 || scaleBits > 48) throw new RangeError(`scaleBits must be an integer in 1..48, got ${scaleBits}`);
  if (!Number.isInteger(activationBits) || activationBits < 2 || activationBits + 2 * scaleBits > 200) {
    throw new RangeError(`activationBits must be an integer ≥ 2 with activationBits + 2·scaleBits ≤ 200, got ${activationBits}`);
  }
  return { scaleBits, activationBits, commitInput: opts.commitInput ?? true };
}
