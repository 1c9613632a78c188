import { describe, expect, it } from "vitest";
import { isRetryableConflict, retryOnConflict } from "../../src/db/retry-conflicts";

/** An error shaped as Prisma's driver adapter reports a PostgreSQL error. */
const pgError = (originalCode: string) => Object.assign(new Error(`sql ${originalCode}`), { meta: { driverAdapterError: { cause: { originalCode } } } });

describe("retrying transactions PostgreSQL aborted", () => {
  it("retries deadlocks and serialization failures, nothing else (group-commit.test.ts runs a real deadlock)", async () => {
    expect(isRetryableConflict(pgError("40P01"))).toBe(true);
    expect(isRetryableConflict(pgError("40001"))).toBe(true);
    expect(isRetryableConflict(pgError("23505"))).toBe(false);
    expect(isRetryableConflict(new Error("plain"))).toBe(false);
    let calls = 0;
    expect(await retryOnConflict(async () => (++calls < 3 ? Promise.reject(pgError("40P01")) : "done"))).toBe("done");
    expect(calls).toBe(3);
    calls = 0;
    await expect(retryOnConflict(async () => (++calls, Promise.reject(pgError("23505"))))).rejects.toThrow("sql 23505");
    expect(calls).toBe(1);
    calls = 0;
    await expect(retryOnConflict(async () => (++calls, Promise.reject(pgError("40001"))))).rejects.toThrow("sql 40001");
    expect(calls).toBe(5);
  });
});
