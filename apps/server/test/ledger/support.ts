/** Set-up and checks the ledger suites share. */
import { afterAll, beforeAll, expect } from "vitest";
import type { Database } from "../../src/db/database";
import { checkLedgerInvariants } from "../../src/ledger";
import { openTestDatabase } from "../support/database";

/**
 * One test database for the enclosing `describeDb` suite: opened before its tests, closed after
 * them. Returns a getter, since the database only exists once the suite has started.
 */
export function useLedgerDatabase(): () => Database {
  let db: Database | undefined;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });
  return () => {
    if (!db) throw new Error("the ledger test database is not open yet (use it inside a test or hook)");
    return db;
  };
}

/** Fails the test unless checkLedgerInvariants finds no problem. */
export async function expectLedgerInvariantsHold(db: Database): Promise<void> {
  expect(await checkLedgerInvariants(db)).toEqual([]);
}
