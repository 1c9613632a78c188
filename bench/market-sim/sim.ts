/**
 * The market simulation's model (bench/market-sim.ts prints it; docs/PRICING.md § Simulation),
 * pure and seeded, over the real pricing core (apps/server/src/pricing: the index, units) and the
 * scheduler's matching (@stun/shared ProviderIndex, priceFor — what the dispatcher picks with).
 *
 * Time runs in ticks. Each tick `demand` tasks arrive on a model of `units` units; each requester
 * values an execution at a per-unit value drawn uniformly from [valueMin, valueMax] and submits with
 * maxPrice = value × units (a task whose value is below the quote is not submitted). Queued tasks
 * are matched first come first served, each to the best-scored eligible provider (price ≤ maxPrice,
 * a free slot); a task that waited `patience` ticks is withdrawn. An execution takes `runTicks`
 * ticks and clears at the provider's price, which the index records. Every `repriceEvery` ticks each
 * provider reprices from the index on its backend (provider-core followedPrice, within its floor),
 * nudged by its own utilisation since the last reprice (+step when above `busyAbove`, −step when
 * below `idleBelow`): that nudge is the market's price discovery. A "greedy" provider instead
 * quotes `greedFactor` × the index. `events` change demand or the providers online at given ticks.
 */
import { ProviderIndex, priceFor, type ProviderSnapshot } from "@stun/shared";
import { mulberry32 } from "@stun/testkit";
import { followedPrice } from "../../packages/provider-core/src/price-follow";
import { PriceIndex } from "../../apps/server/src/pricing/price-index";
import { ceilDiv } from "../../apps/server/src/pricing/units";

export interface SimProvider {
  id: string;
  /** Lowest per-unit price it accepts (its cost). */
  floor: bigint;
  slots: number;
  greedy?: boolean;
  /** Ticks [from, to) it is offline (supply steps). */
  away?: readonly [number, number];
}

export interface MarketConfig {
  seed: number;
  ticks: number;
  units: bigint;
  /** Tasks arriving per tick, by tick (step changes). */
  demand: (tick: number) => number;
  valueMin: bigint;
  valueMax: bigint;
  providers: SimProvider[];
  runTicks: number;
  patience: number;
  repriceEvery: number;
  /** Per-unit price each provider starts at. */
  startPrice: bigint;
  stepBps: bigint;
  busyAbove: number;
  idleBelow: number;
  greedFactor: bigint;
  window: number;
}

export interface TickStats {
  tick: number;
  /** The index's per-unit median (0 before any clearing). */
  index: bigint;
  cleared: number;
  queued: number;
  utilisation: number;
}

export interface MarketResult {
  ticks: TickStats[];
  /** Executions each provider ran. */
  runs: Map<string, number>;
  submitted: number;
  cleared: number;
  withdrawn: number;
  balked: number;
  /** Mean ticks a cleared task waited. */
  meanWait: number;
}

interface Task {
  arrived: number;
  maxPrice: bigint;
}

export function simulateMarket(cfg: MarketConfig): MarketResult {
  const rng = mulberry32(cfg.seed);
  const index = new PriceIndex(cfg.window);
  const matching = new ProviderIndex();
  const quote = new Map<string, bigint>(cfg.providers.map((p) => [p.id, cfg.startPrice]));
  const active = new Map<string, number[]>(cfg.providers.map((p) => [p.id, []]));
  const busyTicks = new Map<string, number>(cfg.providers.map((p) => [p.id, 0]));
  const runs = new Map<string, number>(cfg.providers.map((p) => [p.id, 0]));
  const online = (p: SimProvider, t: number) => !(p.away && p.away[0] <= t && t < p.away[1]);
  const snapshot = (p: SimProvider): ProviderSnapshot => ({
    id: p.id,
    kind: "native",
    backend: "cpu",
    region: "local",
    price: 0n,
    pricePerUnit: quote.get(p.id)!,
    reputation: 0.9,
    slots: p.slots,
    active: active.get(p.id)!.length,
    vramMb: 0,
    computeCapability: 0,
    benchmarkIps: 100,
    completed: 100,
    failed: 0,
  });
  const queue: Task[] = [];
  const ticks: TickStats[] = [];
  let submitted = 0;
  let cleared = 0;
  let withdrawn = 0;
  let balked = 0;
  let waited = 0;
  const span = cfg.valueMax - cfg.valueMin + 1n;

  for (let t = 0; t < cfg.ticks; t++) {
    // Executions that end now free their slots; providers come and go.
    for (const p of cfg.providers) {
      const ends = active.get(p.id)!;
      while (ends.length > 0 && ends[0]! <= t) ends.shift();
      if (online(p, t)) matching.upsert(snapshot(p));
      else if (matching.has(p.id)) matching.remove(p.id);
    }
    // Repricing: follow the index within the floor, nudged by utilisation; the greedy one asks a multiple.
    if (t > 0 && t % cfg.repriceEvery === 0) {
      const point = index.onBackend("cpu")?.perUnit;
      for (const p of cfg.providers) {
        if (!online(p, t)) continue;
        const util = busyTicks.get(p.id)! / (p.slots * cfg.repriceEvery);
        busyTicks.set(p.id, 0);
        if (p.greedy) {
          quote.set(p.id, (point ?? cfg.startPrice) * cfg.greedFactor);
          continue;
        }
        const base = followedPrice(quote.get(p.id)!, point, p.floor);
        const nudged = util > cfg.busyAbove ? ceilDiv(base * (10_000n + cfg.stepBps), 10_000n) : util < cfg.idleBelow ? (base * (10_000n - cfg.stepBps)) / 10_000n : base;
        quote.set(p.id, nudged > p.floor ? nudged : p.floor);
        matching.upsert(snapshot(p));
      }
    }
    // Arrivals: a requester submits when the quote (the index, else the start price) is within its value.
    const going = index.onBackend("cpu")?.perUnit ?? cfg.startPrice;
    const n = cfg.demand(t);
    for (let i = 0; i < n; i++) {
      const value = cfg.valueMin + BigInt(Math.floor(rng() * Number(span)));
      if (value < going) {
        balked++;
        continue;
      }
      submitted++;
      queue.push({ arrived: t, maxPrice: value * cfg.units });
    }
    // Matching, first come first served.
    let clearedNow = 0;
    for (let i = 0; i < queue.length; ) {
      const task = queue[i]!;
      if (t - task.arrived > cfg.patience) {
        queue.splice(i, 1);
        withdrawn++;
        continue;
      }
      const [id] = matching.pick({ maxPrice: task.maxPrice, units: cfg.units }, 1);
      if (id === undefined) {
        i++;
        continue;
      }
      const price = priceFor({ price: 0n, pricePerUnit: quote.get(id)! }, cfg.units);
      active.get(id)!.push(t + cfg.runTicks);
      matching.setActive(id, active.get(id)!.length);
      runs.set(id, runs.get(id)! + 1);
      index.record({ backend: "cpu", units: cfg.units, price });
      waited += t - task.arrived;
      queue.splice(i, 1);
      cleared++;
      clearedNow++;
    }
    let busy = 0;
    let slots = 0;
    for (const p of cfg.providers) {
      if (!online(p, t)) continue;
      const a = active.get(p.id)!.length;
      busyTicks.set(p.id, busyTicks.get(p.id)! + a);
      busy += a;
      slots += p.slots;
    }
    ticks.push({ tick: t, index: index.onBackend("cpu")?.perUnit ?? 0n, cleared: clearedNow, queued: queue.length, utilisation: slots > 0 ? busy / slots : 0 });
  }
  return { ticks, runs, submitted, cleared, withdrawn, balked, meanWait: cleared > 0 ? waited / cleared : 0 };
}

/** The median index over ticks [from, to). */
export function indexOver(r: MarketResult, from: number, to: number): bigint {
  const xs = r.ticks
    .slice(from, to)
    .map((s) => s.index)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return xs[xs.length >> 1] ?? 0n;
}

/** The providers: `n` followers with floors spread over [floorMin, floorMax], `slots` each. */
export function followers(n: number, floorMin: bigint, floorMax: bigint, slots: number, extra: Partial<SimProvider> = {}): SimProvider[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `f${String(i).padStart(3, "0")}`,
    floor: floorMin + ((floorMax - floorMin) * BigInt(i)) / BigInt(Math.max(1, n - 1)),
    slots,
    ...extra,
  }));
}

/**
 * The first tick of [from, to) after which the index stays within `tolerance` (a fraction, at least
 * one base unit: prices are integers) of its median over the phase's last quarter.
 */
export function settledAt(r: MarketResult, from: number, to: number, tolerance = 0.1): number {
  const level = Number(indexOver(r, to - Math.floor((to - from) / 4), to));
  const band = Math.max(1, tolerance * level);
  let settled = to;
  for (let t = to - 1; t >= from; t--) {
    if (Math.abs(Number(r.ticks[t]!.index) - level) > band) break;
    settled = t;
  }
  return settled;
}

/**
 * The four-phase scenario bench/market-sim.ts runs and its test checks: `phase` ticks each of
 * baseline demand, demand doubled, the cheaper half of the honest providers away (supply halved),
 * and both back.
 */
export function stepScenario(o: { seed: number; phase: number; baseDemand: number; providers: SimProvider[] }): MarketConfig {
  const { phase } = o;
  return {
    seed: o.seed,
    ticks: 4 * phase,
    units: 4n,
    demand: (t) => (t >= phase && t < 3 * phase ? 2 * o.baseDemand : o.baseDemand),
    valueMin: 1n,
    valueMax: 20n,
    providers: o.providers,
    runTicks: 4,
    patience: 8,
    repriceEvery: 10,
    startPrice: 5n,
    stepBps: 500n,
    busyAbove: 0.9,
    idleBelow: 0.6,
    greedFactor: 10n,
    window: 256,
  };
}

/** `n` honest providers following the index; the cheaper half is away during the third phase. */
export const honestFollowers = (n: number, phase: number): SimProvider[] => followers(n, 2n, 8n, 2).map((p, i) => (i < n / 2 ? { ...p, away: [2 * phase, 3 * phase] as const } : p));

/** `k` providers quoting greedFactor × the index. */
export const greedyProviders = (k: number): SimProvider[] => Array.from({ length: k }, (_, i) => ({ id: `g${i}`, floor: 2n, slots: 2, greedy: true }));
