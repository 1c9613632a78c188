/**
 * An in-memory index of online providers for fast exact top-k matching.
 *
 * Layout: struct of arrays, one slot per provider (Float64Arrays for numbers, small-int codes for
 * backend/kind/region/continent), an id → slot Map, swap-remove on delete. Each slot caches the
 * request-independent part of its score ({@link providerBaseScore}, refreshed on upsert and
 * setActive), so `pick` is one linear pass of cheap compares plus a k-slot insertion buffer.
 *
 * Prices are compared as numbers and only fall back to bigint when the numbers tie and one side
 * is above 2^53 (where Number() rounds): Number() is monotonic, so `Number(a) < Number(b)` implies
 * `a < b` and `>` likewise; below 2^53 the conversion is exact. The result is always exactly what
 * sorting every provider by {@link scoreProvider} (descending, ties by id ascending) would give.
 */
import {
  type MatchRequest,
  type ProviderSnapshot,
  providerBaseScore,
  priceFactor,
  requestScore,
  SCORE_WEIGHTS,
  type ScoreWeights,
  continentOf,
  validateWeights,
} from "./scoring";

/** Maps strings to small dense integer codes. */
class Interner {
  private readonly codes = new Map<string, number>();
  /** The code of `s`, assigning a new one if needed. */
  intern(s: string): number {
    let c = this.codes.get(s);
    if (c === undefined) this.codes.set(s, (c = this.codes.size));
    return c;
  }
  /** The code of `s`, or -1 if no provider ever had it. */
  peek(s: string): number {
    return this.codes.get(s) ?? -1;
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const isExact = (v: bigint): boolean => v <= MAX_SAFE && v >= -MAX_SAFE;

export class ProviderIndex {
  private readonly weights: ScoreWeights;
  private n = 0;
  private readonly slotOf = new Map<string, number>();
  private ids: string[] = [];
  private snapshots: ProviderSnapshot[] = [];
  private readonly backends = new Interner();
  private readonly kinds = new Interner();
  private readonly regions = new Interner();
  private readonly continents = new Interner();

  private base = new Float64Array(0);
  private price = new Float64Array(0);
  private priceExact = new Uint8Array(0);
  private active = new Float64Array(0);
  private slots = new Float64Array(0);
  private vram = new Float64Array(0);
  private cc = new Float64Array(0);
  private backend = new Int32Array(0);
  private kind = new Int32Array(0);
  private region = new Int32Array(0);
  private continent = new Int32Array(0);

  constructor(weights: ScoreWeights = SCORE_WEIGHTS, initialCapacity = 1024) {
    validateWeights(weights);
    this.weights = { ...weights };
    this.grow(Math.max(1, initialCapacity));
  }

  /** Number of providers in the index. */
  get size(): number {
    return this.n;
  }

  /** A copy of the provider's snapshot (with its current `active`), or undefined. */
  get(id: string): ProviderSnapshot | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : { ...this.snapshots[slot]! };
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  /** Adds a provider or replaces the one with the same id. The snapshot is copied. */
  upsert(p: ProviderSnapshot): void {
    let slot = this.slotOf.get(p.id);
    if (slot === undefined) {
      if (this.n === this.base.length) this.grow(this.n * 2);
      slot = this.n++;
      this.slotOf.set(p.id, slot);
    }
    this.write(slot, { ...p });
  }

  /** Removes a provider; returns whether it was present. */
  remove(id: string): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.slotOf.delete(id);
    const last = --this.n;
    if (slot !== last) {
      const moved = this.snapshots[last]!;
      this.slotOf.set(moved.id, slot);
      this.write(slot, moved);
    }
    this.snapshots.length = this.n;
    this.ids.length = this.n;
    return true;
  }

  /** Updates a provider's number of running executions; returns false if it is unknown. */
  setActive(id: string, active: number): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    const snap = this.snapshots[slot]!;
    snap.active = active;
    this.active[slot] = active;
    this.base[slot] = providerBaseScore(snap, this.weights);
    return true;
  }

  /**
   * The ids of the (at most) k highest-scoring eligible providers, best first; equal scores are
   * ordered by id. Same answer as ranking every provider with scoreProvider.
   */
  pick(req: MatchRequest, k: number): string[] {
    if (!(k >= 1) || this.n === 0) return [];
    k = Math.min(Math.floor(k), this.n);
    const wantBackend = req.backend === undefined ? -1 : this.backends.peek(req.backend);
    const wantKind = req.kind === undefined ? -1 : this.kinds.peek(req.kind);
    if (wantBackend === -1 && req.backend !== undefined) return [];
    if (wantKind === -1 && req.kind !== undefined) return [];
    const hasRegion = req.region !== undefined;
    const wantRegion = hasRegion ? this.regions.peek(req.region!) : -1;
    const wantContinent = hasRegion ? this.continents.peek(continentOf(req.region!)) : -1;
    const maxPrice = Number(req.maxPrice);
    const maxExact = isExact(req.maxPrice);
    const minVram = req.minVramMb ?? -Infinity;
    const minCc = req.minComputeCapability ?? -Infinity;
    const exclude = req.exclude !== undefined && req.exclude.size > 0 ? req.exclude : undefined;
    const w = this.weights;
    const { base, price, priceExact, active, slots, vram, cc, backend, kind, region, continent, ids } = this;

    const topScore = new Float64Array(k);
    const topSlot = new Int32Array(k);
    let found = 0;
    for (let i = 0; i < this.n; i++) {
      if (!(active[i]! < slots[i]! && vram[i]! >= minVram && cc[i]! >= minCc)) continue;
      if (wantBackend >= 0 && backend[i] !== wantBackend) continue;
      if (wantKind >= 0 && kind[i] !== wantKind) continue;
      const p = price[i]!;
      if (p > maxPrice) continue;
      if (p === maxPrice && !(maxExact && priceExact[i]) && this.snapshots[i]!.price > req.maxPrice) continue;
      const proximity = !hasRegion || region[i] === wantRegion ? 1 : continent[i] === wantContinent ? 0.5 : 0;
      const score = base[i]! + requestScore(w, priceFactor(p, maxPrice), proximity);
      // Reject early when the buffer is full and this one does not beat its worst entry.
      let j = found < k ? found : k - 1;
      if (found === k) {
        const worst = topScore[j]!;
        if (score < worst || (score === worst && ids[i]! > ids[topSlot[j]!]!)) continue;
      }
      if (exclude !== undefined && exclude.has(ids[i]!)) continue;
      while (j > 0) {
        const s = topScore[j - 1]!;
        if (score < s || (score === s && ids[i]! > ids[topSlot[j - 1]!]!)) break;
        topScore[j] = s;
        topSlot[j] = topSlot[j - 1]!;
        j--;
      }
      topScore[j] = score;
      topSlot[j] = i;
      if (found < k) found++;
    }
    const out: string[] = new Array(found);
    for (let r = 0; r < found; r++) out[r] = ids[topSlot[r]!]!;
    return out;
  }

  private write(slot: number, p: ProviderSnapshot): void {
    this.snapshots[slot] = p;
    this.ids[slot] = p.id;
    this.base[slot] = providerBaseScore(p, this.weights);
    this.price[slot] = Number(p.price);
    this.priceExact[slot] = isExact(p.price) ? 1 : 0;
    this.active[slot] = p.active;
    this.slots[slot] = p.slots;
    this.vram[slot] = p.vramMb;
    this.cc[slot] = p.computeCapability;
    this.backend[slot] = this.backends.intern(p.backend);
    this.kind[slot] = this.kinds.intern(p.kind);
    this.region[slot] = this.regions.intern(p.region);
    this.continent[slot] = this.continents.intern(continentOf(p.region));
  }

  private grow(capacity: number): void {
    const resize = <A extends Float64Array | Int32Array | Uint8Array>(a: A, make: (n: number) => A): A => {
      const b = make(capacity);
      b.set(a.subarray(0, this.n));
      return b;
    };
    this.base = resize(this.base, (c) => new Float64Array(c));
    this.price = resize(this.price, (c) => new Float64Array(c));
    this.priceExact = resize(this.priceExact, (c) => new Uint8Array(c));
    this.active = resize(this.active, (c) => new Float64Array(c));
    this.slots = resize(this.slots, (c) => new Float64Array(c));
    this.vram = resize(this.vram, (c) => new Float64Array(c));
    this.cc = resize(this.cc, (c) => new Float64Array(c));
    this.backend = resize(this.backend, (c) => new Int32Array(c));
    this.kind = resize(this.kind, (c) => new Int32Array(c));
    this.region = resize(this.region, (c) => new Int32Array(c));
    this.continent = resize(this.continent, (c) => new Int32Array(c));
  }
}
