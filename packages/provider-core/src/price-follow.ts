/**
 * Following the price index (docs/PRICING.md § Providers following the index): a provider that
 * opts in quotes, per unit of work, the index's median clearing price on its backend — never below
 * its floor. Before the index has any clearing it keeps its quote. Pure; the session asks the
 * server (`provider:price`) on a timer and sends the new quote when it changes.
 */
export interface FollowPolicy {
  /** The lowest per-unit price the provider accepts, base units. */
  floor: bigint;
  /** How often it looks at the index, ms. */
  everyMs: number;
}

/** The per-unit quote to send: max(floor, index) when the index has a point, else the current one (never below the floor). */
export function followedPrice(current: bigint, indexPerUnit: bigint | undefined, floor: bigint): bigint {
  const target = indexPerUnit ?? current;
  return target > floor ? target : floor;
}
