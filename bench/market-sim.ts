/**
 * Market simulation (docs/PRICING.md § Simulation, docs/BENCHMARKS.md): does the price index settle
 * when demand or supply steps, and can providers quoting high raise it for everyone?
 *
 *   npx tsx bench/market-sim.ts [--seed 1] [--phase 400] [--providers 40] [--greedy 1]
 *
 * Four phases of `phase` ticks: baseline demand; demand doubled; the cheaper half of the providers
 * gone (supply halved) at doubled demand; everyone back at baseline demand. Per phase it prints the
 * index (median per-unit clearing price over the phase's last half), the ticks it took to settle
 * within 10 % of its final level, utilisation, tasks cleared and withdrawn. Then the same market
 * with `--greedy` extra providers quoting 10 × the index (and with 20 % of providers greedy):
 * the index per phase beside the honest run's, and the greedy providers' share of executions.
 * The model (bench/market-sim/sim.ts) runs the real pricing core and the scheduler's matching.
 */
import { parseArgs } from "node:util";
import { greedyProviders, honestFollowers, indexOver, settledAt, simulateMarket, stepScenario, type MarketConfig, type MarketResult, type SimProvider } from "./market-sim/sim";

const { values: args } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    phase: { type: "string", default: "400" },
    providers: { type: "string", default: "40" },
    greedy: { type: "string", default: "1" },
  },
});
const seed = Number(args.seed);
const phase = Number(args.phase);
const n = Number(args.providers);
const BASE_DEMAND = 12;

/** Phase boundaries: baseline, demand ×2, supply ÷2 (the cheaper half leaves), back to baseline. */
const PHASES = ["baseline", "demand x2", "supply /2", "recovered"] as const;
const bounds = PHASES.map((_, i) => [i * phase, (i + 1) * phase] as const);

const market = (providers: SimProvider[]): MarketConfig => stepScenario({ seed, phase, baseDemand: BASE_DEMAND, providers });
const honest = (): SimProvider[] => honestFollowers(n, phase);
const greedy = greedyProviders;

function phases(r: MarketResult): Array<{ phase: string; index: bigint; settledIn: number; util: number; cleared: number; queued: number }> {
  return PHASES.map((name, i) => {
    const [from, to] = bounds[i]!;
    const ticks = r.ticks.slice(from, to);
    return {
      phase: name,
      index: indexOver(r, from + phase / 2, to),
      settledIn: settledAt(r, from, to) - from,
      util: ticks.reduce((a, s) => a + s.utilisation, 0) / ticks.length,
      cleared: ticks.reduce((a, s) => a + s.cleared, 0),
      queued: ticks.reduce((a, s) => a + s.queued, 0) / ticks.length,
    };
  });
}

const greedyShare = (r: MarketResult): string => {
  let g = 0;
  for (const [id, k] of r.runs) if (id.startsWith("g")) g += k;
  return `${g} of ${r.cleared} executions (${((100 * g) / Math.max(1, r.cleared)).toFixed(2)} %)`;
};

const base = simulateMarket(market(honest()));
console.log(`market-sim: seed ${seed}, ${n} providers (per-unit floors 2..8, 2 slots), ${phase} ticks per phase, model of 4 units, values 1..20 per unit`);
console.log("\nphase        index/unit  settled in (ticks, ±10 % or ±1)  utilisation  cleared  mean queue");
for (const p of phases(base)) {
  console.log(
    `${p.phase.padEnd(12)} ${String(p.index).padStart(10)}  ${String(p.settledIn).padStart(31)}  ${(100 * p.util).toFixed(1).padStart(10)} %  ${String(p.cleared).padStart(7)}  ${p.queued.toFixed(1).padStart(10)}`,
  );
}
console.log(
  `totals: submitted ${base.submitted}, cleared ${base.cleared}, withdrawn ${base.withdrawn}, not submitted (value below the quote) ${base.balked}, mean wait ${base.meanWait.toFixed(2)} ticks`,
);

const k = Number(args.greedy);
const withGreedy = simulateMarket(market([...honest(), ...greedy(k)]));
const share = Math.ceil(n / 4);
const manyGreedy = simulateMarket(market([...honest(), ...greedy(share)]));
console.log(`\nindex/unit per phase: honest market vs. + ${k} provider(s) quoting 10x the index vs. + ${share} such providers (20 % of them)`);
const a = phases(base);
const b = phases(withGreedy);
const c = phases(manyGreedy);
for (let i = 0; i < PHASES.length; i++) console.log(`${PHASES[i]!.padEnd(12)} ${String(a[i]!.index).padStart(6)} ${String(b[i]!.index).padStart(6)} ${String(c[i]!.index).padStart(6)}`);
console.log(`greedy providers ran: ${greedyShare(withGreedy)} with ${k}; ${greedyShare(manyGreedy)} with ${share}`);
