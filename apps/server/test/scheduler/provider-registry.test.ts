import { afterEach, describe, expect, it, vi } from "vitest";
import type { Socket } from "socket.io";
import { ProviderRegistry, type LocalProvider } from "../../src/scheduler/provider-registry";

const provider = (id: string, slots = 1): LocalProvider => ({
  id,
  accountId: "acc",
  name: id,
  kind: "native",
  backend: "cpu",
  region: "local",
  price: 10n,
  pricePerUnit: 0n,
  slots,
  reputation: 0.5,
  completed: 0,
  failed: 0,
  vramMb: 0,
  computeCapability: 0,
  benchmarkIps: 100,
  socket: {} as Socket, // the registry only keeps it for the dispatcher
  active: new Map(),
  draining: false,
});

describe("ProviderRegistry", () => {
  afterEach(() => vi.useRealTimers());
  const req = { maxPrice: 100n };

  it("counts free slots and takes reserved work into account", () => {
    const r = new ProviderRegistry();
    r.add(provider("a", 2));
    expect(r.freeSlots()).toBe(2);
    r.reserve("a", "asg1", { taskId: "t1", modelId: "m" });
    expect(r.freeSlots()).toBe(1);
    expect(r.held("a", "asg1")).toEqual({ taskId: "t1", modelId: "m" });
    r.reserve("a", "asg2", { taskId: "t2", modelId: "m" });
    expect(r.pick(req, 1)).toEqual([]);
    r.free("a", "asg1");
    expect(r.pick(req, 1).map((p) => p.id)).toEqual(["a"]);
    expect(r.held("a", "asg1")).toBeUndefined();
  });

  it("leaves a provider that answered BUSY out of matching for the back-off, then takes it back", () => {
    vi.useFakeTimers();
    const r = new ProviderRegistry();
    r.add(provider("a"));
    r.add(provider("b"));
    r.backoff("a", 1000);
    expect(r.pick(req, 2).map((p) => p.id)).toEqual(["b"]);
    expect(r.freeSlots()).toBe(1);
    r.reserve("a", "late", { taskId: "t", modelId: "m" });
    r.free("a", "late");
    expect(r.pick(req, 2).map((p) => p.id)).toEqual(["b"]);
    vi.advanceTimersByTime(1000);
    expect(
      r
        .pick(req, 2)
        .map((p) => p.id)
        .sort(),
    ).toEqual(["a", "b"]);
    expect(r.freeSlots()).toBe(2);
  });

  it("never takes a draining provider back after a back-off", () => {
    vi.useFakeTimers();
    const r = new ProviderRegistry();
    r.add(provider("a"));
    r.backoff("a", 1000);
    r.setDraining("a");
    vi.advanceTimersByTime(1000);
    expect(r.pick(req, 1)).toEqual([]);
    expect(r.freeSlots()).toBe(0);
  });
});
