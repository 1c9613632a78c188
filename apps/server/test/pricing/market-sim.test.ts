/**
 * bench/market-sim's claims, checked on a short run (docs/PRICING.md § Simulation): the index
 * rises when demand doubles and when supply halves, falls back when they recover, and providers
 * quoting 10 × the index neither move it nor get work.
 */
import { describe, expect, it } from "vitest";
import { greedyProviders, honestFollowers, indexOver, simulateMarket, stepScenario, type SimProvider } from "../../../../bench/market-sim/sim";

const PHASE = 200;
const config = (providers: SimProvider[]) => stepScenario({ seed: 3, phase: PHASE, baseDemand: 12, providers });
const honest = (): SimProvider[] => honestFollowers(40, PHASE);
const levels = (r: ReturnType<typeof simulateMarket>) => [0, 1, 2, 3].map((i) => indexOver(r, i * PHASE + PHASE / 2, (i + 1) * PHASE));

describe("market simulation", () => {
  it("prices follow demand and supply steps; a greedy minority neither sets the index nor gets work", () => {
    const base = simulateMarket(config(honest()));
    const [baseline, demandUp, supplyDown, recovered] = levels(base);
    expect(demandUp! > baseline!).toBe(true);
    expect(supplyDown! > demandUp!).toBe(true);
    expect(recovered! < supplyDown!).toBe(true);

    const greedy = greedyProviders(10);
    const manipulated = simulateMarket(config([...honest(), ...greedy]));
    // Within one base unit of the honest market's index in every phase (integer prices; the
    // greedy ones took a few tasks at the very start, before any index, which shifts the draws).
    const honestLevels = levels(base);
    levels(manipulated).forEach((level, i) => {
      const d = level - honestLevels[i]!;
      expect(d >= -1n && d <= 1n, `phase ${i}: ${level} vs ${honestLevels[i]}`).toBe(true);
    });
    let greedyRuns = 0;
    for (const [id, n] of manipulated.runs) if (id.startsWith("g")) greedyRuns += n;
    expect(greedyRuns / manipulated.cleared).toBeLessThan(0.01);
  });
});
