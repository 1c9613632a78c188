import { describe, expect, it } from "vitest";
import { RecentBlobs } from "../../src/blobs/recent-blobs";

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe("RecentBlobs", () => {
  it("keeps a copy: the caller's buffer changing later does not change what is served", () => {
    const recent = new RecentBlobs(1000, 100);
    const b = bytes(10, 1);
    recent.remember("a", b);
    b.fill(9);
    expect([...recent.get("a")!]).toEqual(Array(10).fill(1));
  });

  it("stays within its byte budget, the least recently used out first", () => {
    const recent = new RecentBlobs(100, 100);
    recent.remember("a", bytes(40, 1));
    recent.remember("b", bytes(40, 2));
    recent.get("a"); // a is now the most recent
    recent.remember("c", bytes(40, 3));
    expect(recent.get("b")).toBeUndefined();
    expect(recent.get("a")?.[0]).toBe(1);
    expect(recent.get("c")?.[0]).toBe(3);
    expect(recent.size).toEqual({ entries: 2, bytes: 80 });
  });

  it("does not hold a blob larger than its entry limit, and forgets a removed one", () => {
    const recent = new RecentBlobs(1000, 50);
    recent.remember("big", bytes(51, 1));
    expect(recent.get("big")).toBeUndefined();
    recent.remember("a", bytes(20, 1));
    recent.forget("a");
    expect(recent.get("a")).toBeUndefined();
    expect(recent.size).toEqual({ entries: 0, bytes: 0 });
  });
});
