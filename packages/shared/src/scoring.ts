/**
 * Provider scoring for the scheduler. A provider is first checked for eligibility (hard
 * constraints), then scored as a weighted sum of six factors, each in [0, 1]:
 *
 * - **spec** — how much compute the provider brings beyond the request's hard minimums (those are
 *   eligibility): its measured throughput, `benchmarkIps / (benchmarkIps + SPEC_IPS_HALF)`, which
 *   saturates so that a much faster machine does not drown every other factor.
 * - **reputation** — the provider's reputation (0..1, moved by verification verdicts).
 * - **price** — cheaper is better, relative to what the requester accepts: `1 − price / maxPrice`
 *   (1 when maxPrice is 0, as only free providers are then eligible).
 * - **proximity** — same region 1, same continent (the region's part before its first "-", e.g.
 *   "eu" in "eu-west") 0.5, elsewhere 0; 1 for everyone when the request names no region.
 * - **load** — free capacity, `1 − active / slots`.
 * - **history** — completion rate with a uniform prior (Laplace's rule),
 *   `(completed + 1) / (completed + failed + 2)`: 0.5 for a newcomer, moving with evidence.
 *
 * spec, reputation, load and history do not depend on the request; they form the provider's
 * {@link providerBaseScore}, which ProviderIndex precomputes. The score is always computed as
 * `base + requestScore(...)` so the index and {@link scoreProvider} agree bit for bit.
 */
import type { Backend, ProviderKind } from "./schemas/common";

export interface ProviderSnapshot {
  id: string;
  kind: ProviderKind;
  backend: Backend;
  region: string;
  /** Flat price per execution in base units. */
  price: bigint;
  /** Price per unit of the model's work (docs/PRICING.md § Units); an execution costs {@link priceFor}. */
  pricePerUnit?: bigint;
  /** 0..1 */
  reputation: number;
  slots: number;
  active: number;
  vramMb: number;
  computeCapability: number;
  benchmarkIps: number;
  completed: number;
  failed: number;
}

export interface MatchRequest {
  backend?: Backend;
  kind?: ProviderKind;
  minVramMb?: number;
  minComputeCapability?: number;
  region?: string;
  maxPrice: bigint;
  /** The model's units of work, which per-unit prices multiply (1 when omitted). */
  units?: bigint;
  /** Providers that must not be picked (e.g. those that already ran this task). */
  exclude?: ReadonlySet<string>;
}

export interface ScoreWeights {
  spec: number;
  reputation: number;
  price: number;
  proximity: number;
  load: number;
  history: number;
}

/** Default weights (sum 1): reputation leads, then price, then capacity, history and speed. */
export const SCORE_WEIGHTS: Readonly<ScoreWeights> = {
  spec: 0.15,
  reputation: 0.25,
  price: 0.2,
  proximity: 0.1,
  load: 0.15,
  history: 0.15,
};

/** The benchmark throughput (inferences/s) that earns half the spec factor. */
export const SPEC_IPS_HALF = 100;

const clamp01 = (x: number): number => (x > 1 ? 1 : x >= 0 ? x : 0); // NaN → 0
const count = (x: number): number => (x > 0 ? x : 0);

/** Throws RangeError unless every weight is a finite number ≥ 0. */
export function validateWeights(w: ScoreWeights): void {
  for (const [k, v] of Object.entries(w)) {
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`score weight ${k} must be a finite number ≥ 0, got ${v}`);
  }
}

/** The continent of a region: its part before the first "-" (the whole name if it has none). */
export function continentOf(region: string): string {
  const dash = region.indexOf("-");
  return dash < 0 ? region : region.slice(0, dash);
}

/** The request-independent part of the score: spec, reputation, load and history. */
export function providerBaseScore(p: ProviderSnapshot, w: ScoreWeights = SCORE_WEIGHTS): number {
  const ips = p.benchmarkIps;
  const spec = ips > 0 ? (Number.isFinite(ips) ? ips / (ips + SPEC_IPS_HALF) : 1) : 0;
  const load = p.slots > 0 ? clamp01(1 - p.active / p.slots) : 0;
  const completed = count(p.completed);
  const history = (completed + 1) / (completed + count(p.failed) + 2);
  return w.spec * spec + w.reputation * clamp01(p.reputation) + w.load * load + w.history * history;
}

/** What a provider asks for one execution of a model of `units`: its flat price plus its per-unit price × units. */
export const priceFor = (p: { price: bigint; pricePerUnit?: bigint }, units = 1n): bigint => p.price + (p.pricePerUnit ?? 0n) * units;

/** The price factor from prices as numbers (see the module comment). */
export const priceFactor = (price: number, maxPrice: number): number => (maxPrice > 0 ? clamp01(1 - price / maxPrice) : 1);

/** The request-dependent part of the score. */
export const requestScore = (w: ScoreWeights, price: number, proximity: number): number => w.price * price + w.proximity * proximity;

/** The proximity factor of a provider in `region` for a request (see the module comment). */
export function proximityFactor(region: string, requested: string | undefined): number {
  if (requested === undefined || region === requested) return 1;
  return continentOf(region) === continentOf(requested) ? 0.5 : 0;
}

/**
 * Hard constraints: a free slot (active < slots), {@link priceFor} ≤ maxPrice (exact, in bigint), the
 * requested backend and kind, at least the requested VRAM and compute capability, not excluded.
 */
export function isEligible(p: ProviderSnapshot, req: MatchRequest): boolean {
  return (
    p.active < p.slots &&
    priceFor(p, req.units) <= req.maxPrice &&
    (req.backend === undefined || p.backend === req.backend) &&
    (req.kind === undefined || p.kind === req.kind) &&
    p.vramMb >= (req.minVramMb ?? -Infinity) &&
    p.computeCapability >= (req.minComputeCapability ?? -Infinity) &&
    !(req.exclude?.has(p.id) ?? false)
  );
}

/** The provider's score for a request (higher is better), or null when it is not eligible. */
export function scoreProvider(p: ProviderSnapshot, req: MatchRequest, weights: ScoreWeights = SCORE_WEIGHTS): number | null {
  if (!isEligible(p, req)) return null;
  const price = priceFactor(Number(priceFor(p, req.units)), Number(req.maxPrice));
  return providerBaseScore(p, weights) + requestScore(weights, price, proximityFactor(p.region, req.region));
}
