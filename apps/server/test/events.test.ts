import { afterEach, describe, expect, it, vi } from "vitest";
import { EventBus } from "../src/events";

/** The bus's relay as a list of what it published. */
function relayed(bus: EventBus): string[] {
  const out: string[] = [];
  bus.setRelay((channel) => out.push(channel));
  return out;
}

describe("event bus: work pokes across instances", () => {
  it("keeps new work and freed slots to this instance; relays only what its dispatcher hands on", () => {
    const bus = new EventBus();
    const sent = relayed(bus);
    const heard: string[] = [];
    bus.onWork((source) => heard.push(source));
    bus.workAvailable();
    bus.workAvailable("here");
    expect(heard).toEqual(["new", "here"]);
    expect(sent).toEqual([]);
    // The dispatcher's pass left work it could not place.
    bus.relayWork();
    expect(sent).toEqual(["work"]);
    expect(heard).toEqual(["new", "here"]);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("gathers a burst of relayed pokes into one dispatcher pass, and hears the next burst again", () => {
    vi.useFakeTimers();
    const bus = new EventBus();
    let heard = 0;
    bus.onWork((source) => {
      expect(source).toBe("relayed");
      heard++;
    });
    for (let i = 0; i < 20; i++) bus.receive("work", "");
    expect(heard).toBe(0);
    vi.runAllTimers();
    expect(heard).toBe(1);
    bus.receive("work", "");
    vi.runAllTimers();
    expect(heard).toBe(2);
  });
});
