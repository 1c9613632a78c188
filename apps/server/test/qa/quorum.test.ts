import { describe, expect, it } from "vitest";
import { earnsCredit, networkPrefix, pickDistinct, sameOperator, type Identity } from "../../src/qa/quorum";

const id = (account: string, links: string[] = [], net?: string): Identity => ({ account, links, ...(net ? { net } : {}) });

describe("distinct identities per quorum", () => {
  it("one account, or accounts sharing a wallet link, are one operator", () => {
    expect(sameOperator(id("a"), id("a"))).toBe(true);
    expect(sameOperator(id("a", ["0xw"]), id("b", ["0xw"]))).toBe(true);
    expect(sameOperator(id("a", ["0xw"]), id("b", ["0xv"]))).toBe(false);
    expect(sameOperator(id("a"), id("b"))).toBe(false);
  });

  it("picks checkers of other operators than the taken ones and each other, in the given order", () => {
    const c = [
      { n: 1, i: id("a") },
      { n: 2, i: id("b", ["0xw"]) },
      { n: 3, i: id("c", ["0xw"]) },
      { n: 4, i: id("b") },
      { n: 5, i: id("d") },
    ];
    const pick = (taken: Identity[], n: number) => pickDistinct(c, (x) => x.i, taken, n, "off").map((x) => x.n);
    expect(pick([id("a")], 5)).toEqual([2, 5]);
    expect(pick([], 2)).toEqual([1, 2]);
    expect(pick([id("z", ["0xw"])], 3)).toEqual([1, 4, 5]);
    expect(pick([], 0)).toEqual([]);
  });

  it("prefers other network prefixes, and requires them when told to", () => {
    const c = [
      { n: 1, i: id("b", [], "10.0.0.0/24") },
      { n: 2, i: id("c", [], "10.0.1.0/24") },
    ];
    const lead = id("a", [], "10.0.0.0/24");
    expect(pickDistinct(c, (x) => x.i, [lead], 1, "prefer").map((x) => x.n)).toEqual([2]);
    expect(pickDistinct(c, (x) => x.i, [lead], 2, "prefer").map((x) => x.n)).toEqual([1, 2]);
    expect(pickDistinct(c, (x) => x.i, [lead], 2, "require").map((x) => x.n)).toEqual([2]);
    expect(pickDistinct(c, (x) => x.i, [lead], 1, "off").map((x) => x.n)).toEqual([1]);
  });

  it("no credit for work on one's own task or for agreeing with oneself", () => {
    expect(earnsCredit(id("a"), id("r"), [id("b")])).toBe(true);
    expect(earnsCredit(id("a"), id("a"), [id("b")])).toBe(false);
    expect(earnsCredit(id("a", ["0xw"]), id("r", ["0xw"]), [])).toBe(false);
    expect(earnsCredit(id("a"), id("r"), [id("b"), id("a")])).toBe(false);
    expect(earnsCredit(id("a"), undefined, [])).toBe(true);
  });

  it("network prefixes: /24 for IPv4 (also mapped), /48 for IPv6", () => {
    expect(networkPrefix("203.0.113.7")).toBe("203.0.113.0/24");
    expect(networkPrefix("::ffff:203.0.113.7")).toBe("203.0.113.0/24");
    expect(networkPrefix("2001:db8:abcd:12::1")).toBe("2001:db8:abcd::/48");
    expect(networkPrefix("2001:0db8:abcd:0012:0000:0000:0000:0001")).toBe("2001:db8:abcd::/48");
    expect(networkPrefix("::1")).toBe("0:0:0::/48");
    expect(networkPrefix("unknown")).toBeUndefined();
    expect(networkPrefix("1:2:3")).toBeUndefined();
  });
});
