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

describe("event bus: the last announced status of tasks it saw submitted", () => {
  it("remembers a submit's requester and follows the task's later announcements, here or relayed", () => {
    const bus = new EventBus();
    expect(bus.lastKnown("tsk_a")).toBeUndefined();
    bus.taskUpdated({ taskId: "tsk_a", status: "queued", requesterId: "acct_r" });
    bus.taskUpdated({ taskId: "tsk_a", status: "running" });
    expect(bus.lastKnown("tsk_a")).toEqual({ requesterId: "acct_r", status: "running" });
    bus.receive("task", JSON.stringify({ taskId: "tsk_a", status: "completed" }));
    expect(bus.lastKnown("tsk_a")).toEqual({ requesterId: "acct_r", status: "completed" });
  });

  it("knows nothing of a task whose submit it did not see (no requester to check the caller against)", () => {
    const bus = new EventBus();
    bus.taskUpdated({ taskId: "tsk_b", status: "running" });
    bus.receive("task", JSON.stringify({ taskId: "tsk_b", status: "completed" }));
    expect(bus.lastKnown("tsk_b")).toBeUndefined();
  });

  it("forgets the oldest past 10,000 tasks", () => {
    const bus = new EventBus();
    for (let i = 0; i <= 10_000; i++) bus.taskUpdated({ taskId: `tsk_${i}`, status: "queued", requesterId: "acct_r" });
    expect(bus.lastKnown("tsk_0")).toBeUndefined();
    expect(bus.lastKnown("tsk_1")?.status).toBe("queued");
    expect(bus.lastKnown("tsk_10000")?.status).toBe("queued");
  });
});
