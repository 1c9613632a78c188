import { randomBytes } from "node:crypto";
import { mkdtemp, rm, utimes } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buffer } from "node:stream/consumers";
import { afterEach, beforeEach, expect, it } from "vitest";
import { sha256Hex, type BlobStore } from "../../src/blobs/blob-store";
import { FsBlobStore } from "../../src/blobs/fs-blob-store";
import { PostgresBlobStore } from "../../src/blobs/postgres-blob-store";
import type { AppContext } from "../../src/context";
import { collectGarbage } from "../../src/storage/blob-gc";
import { pinBlob } from "../../src/storage/blob-pins";
import { describeDb, openTestDatabase, type TestDatabase } from "../support/database";

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
