/**
 * The live price index (docs/PRICING.md § Index): per model class (units.ts modelClassOf) and
 * backend, the median per-unit price of the most recent clearing prices — what accepted executions
 * actually paid, divided by their model's units. Pure and in memory: the server builds one from a
 * cheap read of recent accepted assignments (services/quote.ts), bench/market-sim.ts feeds one
 * directly.
 */
import { medianOf } from "./median";
import { modelClassOf, perUnitOf } from "./units";

/** One clearing: an accepted execution's price (its proving fee excluded) on a model of `units`. */
export interface Clearing {
  backend: string;
  units: bigint;
  price: bigint;
}

/** The index's answer for a class: the median per-unit price and how many clearings it rests on. */
export interface IndexPoint {
  perUnit: bigint;
  samples: number;
  /** Whether the point is the class's over every backend (none on the one asked for). */
  anyBackend: boolean;
}

/** Clearings kept per class and backend (the oldest drop out first). */
export const DEFAULT_WINDOW = 64;

const key = (modelClass: number | "*", backend: string): string => `${modelClass}:${backend}`;

export class PriceIndex {
  private readonly windows = new Map<string, bigint[]>();

  constructor(private readonly window = DEFAULT_WINDOW) {
    if (!(Number.isInteger(window) && window > 0)) throw new RangeError(`window must be a positive integer, got ${window}`);
  }

  /** Records a clearing (oldest first when replaying history). */
  record(c: Clearing): void {
    const perUnit = perUnitOf(c.price, c.units);
    const cls = modelClassOf(c.units);
    for (const k of [key(cls, c.backend), key(cls, "*"), key("*", c.backend)]) {
      let w = this.windows.get(k);
      if (!w) {
        w = [];
        this.windows.set(k, w);
      }
      w.push(perUnit);
      if (w.length > this.window) w.shift();
    }
  }

  /** The point for a model of `units` on `backend` (any backend when omitted or when it has none). */
  lookup(units: bigint, backend?: string): IndexPoint | undefined {
    const cls = modelClassOf(units);
    const own = backend === undefined ? undefined : this.windows.get(key(cls, backend));
    const w = own && own.length > 0 ? own : this.windows.get(key(cls, "*"));
    const perUnit = w ? medianOf(w) : undefined;
    if (!w || perUnit === undefined) return undefined;
    return { perUnit, samples: w.length, anyBackend: w !== own };
  }

  /** The point over every model class on `backend`: what a provider following the index quotes per unit. */
  onBackend(backend: string): IndexPoint | undefined {
    const w = this.windows.get(key("*", backend));
    const perUnit = w ? medianOf(w) : undefined;
    return w && perUnit !== undefined ? { perUnit, samples: w.length, anyBackend: false } : undefined;
  }
}
