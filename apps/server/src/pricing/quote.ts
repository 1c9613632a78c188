/**
 * A quote, pure (docs/PRICING.md § Quote): from the model's units, the index's point (or, before any
 * clearing, the median ask of the providers connected now), the executions the verification mode
 * needs, the zk proving fee and the queue, what a task is expected to cost and to wait.
 */
import { MAX_AMOUNT } from "@stun/shared";
import { medianOf } from "./median";
import { priceForUnits, withMarginBps } from "./units";
import type { IndexPoint } from "./price-index";

export interface QuoteFacts {
  units: bigint;
  index: IndexPoint | undefined;
  /** What the providers connected now ask for one execution of this model. */
  asks: readonly bigint[];
  /** Executions the mode needs at most (services/tasks.ts maxExecutions). */
  executions: number;
  /** The zk proving fee per execution (0 outside mode zk). */
  zkFee: bigint;
  queued: number;
  freeSlots: number;
  slots: number;
  /** Median run time of recent accepted executions, ms (0 when none). */
  runMs: number;
  /** DEFAULT_MAX_PRICE: the maxPrice of a submit without one until the index has minSamples. */
  fallbackMaxPrice: bigint;
  /** QUOTE_MARGIN_BPS. */
  marginBps: bigint;
  /** QUOTE_MIN_SAMPLES: clearings the index needs before submits default to it. */
  minSamples: number;
}

export interface PriceQuote {
  source: "index" | "asks" | "default";
  pricePerUnit: bigint;
  pricePerExecution: bigint;
  total: bigint;
  /**
   * The maxPrice a submit without one gets: the index's per-execution price plus the proving fee,
   * with the margin, once the index rests on minSamples clearings; DEFAULT_MAX_PRICE before.
   */
  defaultMaxPrice: bigint;
  /** Null when no provider is connected (no slot will free up). */
  expectedWaitMs: number | null;
  samples: number;
}

/** Per-unit price: the index when it has a point, else the median ask, else the operator's default. */
function perUnit(f: QuoteFacts): { source: PriceQuote["source"]; perUnit: bigint; perExecution: bigint } {
  if (f.index) return { source: "index", perUnit: f.index.perUnit, perExecution: priceForUnits(f.index.perUnit, f.units) };
  const ask = medianOf(f.asks);
  if (ask !== undefined) return { source: "asks", perUnit: (ask + f.units - 1n) / f.units, perExecution: ask };
  return { source: "default", perUnit: (f.fallbackMaxPrice + f.units - 1n) / f.units, perExecution: f.fallbackMaxPrice };
}

/**
 * Expected wait before the task's first execution starts: none when a slot is free for it,
 * else one median run per full round of the slots ahead of it.
 */
export function expectedWaitMs(queued: number, freeSlots: number, slots: number, runMs: number): number | null {
  if (slots <= 0) return null;
  if (queued < freeSlots) return 0;
  return Math.ceil((queued - freeSlots + 1) / slots) * runMs;
}

export function quote(f: QuoteFacts): PriceQuote {
  const p = perUnit(f);
  const execution = p.perExecution + f.zkFee;
  const settled = p.source === "index" && (f.index?.samples ?? 0) >= f.minSamples;
  // Capped at the largest amount a request may name (the Task row's bigint column holds it).
  const withMargin = withMarginBps(execution, f.marginBps);
  const defaultMaxPrice = settled ? (withMargin < MAX_AMOUNT ? withMargin : MAX_AMOUNT) : f.fallbackMaxPrice;
  return {
    source: p.source,
    pricePerUnit: p.perUnit,
    pricePerExecution: p.perExecution,
    total: execution * BigInt(f.executions),
    defaultMaxPrice,
    expectedWaitMs: expectedWaitMs(f.queued, f.freeSlots, f.slots, f.runMs),
    samples: f.index?.samples ?? 0,
  };
}
