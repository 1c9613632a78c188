/**
 * The fee split of an accepted task, in integer base units (bigint, never floats): 80% to the
 * providers who ran it, 15% to the treasury, 5% to the model's creator.
 */

export const BPS_DENOMINATOR = 10_000n;

/** Shares in basis points; they sum to 10,000. */
export const FEE_SPLIT = { providerBps: 8000, treasuryBps: 1500, creatorBps: 500 } as const;

export interface FeeSplit {
  /** Σ of the executions' amounts. */
  total: bigint;
  treasury: bigint;
  creator: bigint;
  /** One entry per execution, in input order; Σ amount = total − treasury − creator. */
  providers: Array<{ id: string; amount: bigint }>;
}

/**
 * Splits the fees of a task's accepted executions.
 *
 * - `total` = Σ execution amounts; `treasury` = ⌊total·15%⌋; `creator` = ⌊total·5%⌋.
 * - The provider pool is `total − treasury − creator`, so it absorbs both rounding remainders and
 *   is always ≥ 80% of the total.
 * - The pool is shared pro rata to each execution's amount: each provider first gets
 *   ⌊pool·amount/total⌋; the base units left over (fewer than the number of providers) go one
 *   each to the providers with the largest fractional remainders (pool·amount mod total), ties in
 *   input order (largest-remainder method). Every share is therefore within one base unit of its
 *   exact proportion, and the shares sum to the pool exactly.
 *
 * Throws RangeError on a negative amount.
 */
export function splitFee(executions: ReadonlyArray<{ id: string; amount: bigint }>): FeeSplit {
  for (const e of executions) {
    if (e.amount < 0n) throw new RangeError(`execution ${e.id}: negative amount ${e.amount}`);
  }
  const total = executions.reduce((sum, e) => sum + e.amount, 0n);
  const treasury = (total * BigInt(FEE_SPLIT.treasuryBps)) / BPS_DENOMINATOR;
  const creator = (total * BigInt(FEE_SPLIT.creatorBps)) / BPS_DENOMINATOR;
  const pool = total - treasury - creator;
  if (total === 0n) return { total, treasury, creator, providers: executions.map((e) => ({ id: e.id, amount: 0n })) };

  const shares = executions.map((e, index) => ({
    id: e.id,
    amount: (pool * e.amount) / total,
    remainder: (pool * e.amount) % total,
    index,
  }));
  let leftover = pool - shares.reduce((sum, s) => sum + s.amount, 0n);
  const byRemainder = [...shares].sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const s of byRemainder) {
    if (leftover === 0n) break;
    s.amount += 1n;
    leftover -= 1n;
  }
  return { total, treasury, creator, providers: shares.map(({ id, amount }) => ({ id, amount })) };
}
