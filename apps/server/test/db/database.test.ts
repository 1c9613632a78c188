import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDatabase, type Database } from "../../src/db/database";
import { describeDb, openTestDatabase, testDbKind } from "../support/database";

describeDb("createDatabase", () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  it("reports its kind", () => {
    expect(db.kind).toBe(testDbKind);
  });

  it("round-trips BigInt columns as JS bigint beyond 2^53", async () => {
    const big = 2n ** 62n + 7n;
    await db.prisma.account.create({ data: { id: "big", balance: big } });
    const row = await db.prisma.account.findUniqueOrThrow({ where: { id: "big" } });
    expect(row.balance).toBe(big);
    const raw = await db.prisma.$queryRaw<{ balance: bigint }[]>`SELECT "balance" FROM "Account" WHERE "id" = 'big'`;
    expect(raw[0]!.balance).toBe(big);
    const entry = await db.prisma.ledgerEntry.create({ data: { txId: "t", account: "x", amount: -big, kind: "k" } });
    expect(typeof entry.id).toBe("bigint");
    await db.prisma.ledgerEntry.delete({ where: { id: entry.id } });
  });

  it("commits and rolls back interactive transactions", async () => {
    await db.prisma.$transaction(async (tx) => {
      await tx.account.create({ data: { id: "tx-ok" } });
    });
    await expect(
      db.prisma.$transaction(async (tx) => {
        await tx.account.create({ data: { id: "tx-rolled-back" } });
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await db.prisma.account.count({ where: { id: { in: ["tx-ok", "tx-rolled-back"] } } })).toBe(1);
  });

  it("maps unique violations to Prisma's P2002 on both engines", async () => {
    await db.prisma.account.create({ data: { id: "dup" } });
    await expect(db.prisma.account.create({ data: { id: "dup" } })).rejects.toMatchObject({ code: "P2002" });
    await expect(
      db.prisma.$transaction(async (tx) => {
        await tx.account.create({ data: { id: "dup" } });
      }),
    ).rejects.toMatchObject({ code: "P2002" });
  });

  it("runs $queryRaw … FOR UPDATE SKIP LOCKED inside a transaction", async () => {
    await db.prisma.account.createMany({ data: [{ id: "q1" }, { id: "q2" }] });
    const rows = await db.prisma.$transaction(
      (tx) => tx.$queryRaw<{ id: string }[]>`
        SELECT "id" FROM "Account" WHERE "id" IN ('q1', 'q2') ORDER BY "id" LIMIT 1 FOR UPDATE SKIP LOCKED`,
    );
    expect(rows).toEqual([{ id: "q1" }]);
  });

  it.runIf(testDbKind === "postgres")("SKIP LOCKED skips a row another transaction holds (PostgreSQL)", async () => {
    await db.prisma.account.createMany({ data: [{ id: "s1" }, { id: "s2" }] });
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let firstLocked!: () => void;
    const locked = new Promise<void>((resolve) => {
      firstLocked = resolve;
    });
    const claim = (tx: Parameters<Parameters<typeof db.prisma.$transaction>[0]>[0]) =>
      tx.$queryRaw<{ id: string }[]>`
        SELECT "id" FROM "Account" WHERE "id" IN ('s1', 's2') ORDER BY "id" LIMIT 1 FOR UPDATE SKIP LOCKED`;
    const first = db.prisma.$transaction(async (tx) => {
      const r = await claim(tx);
      firstLocked();
      await firstHolds;
      return r;
    });
    await locked;
    const second = await db.prisma.$transaction((tx) => claim(tx));
    releaseFirst();
    expect((await first)[0]!.id).toBe("s1");
    expect(second[0]!.id).toBe("s2");
  });

  it.runIf(testDbKind === "pglite")("keeps data in a PGlite data directory across restarts", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "stun-pgdata-"));
    try {
      const logs: string[] = [];
      const first = await createDatabase({ dataDir: path.join(dir, "data"), log: (m) => logs.push(m) });
      await first.prisma.account.create({ data: { id: "persisted", balance: 42n } });
      await first.close();
      await first.close(); // idempotent
      const second = await createDatabase({ dataDir: path.join(dir, "data"), log: (m) => logs.push(m) });
      expect((await second.prisma.account.findUniqueOrThrow({ where: { id: "persisted" } })).balance).toBe(42n);
      await second.close();
      // Each migration applied once, by the first open; none re-applied by the second.
      const migrations = readdirSync(path.resolve(import.meta.dirname, "../../../../prisma/migrations"), { withFileTypes: true }).filter((e) => e.isDirectory());
      expect(migrations.length).toBeGreaterThanOrEqual(1);
      expect(logs.filter((l) => l.startsWith("applied migration"))).toHaveLength(migrations.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects a url that is not PostgreSQL", async () => {
    await expect(createDatabase({ url: "mysql://u:secret@h/db" })).rejects.toThrow(/postgres:\/\/.*u:\*\*\*@h/);
  });
});
