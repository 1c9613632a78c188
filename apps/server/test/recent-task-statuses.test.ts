import { describe, expect, it } from "vitest";
import { EventBus } from "../src/events";
import { RecentTaskStatuses } from "../src/recent-task-statuses";

/** A RecentTaskStatuses on a clock the test moves. */
function onClock(freshMs = 1000) {
  const clock = { t: 0 };
  return { clock, recent: new RecentTaskStatuses(() => clock.t, freshMs) };
}

describe("recent task statuses: a long-poll's first read skipped only where it would find the task open", () => {
  it("trusts an open status announced with the requester, for that requester only", () => {
    const { recent } = onClock();
    recent.heard({ taskId: "t1", status: "queued", requesterId: "alice" });
    expect(recent.openFor("t1", "alice")).toBe(true);
    expect(recent.openFor("t1", "mallory")).toBe(false);
    expect(recent.openFor("t2", "alice")).toBe(false);
    // Later announcements carry no requester: they update the entry the submit started.
    recent.heard({ taskId: "t1", status: "assigned" });
    recent.heard({ taskId: "t1", status: "verifying" });
    expect(recent.openFor("t1", "alice")).toBe(true);
  });

  it("forgets a task once it is announced terminal, and ignores updates of tasks it never heard submitted", () => {
    const { recent } = onClock();
    recent.heard({ taskId: "t1", status: "queued", requesterId: "alice" });
    recent.heard({ taskId: "t1", status: "completed" });
    expect(recent.openFor("t1", "alice")).toBe(false);
    // A late "running" for it (announced before, delivered after) does not bring it back.
    recent.heard({ taskId: "t1", status: "running" });
    expect(recent.openFor("t1", "alice")).toBe(false);
    recent.heard({ taskId: "t9", status: "queued" });
    expect(recent.size).toBe(0);
    for (const status of ["failed", "expired"] as const) {
      recent.heard({ taskId: status, status: "queued", requesterId: "alice" });
      recent.heard({ taskId: status, status });
      expect(recent.openFor(status, "alice")).toBe(false);
    }
  });

  it("stops trusting an entry that heard nothing for the fresh window, and drops it", () => {
    const { clock, recent } = onClock(1000);
    recent.heard({ taskId: "old", status: "queued", requesterId: "alice" });
    clock.t = 600;
    recent.heard({ taskId: "new", status: "queued", requesterId: "alice" });
    clock.t = 999;
    expect(recent.openFor("old", "alice")).toBe(true);
    clock.t = 1000;
    expect(recent.openFor("old", "alice")).toBe(false);
    expect(recent.openFor("new", "alice")).toBe(true);
    // An update refreshes an entry; pruning (on each announcement) drops the stale ones.
    recent.heard({ taskId: "new", status: "assigned" });
    expect(recent.size).toBe(1);
    clock.t = 1599;
    expect(recent.openFor("new", "alice")).toBe(true);
    clock.t = 2000;
    recent.heard({ taskId: "other", status: "queued", requesterId: "bob" });
    expect(recent.size).toBe(1);
    expect(recent.openFor("new", "alice")).toBe(false);
  });

  it("on the bus, records an update before any waiter it wakes looks", async () => {
    const bus = new EventBus();
    bus.taskUpdated({ taskId: "t1", status: "queued", requesterId: "alice" });
    expect(bus.recent.openFor("t1", "alice")).toBe(true);
    const watch = bus.watchTask("t1", 10_000, (s) => s === "completed");
    let openWhenWoken: boolean | undefined;
    const woken = watch.settled.then(() => {
      openWhenWoken = bus.recent.openFor("t1", "alice");
    });
    // Relayed from another instance, as Redis delivers it.
    bus.receive("task", JSON.stringify({ taskId: "t1", status: "completed" }));
    await woken;
    expect(openWhenWoken).toBe(false);
  });
});
