import { describe, expect, it } from "vitest";
import { parseVerification } from "../../src/tasks/verification";

describe("parseVerification", () => {
  it("reads a stored auto plan with its re-check and zk fields", () => {
    const v = parseVerification({
      mode: "auto",
      replicas: 2,
      argmax: false,
      single: true,
      plan: "solo",
      recheck: { taskId: "t1", assignmentId: "a1", providerId: "p1" },
      zk: { fee: "12", constraints: 300 },
    });
    expect(v.plan).toBe("solo");
    expect(v.recheck?.providerId).toBe("p1");
    expect(v.zk?.fee).toBe("12");
  });

  it("keeps keys it does not know, since writers spread the parsed value back into the row", () => {
    const v = parseVerification({ mode: "redundant", replicas: 3, argmax: true, addedLater: 7 });
    expect(JSON.parse(JSON.stringify(v))).toEqual({ mode: "redundant", replicas: 3, argmax: true, addedLater: 7 });
  });

  it("refuses a row that is not a verification policy", () => {
    expect(() => parseVerification({ mode: "magic", replicas: 2, argmax: false })).toThrow();
    expect(() => parseVerification({ mode: "auto", argmax: false })).toThrow();
    expect(() => parseVerification({ mode: "auto", replicas: 2, argmax: false, plan: "maybe" })).toThrow();
    expect(() => parseVerification(null)).toThrow();
  });
});
