import { describe, expect, it } from "vitest";
import { ReplicaPlacements, type ReplicaPlacement } from "../../src/scheduler/replica-placements";

const placement = (p: Partial<ReplicaPlacement> = {}): ReplicaPlacement => ({ taskId: "t", inputSha256: "in", wanted: 2, dispatched: 0, placing: 2, anyTrusted: false, ...p });

describe("replicas placed by this instance's claims (scheduler/replica-placements.ts)", () => {
  it("all in one claim: one object with every replica out, nothing remembered", () => {
    const r = new ReplicaPlacements();
    expect(r.place(placement({ wanted: 3, placing: 3 }))).toEqual({ out: 3, placed: 3, unplaced: 0, anyTrusted: false, inputSha256: "in" });
    expect(r.size).toBe(0);
  });

  it("over two claims: the second joins the first's object (counts, trust), then forgets the task", () => {
    const r = new ReplicaPlacements();
    const first = r.place(placement({ placing: 1 }))!;
    expect(first).toMatchObject({ out: 1, placed: 1, unplaced: 1 });
    expect(r.size).toBe(1);
    first.out -= 1; // its result came before the other replica was placed
    const second = r.place(placement({ dispatched: 1, placing: 1, anyTrusted: true }));
    expect(second).toBe(first);
    expect(first).toEqual({ out: 1, placed: 2, unplaced: 0, anyTrusted: true, inputSha256: "in" });
    expect(r.size).toBe(0);
  });

  it("no object where the task's executions are not all this instance's: placed elsewhere, a tie-breaker, a lone execution", () => {
    const r = new ReplicaPlacements();
    expect(r.place(placement({ dispatched: 1, placing: 1 }))).toBeUndefined();
    expect(r.place(placement({ wanted: 3, dispatched: 2, placing: 1 }))).toBeUndefined();
    expect(r.place(placement({ wanted: 1, placing: 1 }))).toBeUndefined();
    // Remembered, but the row says another instance placed one meanwhile: not joined, and forgotten.
    r.place(placement({ wanted: 3, placing: 1 }));
    expect(r.place(placement({ wanted: 3, dispatched: 2, placing: 1 }))).toBeUndefined();
    expect(r.size).toBe(0);
  });

  it("remembers a bounded number of tasks, dropping the oldest", () => {
    const r = new ReplicaPlacements();
    for (let i = 0; i < 5000; i++) r.place(placement({ taskId: `t${i}`, placing: 1 }));
    expect(r.size).toBe(4096);
    expect(r.place(placement({ taskId: "t0", dispatched: 1, placing: 1 }))).toBeUndefined();
    expect(r.place(placement({ taskId: "t4999", dispatched: 1, placing: 1 }))).toMatchObject({ placed: 2, unplaced: 0 });
  });
});
