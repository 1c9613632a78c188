/**
 * Pins: how a row that references a blob and the garbage collector (blob-gc.ts) agree. Each blob
 * has a PostgreSQL advisory lock key (from its sha256). A transaction that inserts a row pointing at
 * a blob takes the key's *shared* lock and makes sure the file exists (writing it again from the
 * bytes it has if the collector deleted it a moment before); the collector takes the *exclusive*
 * lock before it re-checks a blob's references and deletes it (with BLOB_STORE=postgres the blob's
 * row is written and deleted inside those same transactions). So the collector either deletes
 * first (and the writer puts the file back) or sees the writer's committed row (and keeps it).
 */
import type { SqlClient } from "../db/database";
import type { BlobStore } from "../blobs/blob-store";
import { pinLock } from "../blobs/pin-lock";

/**
 * Inside the transaction that writes a reference to `sha256`: holds the blob's shared lock until
 * commit and ensures the file is there (rewritten from `bytes` when it is not).
 */
export async function pinBlob(tx: SqlClient, blobs: BlobStore, sha256: string, bytes: Uint8Array): Promise<void> {
  await tx.$executeRaw`SELECT ${pinLock(sha256)}`;
  await ensurePinnedBlob(tx, blobs, sha256, bytes);
}

/** After the pin's lock is held: the blob is there (written again from `bytes` when the collector just deleted it). */
export async function ensurePinnedBlob(tx: SqlClient, blobs: BlobStore, sha256: string, bytes: Uint8Array): Promise<void> {
  if (!(await blobs.has(sha256, tx))) await blobs.put(bytes, sha256, tx);
}
