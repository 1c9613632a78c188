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

describe("event bus: long-poll waiters (watchTask)", () => {
  it("an update wakes its own task's waiters only, when its status is one they wait for; each leaves on waking, timing out or cancel", async () => {
    vi.useFakeTimers();
    try {
      const bus = new EventBus();
      const woke: string[] = [];
      const watch = (taskId: string, tag: string, ms = 30_000) => {
        const w = bus.watchTask(taskId, ms, (s) => s === "completed");
        void w.settled.then(() => woke.push(tag));
        return w;
      };
      watch("a", "a1");
      watch("a", "a2");
      watch("b", "b1", 1_000);
      const c = watch("c", "c1");
      for (let i = 0; i < 1000; i++) watch(`other-${i}`, `o${i}`);
      expect(bus.watchedTasks).toBe(1003);
      bus.taskUpdated({ taskId: "a", status: "running" });
      await vi.advanceTimersByTimeAsync(0);
      expect(woke).toEqual([]);
      bus.taskUpdated({ taskId: "a", status: "completed" });
      await vi.advanceTimersByTimeAsync(0);
      expect(woke).toEqual(["a1", "a2"]);
      c.cancel();
      await vi.advanceTimersByTimeAsync(1_000);
      expect(woke).toEqual(["a1", "a2", "c1", "b1"]);
      expect(bus.watchedTasks).toBe(1000);
      // A later waiter on a task whose waiters all left is woken as the first were.
      watch("a", "a3");
      bus.taskUpdated({ taskId: "a", status: "completed" });
      await vi.advanceTimersByTimeAsync(0);
      expect(woke.at(-1)).toBe("a3");
      await vi.advanceTimersByTimeAsync(30_000);
      expect(bus.watchedTasks).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
