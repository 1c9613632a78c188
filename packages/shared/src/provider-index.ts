/**
 * An in-memory index of online providers for fast exact top-k matching.
 *
 * Storage is a struct of arrays, one slot per provider, with an id → slot Map and swap-remove on
 * delete. Per slot it keeps the request-independent part of the score ({@link providerBaseScore},
 * refreshed on upsert and setActive), the price as a number, VRAM, compute capability and a
 * region code.
 *
 * For search, every provider with a free slot sits in one *cell*: its (backend, kind) group ×
 * its base-score bucket (BUCKETS equal-width ranges of the base score). `pick` walks the buckets
 * from the best down and, within each, only the cells of the groups the request accepts — so
 * full providers and wrong backends/kinds cost nothing. No request-dependent part can exceed
 * `requestScore(w, 1, 1)`, so once a bucket's upper edge plus that bound is below the k-th best
 * score found so far, no provider in it or any lower bucket can enter the result and the walk
 * stops. Survivors are scored by the same functions as {@link scoreProvider} into a k-slot
 * insertion buffer; the answer is exactly what ranking every provider by scoreProvider gives
 * (descending, ties by id ascending).
 *
 * Prices (flat + per-unit × the request's units) are compared as numbers while every term and the
 * result are below 2^53 (where doubles are exact), and in bigint otherwise.
 */
import { type MatchRequest, type ProviderSnapshot, providerBaseScore, priceFactor, priceFor, proximityFactor, requestScore, SCORE_WEIGHTS, type ScoreWeights, validateWeights } from "./scoring";

/** Maps strings to small dense integer codes. */
class Interner {
  readonly names: string[] = [];
  private readonly codes = new Map<string, number>();
  /** The code of `s`, assigning a new one if needed. */
  intern(s: string): number {
    let c = this.codes.get(s);
    if (c === undefined) {
      c = this.names.length;
      this.codes.set(s, c);
      this.names.push(s);
    }
    return c;
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const isExact = (v: bigint): boolean => v <= MAX_SAFE && v >= -MAX_SAFE;
/** Number of base-score buckets. */
const BUCKETS = 64;
const GROUP_KEY_SEPARATOR = "\u0000";

export class ProviderIndex {
  private readonly weights: ScoreWeights;
  private n = 0;
  private readonly slotOf = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly snapshots: ProviderSnapshot[] = [];
  /** (backend, kind) pairs, keyed "backend\0kind". */
  private readonly groups = new Interner();
  private readonly regions = new Interner();
  private readonly proximityCache = new Map<string | undefined, Float64Array>();

  /** edges[b] ≤ base < edges[b + 1] for the members of bucket b (the top bucket is open above). */
  private readonly edges = new Float64Array(BUCKETS + 1);
  /** Buckets per unit of base score (a first guess at a base's bucket, corrected against `edges`). */
  private readonly bucketScale: number;
  /** Slot lists, index group · BUCKETS + bucket. */
  private readonly cells: number[][] = [];

  private base = new Float64Array(0);
  private price = new Float64Array(0);
  private perUnit = new Float64Array(0);
  private priceExact = new Uint8Array(0);
  private vram = new Float64Array(0);
  private cc = new Float64Array(0);
  private region = new Int32Array(0);
  /** The slot's cell, or -1 when it has no free slot; and its position in that cell's list. */
  private cellOf = new Int32Array(0);
  private cellPos = new Int32Array(0);

  constructor(weights: ScoreWeights = SCORE_WEIGHTS, initialCapacity = 1024) {
    validateWeights(weights);
    this.weights = { ...weights };
    const maxBase = weights.spec + weights.reputation + weights.load + weights.history || 1;
    this.bucketScale = BUCKETS / maxBase;
    for (let b = 0; b < BUCKETS; b++) this.edges[b] = (maxBase * b) / BUCKETS;
    this.edges[BUCKETS] = Infinity;
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
      this.cellOf[slot] = -1;
    }
    const snap = { ...p };
    this.snapshots[slot] = snap;
    this.ids[slot] = snap.id;
    this.price[slot] = Number(snap.price);
    this.perUnit[slot] = Number(snap.pricePerUnit ?? 0n);
    this.priceExact[slot] = isExact(snap.price) && isExact(snap.pricePerUnit ?? 0n) ? 1 : 0;
    this.vram[slot] = snap.vramMb;
    this.cc[slot] = snap.computeCapability;
    this.region[slot] = this.regions.intern(snap.region);
    this.refresh(slot);
  }

  /** Removes a provider; returns whether it was present. */
  remove(id: string): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.slotOf.delete(id);
    this.moveToCell(slot, -1);
    const last = --this.n;
    if (slot !== last) this.moveSlot(last, slot);
    this.snapshots.length = this.n;
    this.ids.length = this.n;
    return true;
  }

  /** Updates a provider's number of running executions; returns false if it is unknown. */
  setActive(id: string, active: number): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.snapshots[slot]!.active = active;
    this.refresh(slot);
    return true;
  }

  /**
   * The ids of the (at most) k highest-scoring eligible providers, best first; equal scores are
   * ordered by id. Same answer as ranking every provider with scoreProvider.
   */
  pick(req: MatchRequest, k: number): string[] {
    if (!(k >= 1) || this.n === 0) return [];
    k = Math.min(Math.floor(k), this.n);
    const groups = this.acceptedGroups(req);
    const proximityOf = this.proximityTable(req.region);
    const maxPrice = Number(req.maxPrice);
    const units = req.units ?? 1n;
    const unitsNum = Number(units);
    const exactRequest = isExact(req.maxPrice) && isExact(units);
    const minVram = req.minVramMb ?? -Infinity;
    const minCc = req.minComputeCapability ?? -Infinity;
    const exclude = req.exclude !== undefined && req.exclude.size > 0 ? req.exclude : undefined;
    const w = this.weights;
    const bound = requestScore(w, 1, 1);
    const { base, price, perUnit, priceExact, vram, cc, region, ids, cells, edges } = this;

    const topScore = new Float64Array(k);
    const topSlot = new Int32Array(k);
    let found = 0;
    let worst = -Infinity; // the k-th best score once the buffer is full
    for (let bucket = BUCKETS - 1; bucket >= 0 && !(edges[bucket + 1]! + bound < worst); bucket--) {
      for (const g of groups) {
        const cell = cells[g * BUCKETS + bucket];
        if (cell === undefined) continue;
        for (let c = 0; c < cell.length; c++) {
          const i = cell[c]!;
          const b = base[i]!;
          if (b + bound < worst || !(vram[i]! >= minVram && cc[i]! >= minCc)) continue;
          let p = price[i]! + perUnit[i]! * unitsNum;
          if (exactRequest && priceExact[i] && p <= Number.MAX_SAFE_INTEGER) {
            if (p > maxPrice) continue;
          } else {
            const exact = priceFor(this.snapshots[i]!, units);
            if (exact > req.maxPrice) continue;
            p = Number(exact); // as scoreProvider converts it
          }
          const score = b + requestScore(w, priceFactor(p, maxPrice), proximityOf[region[i]!]!);
          let j = found < k ? found : k - 1;
          if (found === k && (score < worst || (score === worst && ids[i]! > ids[topSlot[j]!]!))) continue;
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
          if (found === k) worst = topScore[k - 1]!;
        }
      }
    }
    const out: string[] = new Array(found);
    for (let r = 0; r < found; r++) out[r] = ids[topSlot[r]!]!;
    return out;
  }

  /** The group codes whose (backend, kind) the request accepts. */
  private acceptedGroups(req: MatchRequest): number[] {
    const out: number[] = [];
    this.groups.names.forEach((key, code) => {
      const [backend, kind] = key.split(GROUP_KEY_SEPARATOR);
      if ((req.backend === undefined || backend === req.backend) && (req.kind === undefined || kind === req.kind)) out.push(code);
    });
    return out;
  }

  /** Proximity factor by region code, from {@link proximityFactor} itself (cached per requested region). */
  private proximityTable(requested: string | undefined): Float64Array {
    let table = this.proximityCache.get(requested);
    if (!table || table.length !== this.regions.names.length) {
      table = Float64Array.from(this.regions.names, (r) => proximityFactor(r, requested));
      this.proximityCache.set(requested, table);
    }
    return table;
  }

  /** Recomputes a slot's base score and files it in the right cell. */
  private refresh(slot: number): void {
    const p = this.snapshots[slot]!;
    const base = providerBaseScore(p, this.weights);
    this.base[slot] = base;
    if (!(p.active < p.slots)) return this.moveToCell(slot, -1);
    const group = this.groups.intern(p.backend + GROUP_KEY_SEPARATOR + p.kind);
    this.moveToCell(slot, group * BUCKETS + this.bucketOf(base));
  }

  /** The bucket b with edges[b] ≤ base < edges[b + 1] (bucket 0 for anything below edges[1]). */
  private bucketOf(base: number): number {
    const edges = this.edges;
    let b = Math.min(BUCKETS - 1, Math.max(0, Math.floor(base * this.bucketScale) || 0));
    while (b > 0 && base < edges[b]!) b--;
    while (b < BUCKETS - 1 && base >= edges[b + 1]!) b++;
    return b;
  }

  private moveToCell(slot: number, cell: number): void {
    const from = this.cellOf[slot]!;
    if (from === cell) return;
    if (from >= 0) {
      const list = this.cells[from]!;
      const pos = this.cellPos[slot]!;
      const tail = list.pop()!;
      if (tail !== slot) {
        list[pos] = tail;
        this.cellPos[tail] = pos;
      }
    }
    this.cellOf[slot] = cell;
    if (cell >= 0) {
      const list = (this.cells[cell] ??= []);
      this.cellPos[slot] = list.length;
      list.push(slot);
    }
  }

  /** Moves everything stored for slot `from` to slot `to` (swap-remove). */
  private moveSlot(from: number, to: number): void {
    const snap = this.snapshots[from]!;
    this.slotOf.set(snap.id, to);
    this.snapshots[to] = snap;
    this.ids[to] = snap.id;
    for (const a of [this.base, this.price, this.perUnit, this.priceExact, this.vram, this.cc, this.region, this.cellOf, this.cellPos]) a[to] = a[from]!;
    const cell = this.cellOf[to]!;
    if (cell >= 0) this.cells[cell]![this.cellPos[to]!] = to;
  }

  private grow(capacity: number): void {
    const resize = <A extends Float64Array | Int32Array | Uint8Array>(a: A, make: (n: number) => A): A => {
      const b = make(capacity);
      b.set(a.subarray(0, this.n));
      return b;
    };
    this.base = resize(this.base, (c) => new Float64Array(c));
    this.price = resize(this.price, (c) => new Float64Array(c));
    this.perUnit = resize(this.perUnit, (c) => new Float64Array(c));
    this.priceExact = resize(this.priceExact, (c) => new Uint8Array(c));
    this.vram = resize(this.vram, (c) => new Float64Array(c));
    this.cc = resize(this.cc, (c) => new Float64Array(c));
    this.region = resize(this.region, (c) => new Int32Array(c));
    this.cellOf = resize(this.cellOf, (c) => new Int32Array(c));
    this.cellPos = resize(this.cellPos, (c) => new Int32Array(c));
  }
}
