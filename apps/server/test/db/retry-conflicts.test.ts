import { describe, expect, it } from "vitest";
import { isRetryableConflict } from "../../src/db/retry-conflicts";

/** An error shaped as Prisma's driver adapter reports a PostgreSQL error. */
const pgError = (originalCode: string) => Object.assign(new Error(`sql ${originalCode}`), { meta: { driverAdapterError: { cause: { originalCode } } } });

describe("retrying transactions PostgreSQL aborted", () => {
  it("counts deadlocks and serialization failures as retryable, nothing else (group-commit.test.ts runs a real deadlock)", async () => {
    expect(isRetryableConflict(pgError("40P01"))).toBe(true);
    expect(isRetryableConflict(pgError("40001"))).toBe(true);
    expect(isRetryableConflict(pgError("23505"))).toBe(false);
    expect(isRetryableConflict(new Error("plain"))).toBe(false);
  });
});
