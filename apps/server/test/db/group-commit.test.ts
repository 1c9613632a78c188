import { afterAll, beforeAll, expect, it } from "vitest";
import pg from "pg";
import { createDatabase, type SqlClient } from "../../src/db/database";
import { GroupCommit, leadOf, type LeadKind } from "../../src/db/group-commit";
import { describeDb, openTestDatabase, testDbKind, type TestDatabase } from "../support/database";

/** One turn of the event loop: the group commit starts the batch queued so far, and units queued after it form the next. */
const batchStarts = () => new Promise<void>((resolve) => setImmediate(resolve));

const rowsOf = async (db: TestDatabase) =>
  (await db.prisma.$queryRawUnsafe<Array<{ id: number; n: number }>>(`SELECT id, n FROM group_commit_probe ORDER BY id`)).map((r) => [Number(r.id), Number(r.n)]);

describeDb("group commit: many units, one transaction", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
    await db.prisma.$executeRawUnsafe(`CREATE TABLE group_commit_probe (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)`);
  });
  afterAll(async () => {
    await db?.close();
  });

  it("commits units queued together in one transaction, and each caller gets its own result", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const commits = new GroupCommit(db);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        commits.run(async (tx) => {
          await tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (${i})`;
          return i * 2;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => i * 2));
    // Queued in one turn of the event loop: one batch.
    expect(commits.stats).toMatchObject({ batches: 1, units: 10 });
    expect((await rowsOf(db)).map(([id]) => id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // A unit queued once a batch started waits for the next one.
    const first = commits.run((tx) => tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (10)`);
    await batchStarts();
    await Promise.all([first, commits.run((tx) => tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (11)`)]);
    expect(commits.stats).toMatchObject({ batches: 3, units: 12 });
  });

  it("counts the statements its batches send (leads, the units' own, savepoints) and their wall time, not BEGIN or COMMIT", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const commits = new GroupCommit(db);
    const twice = (id: number) => async (tx: Parameters<Parameters<GroupCommit["run"]>[0]>[0]) => {
      await tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (${id})`;
      await tx.$executeRaw`UPDATE group_commit_probe SET n = n + 1 WHERE id = ${id}`;
    };
    // Round trips: each statement awaited is one, COMMIT one more, and BEGIN one of its own except
    // on PostgreSQL, where it goes out with the first statement (db/direct-sql.ts).
    const pipelined = testDbKind === "postgres";
    await Promise.all([1, 2, 3].map((id) => commits.run(twice(id))));
    expect(commits.stats).toMatchObject({ batches: 1, units: 3, statements: 6, roundTrips: pipelined ? 7 : 8 });
    expect(commits.stats.statementMs).toBeGreaterThan(0);
    // Units with savepoints of their own: SAVEPOINT, their two statements, RELEASE each — and on
    // PostgreSQL SAVEPOINT goes out with the unit's first statement.
    await Promise.all([4, 5].map((id) => commits.run(twice(id), { savepoint: true })));
    expect(commits.stats).toMatchObject({ batches: 2, units: 5, statements: 14, roundTrips: pipelined ? 7 + 1 + 3 + 3 : 8 + 2 + 4 + 4 });
    // Inside the batches: never more than the time they were in flight.
    expect(commits.stats.statementMs).toBeLessThanOrEqual(commits.stats.busyMs);
    expect(await rowsOf(db)).toEqual([1, 2, 3, 4, 5].map((id) => [id, 1]));
  });

  it("units queued by the callbacks of one turn of the event loop (requests read together) share a batch, also on PGlite, whose statements never yield to it", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const commits = new GroupCommit(db);
    // Ten callbacks of one turn, as ten requests read from their sockets together: each queues its
    // unit, and the microtasks after it run before the next callback. A batch started at once by the
    // first would, on PGlite, commit within those microtasks — and each request would be a batch.
    const results = await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) =>
          new Promise<number>((resolve, reject) =>
            setImmediate(() =>
              commits
                .run(async (tx) => {
                  await tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (${i})`;
                  return i;
                })
                .then(resolve, reject),
            ),
          ),
      ),
    );
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(commits.stats).toMatchObject({ batches: 1, units: 10 });
  });

  it("rolls back a failing unit alone (its savepoint), gives its caller the error, and commits the others", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const commits = new GroupCommit(db);
    const first = commits.run((tx) => tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (1)`);
    await batchStarts();
    const batch = [2, 3, 4].map((id) =>
      commits.run(async (tx) => {
        await tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (${id * 10})`;
        // Unit 3 then breaks a constraint: its own first insert must go too.
        if (id === 3) await tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (1)`;
        return id;
      }),
    );
    await first;
    const settled = await Promise.allSettled(batch);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((await rowsOf(db)).map(([id]) => id)).toEqual([1, 20, 40]);
    // The failing unit's error is the database's (a unique violation), not a wrapper's.
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/unique|P2010|23505|duplicate/i);
  });

  it("a unit queued with its own savepoint fails alone without a second transaction: its writes go, the batch's stay", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const commits = new GroupCommit(db);
    const first = commits.run((tx) => tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (1)`);
    await batchStarts();
    class NeedsMore extends Error {}
    const batch = [2, 3, 4].map((id) =>
      commits.run(
        async (tx) => {
          await tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (${id * 10})`;
          // Unit 3 throws from its own code after writing (as a judge asking for the reference run does),
          // unit 4 breaks a constraint: both in savepoints of their own.
          if (id === 3) throw new NeedsMore("later");
          if (id === 4) await tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (1)`;
          return id;
        },
        { savepoint: id !== 2 },
      ),
    );
    await first;
    const settled = await Promise.allSettled(batch);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "rejected"]);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(NeedsMore);
    expect(String((settled[2] as PromiseRejectedResult).reason)).toMatch(/unique|P2010|23505|duplicate/i);
    expect((await rowsOf(db)).map(([id]) => id)).toEqual([1, 20]);
    // No unit sent the batch to the savepoint-per-unit transaction: 2 batches, 2 transactions.
    expect(commits.stats.failed).toEqual({});
    expect(commits.stats.batches).toBe(2);
  });

  it("when several units of a batch fail, each alone fails — also one whose failure the units before it caused", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const commits = new GroupCommit(db);
    const first = commits.run((tx) => tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (1)`);
    await batchStarts();
    // The second batch: 5 inserts 50; 6 inserts 50 again (fails because 5 ran before it); 7 throws
    // in JS after writing; 8 commits. The first run fails at 6, the savepoint run at 7.
    let runsOf8 = 0;
    const batch = [5, 6, 7, 8].map((id) =>
      commits.run(async (tx) => {
        await tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (${id === 6 ? 50 : id * 10})`;
        if (id === 7) throw new Error("unit 7 refuses");
        if (id === 8) runsOf8++;
        return id;
      }),
    );
    await first;
    const settled = await Promise.allSettled(batch);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled"]);
    expect((settled[2] as PromiseRejectedResult).reason).toEqual(new Error("unit 7 refuses"));
    expect((await rowsOf(db)).map(([id]) => id)).toEqual([1, 50, 80]);
    // The first run stopped at unit 6, before unit 8: it ran once, in the savepoint run.
    expect(runsOf8).toBe(1);
  });

  /** Leads that insert probe rows (many in one statement, as ledger holds are), each answering its id and how it ran. */
  const probeLeads = (): LeadKind<number, string> & { statements: number[] } => {
    const statements: number[] = [];
    return {
      statements,
      one: async (tx, id) => {
        statements.push(1);
        await tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (${id})`;
        return `${id} alone`;
      },
      many: async (tx, ids) => {
        statements.push(ids.length);
        await tx.$executeRaw`INSERT INTO group_commit_probe (id) SELECT unnest(${[...ids]}::int[])`;
        return ids.map((id) => `${id} of ${ids.length}`);
      },
    };
  };

  it("runs a batch's leads as one statement before the units, which see them", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const leads = probeLeads();
    const commits = new GroupCommit(db, 64);
    const first = commits.run(async (_, led) => led, { lead: leadOf(leads, 1) });
    await batchStarts();
    // Each unit reads how many probe rows exist: every lead of its batch already ran.
    const batch = [2, 3, 4].map((id) =>
      commits.run(async (tx, led) => [led, Number((await tx.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM group_commit_probe`)[0]!.n)], { lead: leadOf(leads, id) }),
    );
    const plain = commits.run(async (tx) => tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (5)`);
    expect(await first).toBe("1 alone");
    expect(await Promise.all(batch)).toEqual([
      ["2 of 3", 4],
      ["3 of 3", 4],
      ["4 of 3", 4],
    ]);
    await plain;
    expect(leads.statements).toEqual([1, 3]);
    expect(commits.stats.sharedLeads).toBe(3);
    expect((await rowsOf(db)).map(([id]) => id)).toEqual([1, 2, 3, 4, 5]);
  });

  it("when the leads' statement fails, each lead runs alone: the failing one's unit gets its error, the others commit", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const leads = probeLeads();
    const commits = new GroupCommit(db, 64);
    const first = commits.run(async () => undefined, { lead: leadOf(leads, 1) });
    await batchStarts();
    // Lead 1 again: a unique violation, which only that unit's own run can own.
    let bodies = 0;
    const batch = [10, 1, 30].map((id) =>
      commits.run(
        async () => {
          bodies++;
          return id;
        },
        { lead: leadOf(leads, id) },
      ),
    );
    await first;
    const settled = await Promise.allSettled(batch);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/unique|P2010|23505|duplicate/i);
    expect((await rowsOf(db)).map(([id]) => id)).toEqual([1, 10, 30]);
    // No body ran in the failed shared run; each ran once after its own lead.
    expect(bodies).toBe(2);
    expect(leads.statements).toEqual([1, 3, 1, 1, 1]);
    expect(commits.stats.sharedLeads).toBe(0);
    expect(Object.values(commits.stats.failed)).toEqual([1]);
  });

  it("a unit queued with its own savepoint runs its lead alone, inside that savepoint", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const leads = probeLeads();
    const commits = new GroupCommit(db, 64);
    const first = commits.run(async () => undefined, { lead: leadOf(leads, 1) });
    await batchStarts();
    const batch = [
      commits.run(async () => undefined, { lead: leadOf(leads, 2) }),
      commits.run(
        async () => {
          throw new Error("rolls back its lead too");
        },
        { lead: leadOf(leads, 3), savepoint: true },
      ),
      commits.run(async () => undefined, { lead: leadOf(leads, 4) }),
    ];
    await first;
    const settled = await Promise.allSettled(batch);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((await rowsOf(db)).map(([id]) => id)).toEqual([1, 2, 4]);
    expect(leads.statements).toEqual([1, 2, 1]);
  });

  it("runs each kind's leads as a statement of their own, and a kind's lone lead in its unit's turn", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const [odd, even, lone] = [probeLeads(), probeLeads(), probeLeads()];
    const commits = new GroupCommit(db, 64);
    const first = commits.run(async () => undefined, { lead: leadOf(odd, 1) });
    await batchStarts();
    const batch = [
      commits.run(async (_, led) => led, { lead: leadOf(odd, 3) }),
      commits.run(async (_, led) => led, { lead: leadOf(even, 2) }),
      commits.run(async (_, led) => led, { lead: leadOf(lone, 7) }),
      commits.run(async (_, led) => led, { lead: leadOf(odd, 5) }),
      commits.run(async (_, led) => led, { lead: leadOf(even, 4) }),
    ];
    await first;
    expect(await Promise.all(batch)).toEqual(["3 of 2", "2 of 2", "7 alone", "5 of 2", "4 of 2"]);
    expect([odd.statements, even.statements, lone.statements]).toEqual([[1, 2], [2], [1]]);
    expect(commits.stats.sharedLeads).toBe(4);
    expect((await rowsOf(db)).map(([id]) => id)).toEqual([1, 2, 3, 4, 5, 7]);
  });

  it("when one kind's leads fail, with another kind's statement sent behind them (pipelined on PostgreSQL), each lead runs alone", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const [odd, even] = [probeLeads(), probeLeads()];
    const commits = new GroupCommit(db, 64);
    const first = commits.run(async () => undefined, { lead: leadOf(odd, 1) });
    await batchStarts();
    // Odd's statement comes first and fails (1 is taken); even's, issued with it, then runs in a
    // transaction PostgreSQL has aborted. The error is odd's, and only its unit's own.
    const batch = [leadOf(odd, 1), leadOf(even, 2), leadOf(odd, 3), leadOf(even, 4)].map((lead) => commits.run(async (_, led) => led, { lead }));
    await first;
    const settled = await Promise.allSettled(batch);
    expect(settled.map((x) => x.status)).toEqual(["rejected", "fulfilled", "fulfilled", "fulfilled"]);
    expect(String((settled[0] as PromiseRejectedResult).reason)).toMatch(/unique|P2010|23505|duplicate/i);
    expect(settled.slice(1).map((x) => (x as PromiseFulfilledResult<string>).value)).toEqual(["2 alone", "3 alone", "4 alone"]);
    // Even's statement was sent (and refused) only where statements are pipelined; elsewhere odd's error stopped it being issued.
    expect([odd.statements, even.statements]).toEqual([[1, 2, 1, 1], testDbKind === "postgres" ? [2, 1, 1] : [1, 1]]);
    expect((await rowsOf(db)).map(([id]) => id)).toEqual([1, 2, 3, 4]);
  });

  it("a unit that does not read its lead's answer goes out behind it (pipelined on PostgreSQL), sees its writes, and fails with its error", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const leads = probeLeads();
    const commits = new GroupCommit(db, 64);
    const count = async (tx: SqlClient) => Number((await tx.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM group_commit_probe`)[0]!.n);
    // Alone in its batch: BEGIN, the lead and the unit's read in one round trip on PostgreSQL, then COMMIT.
    expect(await commits.run(async (tx, led) => [led, await count(tx)], { lead: leadOf(leads, 1), readsLead: false })).toEqual([undefined, 1]);
    expect(commits.stats.roundTrips).toBe(testDbKind === "postgres" ? 2 : 4);
    // The lead fails (1 is taken): the unit, whose read ran in the aborted transaction, gets the lead's error.
    const err = await commits.run(async (tx) => count(tx), { lead: leadOf(leads, 1), readsLead: false }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/unique|P2010|23505|duplicate/i);
    expect((await rowsOf(db)).map(([id]) => id)).toEqual([1]);
  });

  /**
   * probeLeads that can commit by themselves: an id above 100 answers undefined having written
   * nothing (a lead whose task changed; typed `string` as the units read it); a taken id throws (a
   * unique violation, nothing written).
   */
  const autocommitLeads = () => {
    const leads = probeLeads();
    const autocommitted: number[] = [];
    return Object.assign(leads, {
      autocommitted,
      autocommit: async (db: Parameters<typeof leads.one>[0], id: number) => {
        autocommitted.push(id);
        if (id > 100) return undefined;
        await db.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (${id})`;
        return `${id} by itself`;
      },
    }) as unknown as LeadKind<number, string> & { statements: number[]; autocommitted: number[] };
  };

  it("a lone unit settled by its lead commits the lead by itself: no transaction, the unit's body not run", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const leads = autocommitLeads();
    const commits = new GroupCommit(db, 64);
    let bodies = 0;
    const unit = async (_: unknown, led: string | undefined) => {
      bodies++;
      return `body after ${led}`;
    };
    expect(await commits.run(unit, { lead: leadOf(leads, 1), settledBy: (led) => `settled by ${led}` })).toBe("settled by 1 by itself");
    expect([bodies, leads.autocommitted, leads.statements, commits.stats.autocommits]).toEqual([0, [1], [], 1]);
    expect(await rowsOf(db)).toEqual([[1, 0]]);
    // Without settledBy, or in a batch of several, the lead runs in the transaction as before.
    expect(await commits.run(unit, { lead: leadOf(leads, 2) })).toBe("body after 2 alone");
    const again = new GroupCommit(db, 64); // idle: its first unit is a batch of its own
    const first = again.run(unit, { lead: leadOf(leads, 3), settledBy: (led) => `settled by ${led}` });
    await batchStarts();
    const batch = [4, 5].map((id) => again.run(unit, { lead: leadOf(leads, id), settledBy: (led) => `settled by ${led}` }));
    expect(await first).toBe("settled by 3 by itself");
    expect(await Promise.all(batch)).toEqual(["body after 4 of 2", "body after 5 of 2"]);
    expect([leads.autocommitted, leads.statements, again.stats.autocommits]).toEqual([[1, 3], [1, 2], 1]);
    expect((await rowsOf(db)).map(([id]) => id)).toEqual([1, 2, 3, 4, 5]);
  });

  it("a lead that answers nothing by itself sends its unit the usual way without it; one that throws, with it, in a transaction", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const leads = autocommitLeads();
    const commits = new GroupCommit(db, 64);
    const ran: Array<string | undefined> = [];
    const unit = async (tx: Parameters<typeof leads.one>[0], led: string | undefined) => {
      ran.push(led);
      await tx.$executeRaw`INSERT INTO group_commit_probe (id, n) VALUES (1000 + ${ran.length}, 1)`;
      return "body";
    };
    // 101 answers undefined: the body runs, with no lead (its in-transaction run would answer the same).
    expect(await commits.run(unit, { lead: leadOf(leads, 101), settledBy: () => "settled" })).toBe("body");
    expect([ran, leads.statements]).toEqual([[undefined], []]);
    // 7 is taken: the lead throws by itself, having written nothing; the usual run gets the same error, and writes nothing either.
    await db.prisma.$executeRawUnsafe(`INSERT INTO group_commit_probe (id) VALUES (7)`);
    await expect(commits.run(unit, { lead: leadOf(leads, 7), settledBy: () => "settled" })).rejects.toThrow(/unique|P2010|23505|duplicate/i);
    expect([ran, leads.autocommitted, leads.statements, commits.stats.autocommits]).toEqual([[undefined], [101, 7], [1], 0]);
    expect(await rowsOf(db)).toEqual([
      [7, 0],
      [1001, 1],
    ]);
  });

  it("fails a lone unit's transaction as a whole: nothing it wrote stays", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const commits = new GroupCommit(db);
    await expect(
      commits.run(async (tx) => {
        await tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (7)`;
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await rowsOf(db)).toEqual([]);
  });

  it.runIf(testDbKind === "postgres")("a unit's result is visible to other connections when its promise resolves (durable before announced)", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    const commits = new GroupCommit(db);
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      const seen = await Promise.all(
        [1, 2, 3].map((id) =>
          commits
            .run((tx) => tx.$executeRaw`INSERT INTO group_commit_probe (id) VALUES (${id})`)
            .then(async () => (await other.query("SELECT count(*)::int AS c FROM group_commit_probe WHERE id = $1", [id])).rows[0].c as number),
        ),
      );
      expect(seen).toEqual([1, 1, 1]);
    } finally {
      await other.end();
    }
  });

  it.runIf(testDbKind === "postgres")("runs a unit PostgreSQL aborted for a deadlock again, so both units of a deadlock commit once", async () => {
    await db.prisma.$executeRawUnsafe(`DELETE FROM group_commit_probe`);
    await db.prisma.$executeRawUnsafe(`INSERT INTO group_commit_probe (id) VALUES (1), (2)`);
    const db2 = await createDatabase({ url: db.url! });
    try {
      const a = new GroupCommit(db);
      const b = new GroupCommit(db2);
      // Each unit locks one row, waits until the other has locked its row, then asks for the
      // other's: a real deadlock, which PostgreSQL breaks by aborting one of them (40P01).
      let locked = 0;
      const bothLocked = () =>
        new Promise<void>((resolve) => {
          const check = () => (locked >= 2 ? resolve() : setTimeout(check, 5));
          check();
        });
      let runs = 0;
      const unit = (first: number, second: number) => async (tx: Parameters<Parameters<GroupCommit["run"]>[0]>[0]) => {
        runs++;
        await tx.$executeRaw`UPDATE group_commit_probe SET n = n + 1 WHERE id = ${first}`;
        locked++;
        await bothLocked();
        await tx.$executeRaw`UPDATE group_commit_probe SET n = n + 1 WHERE id = ${second}`;
      };
      await Promise.all([a.run(unit(1, 2)), b.run(unit(2, 1))]);
      // Each row counted once per unit: the aborted run left nothing behind.
      expect(await rowsOf(db)).toEqual([
        [1, 2],
        [2, 2],
      ]);
      expect(runs).toBe(3);
    } finally {
      await db2.close();
    }
  });
});
