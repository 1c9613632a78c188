import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db/database";
import { preparedStatementNames } from "../../src/db/statement-names";
import { describeDb, openTestDatabase, testDbKind, type TestDatabase } from "../support/database";

describe("preparedStatementNames", () => {
  it("names a text from its second run on, always with the same name, and another text with another", () => {
    const name = preparedStatementNames();
    expect(name({ sql: "SELECT 1" })).toBe("");
    const first = name({ sql: "SELECT 1" });
    expect(first).toMatch(/^stun_[0-9a-f]{24}$/);
    expect(name({ sql: "SELECT 1" })).toBe(first);
    name({ sql: "SELECT 2" });
    const second = name({ sql: "SELECT 2" });
    expect(second).not.toBe(first);
    expect(second).toMatch(/^stun_[0-9a-f]{24}$/);
  });

  it("names at most `max` texts: a text that varies without end stays unnamed past that", () => {
    const name = preparedStatementNames({ after: 1, max: 3 });
    const names = Array.from({ length: 10 }, (_, i) => name({ sql: `SELECT ${i}` }));
    expect(names.filter(Boolean)).toHaveLength(3);
    expect(names.slice(3).every((n) => n === "")).toBe(true);
    // The ones named keep their names.
    expect(name({ sql: "SELECT 0" })).toBe(names[0]);
  });
});

describeDb("prepared statements on PostgreSQL", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  /** Runs one statement four times in one transaction (one connection); its answers and the statements prepared for it there. */
  const runFourTimes = (on: TestDatabase) =>
    on.prisma.$transaction(async (tx) => {
      const answers: number[] = [];
      for (const x of [1, 2, 3, 4]) {
        const [row] = await tx.$queryRaw<Array<{ y: number }>>`SELECT (${x}::int * 10 + 7)::int AS y /* statement-names test */`;
        answers.push(row!.y);
      }
      const prepared = await tx.$queryRaw<Array<{ name: string }>>`
        SELECT name FROM pg_prepared_statements WHERE statement LIKE '%statement-names test%' AND statement NOT LIKE '%pg_prepared_statements%'`;
      return { answers, prepared };
    });

  it.runIf(testDbKind === "postgres")("a statement run again is prepared once on its connection and answers as before", async () => {
    const { answers, prepared } = await runFourTimes(db);
    expect(answers).toEqual([17, 27, 37, 47]);
    expect(prepared).toHaveLength(1);
    expect(prepared[0]!.name).toMatch(/^stun_[0-9a-f]{24}$/);
  });

  it.runIf(testDbKind === "postgres")("PG_PREPARED_STATEMENTS=false prepares nothing (a pooler in transaction mode)", async () => {
    const plain = await createDatabase({ url: db.url!, preparedStatements: false });
    try {
      const { answers, prepared } = await runFourTimes(plain);
      expect(answers).toEqual([17, 27, 37, 47]);
      expect(prepared).toEqual([]);
    } finally {
      await plain.close();
    }
  });
});
