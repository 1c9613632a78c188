import { afterEach, describe, expect, it, vi } from "vitest";
import { EventBus } from "../src/events";

/** The bus's relay as a list of what it published. */
function relayed(bus: EventBus): string[] {
  const out: string[] = [];
  bus.setRelay((channel) => out.push(channel));
  return out;
}

describe("event bus: work pokes across instances", () => {
  it("relays work others can claim, keeps a slot freed here to this instance", () => {
    const bus = new EventBus();
    const sent = relayed(bus);
    let heard = 0;
    bus.onWork(() => heard++);
    bus.workAvailable();
    bus.workAvailable("here");
    expect(heard).toBe(2);
    expect(sent).toEqual(["work"]);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("gathers a burst of relayed pokes into one dispatcher pass, and hears the next burst again", () => {
    vi.useFakeTimers();
    const bus = new EventBus();
    let heard = 0;
    bus.onWork(() => heard++);
    for (let i = 0; i < 20; i++) bus.receive("work", "");
    expect(heard).toBe(0);
    vi.runAllTimers();
    expect(heard).toBe(1);
    bus.receive("work", "");
    vi.runAllTimers();
    expect(heard).toBe(2);
  });
});
