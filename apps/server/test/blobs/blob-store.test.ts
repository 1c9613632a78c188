import { randomBytes } from "node:crypto";
import { mkdtemp, rm, utimes } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buffer } from "node:stream/consumers";
import { afterEach, beforeEach, expect, it } from "vitest";
import { putUnlessInline, sha256Hex, type BlobStore } from "../../src/blobs/blob-store";
import { FsBlobStore } from "../../src/blobs/fs-blob-store";
import { PostgresBlobStore } from "../../src/blobs/postgres-blob-store";
import { SplitBlobStore } from "../../src/blobs/split-blob-store";
import type { AppContext } from "../../src/context";
import { collectGarbage } from "../../src/storage/blob-gc";
import { pinBlob } from "../../src/storage/blob-pins";
import { describeDb, openTestDatabase, type TestDatabase } from "../support/database";

async function openSplit(db: TestDatabase, dir: string, inlineMaxBytes: number): Promise<BlobStore> {
  return new SplitBlobStore(new FsBlobStore(dir, false), new PostgresBlobStore(db), inlineMaxBytes);
}
/** A split store's blob is in one of its two halves: age it wherever it is. */
async function ageSplit(store: BlobStore, db: TestDatabase, sha: string, when: Date): Promise<void> {
  await db.prisma.blob.updateMany({ where: { sha256: sha }, data: { touchedAt: when } });
  const file = (store as unknown as { disk: FsBlobStore }).disk.pathOf(sha);
  await utimes(file, when, when).catch(() => undefined);
}

/** Each implementation, with how to make one of its blobs look last written at `when`. */
const implementations = {
  fs: {
    open: async (_db: TestDatabase, dir: string) => new FsBlobStore(dir, false),
    age: async (store: BlobStore, _db: TestDatabase, sha: string, when: Date) => utimes((store as FsBlobStore).pathOf(sha), when, when),
  },
  postgres: {
    open: async (db: TestDatabase) => new PostgresBlobStore(db),
    age: async (_store: BlobStore, db: TestDatabase, sha: string, when: Date) => {
      await db.prisma.blob.update({ where: { sha256: sha }, data: { touchedAt: when } });
    },
  },
  // The contract's blobs are 32 to 5000 bytes: here all of them in the table, there the 5000-byte ones on disk.
  "split, small in the table": { open: (db: TestDatabase, dir: string) => openSplit(db, dir, 1 << 20), age: ageSplit },
  "split, large on disk": { open: (db: TestDatabase, dir: string) => openSplit(db, dir, 1000), age: ageSplit },
};

const GRACE_SECONDS = 3600;
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

for (const [kind, impl] of Object.entries(implementations)) {
  describeDb(`blob store contract: ${kind}`, () => {
    let db: TestDatabase;
    let dir: string;
    let store: BlobStore;
    beforeEach(async () => {
      db = await openTestDatabase();
      dir = await mkdtemp(path.join(os.tmpdir(), "stun-blobs-"));
      store = await impl.open(db, dir);
      await store.init();
    });
    afterEach(async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    });
    const age = (sha: string, when: Date) => impl.age(store, db, sha, when);

    it("puts by content (idempotent, the known sha trusted), gets, streams, has and removes", async () => {
      const bytes = randomBytes(5000);
      const sha = await store.put(bytes);
      expect(sha).toBe(sha256Hex(bytes));
      expect(await store.put(bytes)).toBe(sha);
      expect(await store.put(bytes, sha)).toBe(sha);
      expect(await store.has(sha)).toBe(true);
      expect(Buffer.compare(await store.get(sha), bytes)).toBe(0);
      expect(Buffer.compare(await buffer(store.stream(sha)), bytes)).toBe(0);
      const empty = await store.put(new Uint8Array(0));
      expect((await store.get(empty)).length).toBe(0);
      expect(await store.remove(sha)).toBe(true);
      expect(await store.remove(sha)).toBe(false);
      expect(await store.has(sha)).toBe(false);
      await expect(store.get(sha)).rejects.toMatchObject({ code: "ENOENT" });
      await expect(store.has("not-a-sha")).rejects.toThrow(/not a sha256/);
    });

    it("lists blobs older than a time in pages, and a put of existing bytes makes the blob young again", async () => {
      const shas: string[] = [];
      for (let i = 0; i < 5; i++) shas.push(await store.put(randomBytes(32)));
      for (const sha of shas.slice(0, 4)) await age(sha, hoursAgo(2));
      const listed: string[][] = [];
      for await (const page of store.listOlderThan(hoursAgo(1), 3)) listed.push(page);
      expect(listed.map((p) => p.length)).toEqual([3, 1]);
      expect(listed.flat().sort()).toEqual(shas.slice(0, 4).sort());
      await store.put(await store.get(shas[0]!)); // touched
      const again: string[] = [];
      for await (const page of store.listOlderThan(hoursAgo(1), 10)) again.push(...page);
      expect(again.sort()).toEqual(shas.slice(1, 4).sort());
    });

    it("garbage collection deletes old unreferenced blobs only: a young one (grace) and a referenced one stay; a pin in a transaction puts a deleted blob back", async () => {
      const app = { db, blobs: store, config: { BLOB_GC_GRACE_SECONDS: GRACE_SECONDS } } as unknown as AppContext;
      const orphan = await store.put(randomBytes(64));
      const young = await store.put(randomBytes(64));
      const modelBytes = randomBytes(64);
      const model = await store.put(modelBytes);
      await db.prisma.account.create({ data: { id: "acc_blobs" } });
      await db.prisma.model.create({ data: { id: "mdl_blobs", sha256: model, name: "m", ownerId: "acc_blobs", sizeBytes: 64, inputs: [], outputs: [] } });
      await age(orphan, hoursAgo(2));
      await age(model, hoursAgo(2));
      expect((await collectGarbage(app)).blobs).toBe(1);
      expect([await store.has(orphan), await store.has(young), await store.has(model)]).toEqual([false, true, true]);

      await store.remove(model); // as if the collector had won the race against the pin below
      await db.prisma.$transaction(async (tx) => pinBlob(tx, store, model, modelBytes));
      expect(Buffer.compare(await store.get(model), modelBytes)).toBe(0);
    });
  });
}

describeDb("inline blob writes (BlobStore.inlineWrite)", () => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    db = await openTestDatabase();
    dir = await mkdtemp(path.join(os.tmpdir(), "stun-blobs-"));
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a small blob is written by the caller's statement: there after its commit, absent after its rollback; a large one is put on disk first", async () => {
    const store = await openSplit(db, dir, 1000);
    await store.init();
    const small = randomBytes(600);
    const sha = sha256Hex(small);
    await expect(
      db.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`WITH b AS (${store.inlineWrite!(small, sha)}) SELECT 1`;
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect(await store.has(sha)).toBe(false);
    await db.prisma.$transaction(async (tx) => tx.$executeRaw`WITH b AS (${store.inlineWrite!(small, sha)}) SELECT 1`);
    expect(Buffer.compare(await store.get(sha), small)).toBe(0);
    expect(Buffer.compare(await buffer(store.stream(sha)), small)).toBe(0);
    // Written again (another task with the same input): nothing changes, nothing fails.
    await db.prisma.$transaction(async (tx) => tx.$executeRaw`WITH b AS (${store.inlineWrite!(small, sha)}) SELECT 1`);
    expect(await db.prisma.blob.count({ where: { sha256: sha } })).toBe(1);

    const large = randomBytes(1001);
    expect(store.inlineWrite!(large, sha256Hex(large))).toBeUndefined();
    const largeSha = await putUnlessInline(store, large);
    expect(await db.prisma.blob.count({ where: { sha256: largeSha } })).toBe(0);
    expect(Buffer.compare(await store.get(largeSha), large)).toBe(0);
    // Only on disk: putUnlessInline of a small blob writes nothing (the referencing statement will).
    const other = randomBytes(10);
    expect(await store.has(await putUnlessInline(store, other))).toBe(false);
  });

  it("the disk-only store writes nothing inline", async () => {
    const disk: BlobStore = new FsBlobStore(dir, false);
    expect(disk.inlineWrite).toBeUndefined();
  });
});
