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
    expect(recent.openFor("t9", "alice")).toBe(false);
    for (const status of ["failed", "expired"] as const) {
      recent.heard({ taskId: status, status: "queued", requesterId: "alice" });
      recent.heard({ taskId: status, status });
      expect(recent.openFor(status, "alice")).toBe(false);
    }
  });

  it("takes an open status heard after the task's end for stale, while the end is fresh: its submit's own queued heard after a relayed completed too", () => {
    const { clock, recent } = onClock(1000);
    // Another instance ran and completed the task while this one, descheduled, had not yet announced its submit.
    expect(recent.heard({ taskId: "t1", status: "completed" })).toBe(true);
    expect(recent.heard({ taskId: "t1", status: "queued", requesterId: "alice" })).toBe(false);
    expect(recent.openFor("t1", "alice")).toBe(false);
    // A "running" committed before a result, heard after its "completed".
    recent.heard({ taskId: "t2", status: "queued", requesterId: "alice" });
    recent.heard({ taskId: "t2", status: "running" });
    recent.heard({ taskId: "t2", status: "failed" });
    expect(recent.heard({ taskId: "t2", status: "running" })).toBe(false);
    expect(recent.openFor("t2", "alice")).toBe(false);
    // Another terminal word of an ended task is no news, but not stale.
    expect(recent.heard({ taskId: "t2", status: "completed" })).toBe(true);
    // Past the fresh window the end is forgotten, like any entry.
    clock.t = 1000;
    expect(recent.heard({ taskId: "t1", status: "running" })).toBe(true);
    expect(recent.openFor("t1", "alice")).toBe(false);
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

  it("on the bus, drops a stale open status of an ended task: no listener hears it, no other instance is told", () => {
    const bus = new EventBus();
    const relayed: string[] = [];
    bus.setRelay((channel, payload) => relayed.push(`${channel} ${payload}`));
    const heard: string[] = [];
    bus.onTask((u) => heard.push(`${u.taskId} ${u.status}`));
    bus.receive("task", JSON.stringify({ taskId: "t1", status: "completed" }));
    bus.taskUpdated({ taskId: "t1", status: "queued", requesterId: "alice" });
    bus.taskUpdated({ taskId: "t2", status: "queued", requesterId: "alice" });
    bus.receive("task", JSON.stringify({ taskId: "t2", status: "completed" }));
    bus.receive("task", JSON.stringify({ taskId: "t2", status: "running" }));
    expect(heard).toEqual(["t1 completed", "t2 queued", "t2 completed"]);
    expect(relayed).toEqual([`task ${JSON.stringify({ taskId: "t2", status: "queued", requesterId: "alice" })}`]);
    expect(bus.recent.openFor("t1", "alice")).toBe(false);
  });
});
