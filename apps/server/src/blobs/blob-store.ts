import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { SqlClient } from "../db/database";
import type { Prisma } from "../db/generated/client";

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

export const SHA_RE = /^[0-9a-f]{64}$/;

/** Throws unless `sha256` is 64 lower-case hex digits. */
export function checkSha256(sha256: string): string {
  if (!SHA_RE.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
  return sha256;
}

/** What get/stream throw for a blob that is not there (the filesystem's own code, for both stores). */
export function blobNotFound(sha256: string): Error {
  return Object.assign(new Error(`blob ${sha256} not found`), { code: "ENOENT" });
}

/**
 * Content-addressed storage of models, task inputs and outputs and canary answers, each stored once
 * under its sha256. Two implementations (BLOB_STORE): the filesystem under DATA_DIR (one instance,
 * fs-blob-store.ts) and a table of the shared database (several instances, postgres-blob-store.ts).
 *
 * `tx`: inside a database transaction (pins, the collector) the store's own database work joins it;
 * the filesystem store ignores it. A blob that exists is complete.
 */
export interface BlobStore {
  readonly kind: "fs" | "postgres";
  init(): Promise<void>;
  has(sha256: string, tx?: SqlClient): Promise<boolean>;
  /**
   * Stores the bytes (if new) and returns their sha256. A blob already there is touched (its time =
   * now): the garbage collector keeps blobs younger than its grace period, so a new reference to an
   * old unreferenced blob is not collected before its row is written (storage/blob-gc.ts).
   */
  put(bytes: Uint8Array, knownSha256?: string, tx?: SqlClient): Promise<string>;
  /**
   * The bytes; rejects with code ENOENT when the blob is not there. Inside a transaction pass its
   * `tx`: a blob kept in the database may have been written by that transaction (not yet visible
   * elsewhere), and on PGlite a read outside the open transaction would wait for it to end.
   */
  get(sha256: string, tx?: SqlClient): Promise<Buffer>;
  stream(sha256: string): Readable;
  /** Deletes a blob; false when it was not there. */
  remove(sha256: string, tx?: SqlClient): Promise<boolean>;
  /**
   * Every stored blob last written (or touched) before `before`, in pages of `pageSize` (the
   * collector checks references a page at a time).
   */
  listOlderThan(before: Date, pageSize: number): AsyncGenerator<string[]>;
  /** Deletes partial writes older than `before` that crashes left behind; the count removed. */
  removeStaleTemp(before: Date): Promise<number>;
  /**
   * When this store keeps a blob of this size in the database: a data-modifying statement that
   * stores it (if new) under the blob's shared pin lock (storage/blob-pins.ts), to run as a CTE of
   * the statement that writes the row referencing it — durable with that row's commit, no write of
   * its own. undefined: store it with `put` first, as usual.
   */
  inlineWrite?(bytes: Uint8Array, sha256: string): Prisma.Sql | undefined;
}

/**
 * Stores `bytes` now unless the store writes blobs of their size with the statement that references
 * them (`inlineWrite`, which the caller then runs); returns their sha256 either way.
 */
export async function putUnlessInline(store: BlobStore, bytes: Uint8Array, sha256 = sha256Hex(bytes)): Promise<string> {
  return store.inlineWrite?.(bytes, sha256) ? sha256 : store.put(bytes, sha256);
}
