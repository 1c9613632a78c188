import net from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { SqlClient } from "../../src/db/database";
import { Prisma } from "../../src/db/generated/client";
import { createDirectSql, TransactionAborted } from "../../src/db/direct-sql";
import { inOrder, pipelines } from "../../src/db/sql-client";
import { driverErrorCause, isRetryableConflict } from "../../src/db/retry-conflicts";
import { toStunError } from "../../src/errors";
import { describeDb, openTestDatabase, testDbKind, type TestDatabase } from "../support/database";

// Group commit's statements run on the driver directly (db/direct-sql.ts: node-postgres on
// PostgreSQL; db/pglite-direct-sql.ts: PGlite's query API); the units were written against
// Prisma's $queryRaw, so the two must answer alike.
describeDb("raw SQL on the driver directly", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });
  const direct = () => db.direct!;

  it("is what both databases use", () => {
    expect(db.direct).toBeDefined();
  });

  it("answers a statement as Prisma's $queryRaw does: bigints, UTC timestamps, JSON, arrays, counts", async () => {
    const at = new Date("2026-03-04T05:06:07.089Z");
    const statement = Prisma.sql`
      SELECT ${123456789012345678n}::bigint AS big, ARRAY[${1n}, ${-2n}]::bigint[] AS bigs, ${at}::timestamp(3) AS at,
             ARRAY[${at}::timestamp(3)] AS ats, ${at}::timestamptz AS attz, ${JSON.stringify({ a: [1, "x"] })}::jsonb AS doc,
             (SELECT json_agg(x) FROM (SELECT 1 AS n, 'y' AS s) x) AS agg, ARRAY['p', 'q'] AS texts, 7::int AS small,
             (SELECT count(*) FROM "Account") AS n, true AS yes, NULL::bigint AS none, ${5n}::bigint AS "smallBig",
             ${new Uint8Array([0, 1, 254])}::bytea AS bytes, ${true}::boolean AS flag, 2.5::float8 AS half`;
    const [viaPrisma] = await db.prisma.$queryRaw<Array<Record<string, unknown>>>(statement);
    // Run three times: unnamed the first time, a named prepared statement from the second on
    // (db/statement-names.ts), each answering alike — outside a transaction and inside one.
    for (const run of [1, 2, 3]) {
      const [viaDirect] = await (run === 3
        ? direct().transaction((tx) => tx.$queryRaw<Array<Record<string, unknown>>>(statement))
        : direct().client.$queryRaw<Array<Record<string, unknown>>>(statement));
      // bytea: a Uint8Array either way (node-postgres's is a Buffer, Prisma's a plain Uint8Array).
      const { bytes, ...rest } = viaDirect!;
      const { bytes: prismaBytes, ...prismaRest } = viaPrisma!;
      expect(rest).toEqual(prismaRest);
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect([...(bytes as Uint8Array)]).toEqual([...(prismaBytes as Uint8Array)]);
      expect([...(bytes as Uint8Array)]).toEqual([0, 1, 254]);
      expect(viaDirect).toMatchObject({ big: 123456789012345678n, bigs: [1n, -2n], at, ats: [at], attz: at, small: 7, yes: true, none: null, smallBig: 5n, flag: true, half: 2.5 });
    }
  });

  it("runs a prepared statement outside a transaction after another caller's transaction, never inside it", async () => {
    const id = (what: string) => `direct-apart-${what}-${Date.now()}`;
    const insert = (tx: SqlClient, account: string) => tx.$executeRaw`INSERT INTO "Account" (id, "createdAt") VALUES (${account}, ${new Date()})`;
    // Named from its second run: both inserts below run it prepared.
    await insert(direct().client, id("warm-1"));
    await insert(direct().client, id("warm-2"));
    let inside!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const rolledBack = direct()
      .transaction(async (tx) => {
        await insert(tx, id("rolled-back"));
        inside();
        await held;
        throw new Error("the other caller's transaction fails");
      })
      .catch((e: unknown) => e);
    await entered;
    const mine = id("mine");
    const committed = insert(direct().client, mine);
    await new Promise((r) => setTimeout(r, 50));
    release();
    expect(await rolledBack).toBeInstanceOf(Error);
    expect(await committed).toBe(1);
    // Run inside the other transaction, the row would have been rolled back with it.
    expect(await db.prisma.$queryRaw<unknown[]>`SELECT 1 FROM "Account" WHERE id = ${mine}`).toHaveLength(1);
  });

  it("fails a prepared statement's run with PostgreSQL's code, rolls its transaction back, and runs it again after", async () => {
    const divide = (tx: SqlClient, by: number) => tx.$queryRaw<Array<{ q: number }>>`SELECT 6 / ${by}::int AS q`;
    expect(await divide(direct().client, 2)).toEqual([{ q: 3 }]);
    expect(await divide(direct().client, 3)).toEqual([{ q: 2 }]);
    const id = `direct-prepared-error-${Date.now()}`;
    const err = await direct()
      .transaction(async (tx) => {
        await tx.$executeRaw`INSERT INTO "Account" (id, "createdAt") VALUES (${id}, ${new Date()})`;
        return divide(tx, 0);
      })
      .catch((e: unknown) => e);
    expect(driverErrorCause(err)).toMatchObject({ originalCode: "22012" });
    expect(await db.prisma.$queryRaw<unknown[]>`SELECT 1 FROM "Account" WHERE id = ${id}`).toHaveLength(0);
    expect(await direct().transaction((tx) => divide(tx, 6))).toEqual([{ q: 1 }]);
  });

  it("writes a Date as its UTC time whatever the process's time zone, and reads it back so", async () => {
    const tz = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      const at = new Date("2026-07-01T12:00:00.000Z");
      const id = `direct-tz-${Date.now()}`;
      await direct().client.$executeRaw`INSERT INTO "Account" (id, "createdAt") VALUES (${id}, ${at})`;
      const [row] = await db.prisma.$queryRaw<Array<{ createdAt: Date; text: string }>>`SELECT "createdAt", "createdAt"::text AS text FROM "Account" WHERE id = ${id}`;
      expect(row!.createdAt).toEqual(at);
      expect(row!.text).toBe("2026-07-01 12:00:00");
      const [back] = await direct().client.$queryRaw<Array<{ createdAt: Date }>>`SELECT "createdAt" FROM "Account" WHERE id = ${id}`;
      expect(back!.createdAt).toEqual(at);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it("commits a transaction that resolves, rolls back one that throws, and counts what $executeRaw changed", async () => {
    const id = `direct-tx-${Date.now()}`;
    const changed = await direct().transaction(async (tx: SqlClient) => {
      await tx.$executeRaw`INSERT INTO "Account" (id, "createdAt") VALUES (${id}, ${new Date()})`;
      return tx.$executeRaw`UPDATE "Account" SET balance = balance + ${5n} WHERE id = ${id}`;
    });
    expect(changed).toBe(1);
    await expect(
      direct().transaction(async (tx) => {
        await tx.$executeRawUnsafe(`UPDATE "Account" SET balance = balance + $1 WHERE id = $2`, 100n, id);
        throw new Error("unit failed");
      }),
    ).rejects.toThrow("unit failed");
    const [row] = await db.prisma.$queryRaw<Array<{ balance: bigint }>>`SELECT balance FROM "Account" WHERE id = ${id}`;
    expect(row!.balance).toBe(5n);
  });

  it("runs statements issued together (inOrder) in order, each seeing the one before; a failure is the first failed step's, with nothing written", async () => {
    const id = `direct-in-order-${Date.now()}`;
    const answers = await direct().transaction((tx) =>
      inOrder<unknown>(tx, [
        () => tx.$executeRaw`INSERT INTO "Account" (id, "createdAt") VALUES (${id}, ${new Date()})`,
        () => tx.$executeRaw`UPDATE "Account" SET balance = balance + ${7n} WHERE id = ${id}`,
        () => tx.$queryRaw<Array<{ balance: bigint }>>`SELECT balance FROM "Account" WHERE id = ${id}`,
      ]),
    );
    expect(answers).toEqual([1, 1, [{ balance: 7n }]]);
    // The second step fails (not a boolean); the third, run after it in a transaction PostgreSQL
    // has aborted, fails too — the error is the second's, and the first step's write is rolled back.
    const err = await direct()
      .transaction((tx) =>
        inOrder<unknown>(tx, [() => tx.$executeRaw`UPDATE "Account" SET balance = balance + ${100n} WHERE id = ${id}`, () => tx.$queryRaw`SELECT 'maybe'::boolean`, () => tx.$queryRaw`SELECT 1`]),
      )
      .catch((e: unknown) => e);
    expect(driverErrorCause(err)).toMatchObject({ originalCode: "22P02" });
    const [row] = await direct().client.$queryRaw<Array<{ balance: bigint }>>`SELECT balance FROM "Account" WHERE id = ${id}`;
    expect(row!.balance).toBe(7n);
    // Pipelined on PostgreSQL (node-postgres's pipeline mode), one after the other on PGlite.
    await direct().transaction(async (tx) => expect(pipelines(tx)).toBe(testDbKind === "postgres"));
  });

  it.runIf(testDbKind === "postgres")("fails a transaction whose failed statement's error was caught: COMMIT answered ROLLBACK is not a commit", async () => {
    const id = `direct-aborted-${Date.now()}`;
    const err = await direct()
      .transaction(async (tx) => {
        await tx.$executeRaw`INSERT INTO "Account" (id, "createdAt") VALUES (${id}, ${new Date()})`;
        await tx.$queryRaw`SELECT 'maybe'::boolean`.catch(() => undefined);
        return "done";
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransactionAborted);
    expect(await db.prisma.$queryRaw<unknown[]>`SELECT 1 FROM "Account" WHERE id = ${id}`).toHaveLength(0);
  });

  it("fails with PostgreSQL's code, read as Prisma's errors are read (a deadlock is run again)", async () => {
    const err = await direct()
      .transaction((tx) => tx.$queryRaw`SELECT 'maybe'::boolean`)
      .catch((e: unknown) => e);
    expect(driverErrorCause(err)).toMatchObject({ originalCode: "22P02" });
    const deadlock = await direct()
      .client.$queryRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'two waited on each other' USING ERRCODE = '40P01'; END $$`)
      .catch((e: unknown) => e);
    expect(isRetryableConflict(deadlock)).toBe(true);
    // The pool's connections are still good after both.
    const [one] = await direct().client.$queryRaw<Array<{ one: number }>>`SELECT 1 AS one`;
    expect(one!.one).toBe(1);
  });
});

describeDb("raw SQL on node-postgres directly: a connection lost", () => {
  const onPostgres = it.runIf(testDbKind === "postgres");
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  onPostgres("while a transaction waits between statements fails that transaction, not the process, and the pool goes on", async () => {
    const id = `direct-lost-${Date.now()}`;
    const err = await db
      .direct!.transaction(async (tx) => {
        await tx.$executeRaw`INSERT INTO "Account" (id, "createdAt") VALUES (${id}, ${new Date()})`;
        const [me] = await tx.$queryRaw<Array<{ pid: number }>>`SELECT pg_backend_pid() AS pid`;
        // Another connection ends this one's backend while the unit is between statements.
        await db.prisma.$queryRaw`SELECT pg_terminate_backend(${me!.pid}::int)`;
        await new Promise((r) => setTimeout(r, 200));
        await tx.$queryRaw`SELECT 1`;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await db.prisma.$queryRaw<unknown[]>`SELECT 1 FROM "Account" WHERE id = ${id}`).toHaveLength(0);
    const [one] = await db.direct!.transaction((tx) => tx.$queryRaw<Array<{ one: number }>>`SELECT 1 AS one`);
    expect(one!.one).toBe(1);
  });

  onPostgres("while its statement runs fails that statement, and the pool goes on", async () => {
    const err = await db.direct!.transaction((tx) => tx.$queryRaw`SELECT pg_terminate_backend(pg_backend_pid())`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const [one] = await db.direct!.client.$queryRaw<Array<{ one: number }>>`SELECT 1 AS one`;
    expect(one!.one).toBe(1);
  });
});

/** A connection's socket counting round trips: each write after an answer (or the first) starts one. */
class RoundTripCounter extends net.Socket {
  trips = 0;
  private answered = true;
  constructor() {
    super();
    this.on("data", () => {
      this.answered = true;
    });
  }
  // What reaches the socket's handle (`write` itself is replaced on the instance while it connects).
  override _write(chunk: unknown, encoding: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.sent();
    super._write(chunk, encoding, cb);
  }
  override _writev(chunks: Array<{ chunk: unknown; encoding: BufferEncoding }>, cb: (error?: Error | null) => void): void {
    this.sent();
    super._writev!(chunks, cb);
  }
  private sent(): void {
    if (this.answered) this.trips++;
    this.answered = false;
  }
}

describeDb("raw SQL on node-postgres directly: pipelined", () => {
  it.runIf(testDbKind === "postgres")("sends a transaction's BEGIN with its first statement, and statements issued together in one round trip", async () => {
    const db = await openTestDatabase();
    const sockets: RoundTripCounter[] = [];
    const watched = createDirectSql(db.url!, {
      stream: () => {
        const s = new RoundTripCounter();
        sockets.push(s);
        return s;
      },
    });
    const trips = async (fn: () => Promise<unknown>) => {
      const before = sockets.reduce((n, s) => n + s.trips, 0);
      await fn();
      return sockets.reduce((n, s) => n + s.trips, 0) - before;
    };
    try {
      const id = `direct-trips-${Date.now()}`;
      await watched.transaction((tx) => tx.$queryRaw`SELECT 1`); // the connection opened
      // BEGIN and the statement, then COMMIT: two round trips, where awaiting BEGIN made three.
      expect(await trips(() => watched.transaction((tx) => tx.$executeRaw`INSERT INTO "Account" (id, "createdAt") VALUES (${id}, ${new Date()})`))).toBe(2);
      // Three statements issued together: still two.
      const three = () =>
        watched.transaction((tx) =>
          inOrder<unknown>(tx, [
            () => tx.$executeRaw`UPDATE "Account" SET balance = balance + ${1n} WHERE id = ${id}`,
            () => tx.$executeRaw`UPDATE "Account" SET balance = balance + ${2n} WHERE id = ${id}`,
            () => tx.$queryRaw`SELECT balance FROM "Account" WHERE id = ${id}`,
          ]),
        );
      expect(await trips(three)).toBe(2);
      // Awaited one by one, each is a round trip of its own.
      expect(
        await trips(() =>
          watched.transaction(async (tx) => {
            await tx.$executeRaw`UPDATE "Account" SET balance = balance + ${1n} WHERE id = ${id}`;
            await tx.$executeRaw`UPDATE "Account" SET balance = balance + ${2n} WHERE id = ${id}`;
          }),
        ),
      ).toBe(3);
      const [row] = await db.prisma.$queryRaw<Array<{ balance: bigint }>>`SELECT balance FROM "Account" WHERE id = ${id}`;
      expect(row!.balance).toBe(6n);
      expect(sockets).toHaveLength(1);
    } finally {
      await watched.close();
      await db.close();
    }
  });
});

describeDb("raw SQL on node-postgres directly: time limits", () => {
  it.runIf(testDbKind === "postgres")("cancels a statement past its timeout, rolled back, and says UNAVAILABLE (503) to the caller", async () => {
    const db = await openTestDatabase();
    const slow = createDirectSql(db.url!, { timeoutMs: 200 });
    try {
      const id = `direct-timeout-${Date.now()}`;
      const err = await slow
        .transaction(async (tx) => {
          await tx.$executeRaw`INSERT INTO "Account" (id, "createdAt") VALUES (${id}, ${new Date()})`;
          await tx.$queryRaw`SELECT pg_sleep(2)`;
        })
        .catch((e: unknown) => e);
      expect(driverErrorCause(err)).toMatchObject({ originalCode: "57014" });
      expect(toStunError(err)).toMatchObject({ code: "UNAVAILABLE", status: 503 });
      const rows = await db.prisma.$queryRaw<unknown[]>`SELECT 1 FROM "Account" WHERE id = ${id}`;
      expect(rows).toHaveLength(0);
    } finally {
      await slow.close();
      await db.close();
    }
  });
});
