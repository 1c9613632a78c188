/**
 * Matching and price (docs/PRICING.md): at equal quality the cheaper provider wins, maxPrice is a
 * hard limit, and per-unit prices are priced on the task's model (flat + per-unit × units).
 */
import { describe, expect, it } from "vitest";
import { ProviderIndex, priceFor, scoreProvider, type ProviderSnapshot } from "@stun/shared";
import { unitsOf } from "../../src/pricing/units";

const provider = (id: string, price: bigint, pricePerUnit = 0n): ProviderSnapshot => ({
  id,
  kind: "native",
  backend: "cpu",
  region: "local",
  price,
  pricePerUnit,
  reputation: 0.8,
  slots: 2,
  active: 0,
  vramMb: 0,
  computeCapability: 0,
  benchmarkIps: 100,
  completed: 5,
  failed: 0,
});

describe("price in matching", () => {
  it("at equal quality picks the cheaper provider first, and never one above maxPrice", () => {
    const index = new ProviderIndex();
    for (const p of [provider("p-dear", 90n), provider("p-cheap", 10n), provider("p-mid", 50n)]) index.upsert(p);
    expect(index.pick({ maxPrice: 100n }, 3)).toEqual(["p-cheap", "p-mid", "p-dear"]);
    expect(index.pick({ maxPrice: 50n }, 3)).toEqual(["p-cheap", "p-mid"]);
    expect(index.pick({ maxPrice: 9n }, 3)).toEqual([]);
  });

  it("prices per-unit providers on the task's model: cheap on a small model, out of budget on a big one", () => {
    const index = new ProviderIndex();
    // 2 per MiB against a flat 40.
    index.upsert(provider("p-unit", 0n, 2n));
    index.upsert(provider("p-flat", 40n));
    const small = unitsOf(3 * 1024 * 1024); // 3 units: 6
    const big = unitsOf(64 * 1024 * 1024); // 64 units: 128
    expect(index.pick({ maxPrice: 100n, units: small }, 2)).toEqual(["p-unit", "p-flat"]);
    expect(index.pick({ maxPrice: 100n, units: big }, 2)).toEqual(["p-flat"]);
    expect(priceFor(provider("x", 5n, 2n), big)).toBe(133n);
    expect(scoreProvider(provider("p-unit", 0n, 2n), { maxPrice: 127n, units: big })).toBeNull();
    expect(scoreProvider(provider("p-unit", 0n, 2n), { maxPrice: 128n, units: big })).not.toBeNull();
  });
});
