/**
 * Scheduler benchmark: ProviderIndex.pick over 10,000 online providers.
 *
 *   npx tsx bench/scheduler.ts [--providers 10000] [--picks 200000] [--k 2] [--seed 1]
 *
 * Builds random providers (varied kinds, backends, regions, prices, loads), then runs `picks`
 * matching decisions with varied requests, interleaved with setActive updates (load changes as
 * work starts and ends) and occasional upserts/removals (churn). Each pick is timed on its own with
 * process.hrtime.bigint(); a sample of picks is checked against the brute-force ranking so the
 * figures are for correct answers. Goals: ≥ 20,000 picks/s and p99 ≤ 1 ms on one core.
 */
import { parseArgs } from "node:util";
import { BACKENDS, type MatchRequest, ProviderIndex, type ProviderSnapshot, scoreProvider } from "@stun/shared";
import { mulberry32 } from "@stun/testkit";

const { values: args } = parseArgs({
  options: {
    providers: { type: "string", default: "10000" },
    picks: { type: "string", default: "200000" },
    k: { type: "string", default: "2" },
    seed: { type: "string", default: "1" },
  },
});
const PROVIDERS = Number(args.providers);
const PICKS = Number(args.picks);
const K = Number(args.k);
const GOAL_RATE = 20_000;
const GOAL_P99_MS = 1;

const rand = mulberry32(Number(args.seed)); // seedable, so runs are repeatable
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const REGIONS = ["eu-west", "eu-central", "eu-north", "us-east", "us-west", "us-central", "ap-south", "ap-northeast", "ap-southeast", "sa-east", "af-south", "local"];

function randomProvider(id: string): ProviderSnapshot {
  const native = rand() < 0.4;
  const backend = native ? (rand() < 0.6 ? "cuda" : "cpu") : rand() < 0.7 ? "webgpu" : "wasm";
  const gpu = backend === "cuda" || backend === "webgpu";
  const slots = native ? int(1, 8) : int(1, 2);
  return {
    id,
    kind: native ? "native" : "browser",
    backend,
    region: pick(REGIONS),
    price: BigInt(int(10, 1000)),
    reputation: rand(),
    slots,
    active: int(0, slots),
    vramMb: gpu ? pick([2048, 4096, 8192, 16384, 24576, 49152, 81920]) : 0,
    computeCapability: backend === "cuda" ? pick([6.1, 7.0, 7.5, 8.0, 8.6, 8.9, 9.0]) : 0,
    benchmarkIps: gpu ? 50 + rand() * 2000 : 5 + rand() * 200,
    completed: int(0, 5000),
    failed: int(0, 200),
  };
}

function randomRequest(ids: readonly string[]): MatchRequest {
  const req: MatchRequest = { maxPrice: BigInt(int(200, 1000)) };
  const r = rand();
  if (r < 0.3) req.backend = "cuda";
  else if (r < 0.4) req.backend = pick(BACKENDS);
  if (rand() < 0.2) req.kind = rand() < 0.5 ? "native" : "browser";
  if (rand() < 0.3) req.minVramMb = pick([4096, 8192, 16384]);
  if (rand() < 0.15) req.minComputeCapability = pick([7.0, 8.0]);
  if (rand() < 0.6) req.region = pick(REGIONS);
  if (rand() < 0.3) req.exclude = new Set([pick(ids), pick(ids)]); // a re-dispatch after a failure
  return req;
}

function bruteForce(providers: Iterable<ProviderSnapshot>, req: MatchRequest, k: number): string[] {
  const scored: Array<[number, string]> = [];
  for (const p of providers) {
    const s = scoreProvider(p, req);
    if (s !== null) scored.push([s, p.id]);
  }
  scored.sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? -1 : 1));
  return scored.slice(0, k).map(([, id]) => id);
}

// ---- build ---------------------------------------------------------------------------------

const index = new ProviderIndex();
const live = new Map<string, ProviderSnapshot>();
let nextId = 0;
const newId = () => `prov-${String(nextId++).padStart(6, "0")}`;
const tBuild = process.hrtime.bigint();
for (let i = 0; i < PROVIDERS; i++) {
  const p = randomProvider(newId());
  index.upsert(p);
  live.set(p.id, p);
}
const buildMs = Number(process.hrtime.bigint() - tBuild) / 1e6;
let ids = [...live.keys()];

// Pre-generate requests so their construction is not timed.
const REQUESTS = 4096;
const requests = Array.from({ length: REQUESTS }, () => randomRequest(ids));

// ---- warm up (JIT), then measure -----------------------------------------------------------

for (let i = 0; i < 20_000; i++) index.pick(requests[i % REQUESTS]!, K);

const times = new Float64Array(PICKS);
let updates = 0;
let churn = 0;
let matched = 0;
let verified = 0;
const tAll = process.hrtime.bigint();
for (let i = 0; i < PICKS; i++) {
  // Load changes: about one setActive per pick (work starting and finishing).
  if (rand() < 0.9) {
    const id = ids[Math.floor(rand() * ids.length)]!;
    const p = live.get(id)!;
    p.active = int(0, p.slots);
    index.setActive(id, p.active);
    updates++;
  }
  // Churn: providers leaving and joining (the index size stays ~PROVIDERS).
  if (rand() < 0.01) {
    const slot = Math.floor(rand() * ids.length);
    const gone = ids[slot]!;
    index.remove(gone);
    live.delete(gone);
    const p = randomProvider(newId());
    index.upsert(p);
    live.set(p.id, p);
    ids[slot] = p.id;
    churn++;
  }
  const req = requests[i % REQUESTS]!;
  const t0 = process.hrtime.bigint();
  const got = index.pick(req, K);
  times[i] = Number(process.hrtime.bigint() - t0);
  matched += got.length;
  if (i % 2000 === 0) {
    const want = bruteForce(live.values(), req, K);
    if (want.join() !== got.join()) throw new Error(`pick ${i} disagrees with brute force: ${got} vs ${want}`);
    verified++;
  }
}
const wallMs = Number(process.hrtime.bigint() - tAll) / 1e6;

// ---- report --------------------------------------------------------------------------------

const pickNs = times.reduce((a, b) => a + b, 0);
const sorted = Float64Array.from(times).sort();
const pct = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! / 1e6;
const rate = PICKS / (pickNs / 1e9);
const p50 = pct(0.5);
const p99 = pct(0.99);
const max = sorted[sorted.length - 1]! / 1e6;
const fmt = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

ids = [];
console.log(`scheduler bench: ${index.size} providers, ${PICKS} picks (k=${K}), ${updates} setActive, ${churn} remove+upsert, node ${process.version}`);
console.log(`  build index:      ${buildMs.toFixed(1)} ms`);
console.log(`  pick throughput:  ${Math.round(rate).toLocaleString("en-US")} picks/s (pick time only)`);
console.log(`  with updates:     ${Math.round(PICKS / (wallMs / 1000)).toLocaleString("en-US")} picks/s (wall, incl. setActive/churn/timing)`);
console.log(`  decision time:    p50 ${fmt(p50)}  p99 ${fmt(p99)}  max ${fmt(max)}`);
console.log(`  avg matches/pick: ${(matched / PICKS).toFixed(2)}; ${verified} picks checked against brute force: all equal`);
const ok = rate >= GOAL_RATE && p99 <= GOAL_P99_MS;
console.log(`${ok ? "PASS" : "FAIL"}: ${Math.round(rate).toLocaleString("en-US")} picks/s (goal ≥ ${GOAL_RATE.toLocaleString("en-US")}), p99 ${fmt(p99)} (goal ≤ ${GOAL_P99_MS} ms)`);
process.exitCode = ok ? 0 : 1;
