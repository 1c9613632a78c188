/**
 * prisma/migrations must produce exactly what prisma/schema.prisma describes: Prisma's WASM schema
 * engine replays the migrations on a throwaway PGlite and diffs the result against the schema.
 * A failure means someone edited schema.prisma without `npm run db:migration -- <name>`.
 * Runs in the server-pglite project only (it does not depend on the database under test).
 */
import { describe, expect, it } from "vitest";
import { diffMigrationsToSchema } from "../../../../prisma/scripts/engine";
import { testDbKind } from "../support/database";

describe.skipIf(testDbKind !== "pglite")("prisma/migrations", () => {
  it("is in sync with schema.prisma", async () => {
    const sql = await diffMigrationsToSchema();
    expect(sql, "schema.prisma changed without a migration: run `npm run db:migration -- <name>`").toBe("");
  });
});
