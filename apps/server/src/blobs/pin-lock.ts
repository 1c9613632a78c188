/**
 * A blob's pin lock (the protocol is storage/blob-pins.ts'): a PostgreSQL advisory lock keyed by
 * the blob's sha256, taken shared by a writer of a row that references the blob and exclusive by
 * the garbage collector. Here so the stores can take it in the statements they write.
 */
import { Prisma } from "../db/generated/client";

/** The advisory lock key of a blob: the first 64 bits of its sha256, as a signed bigint. */
export const blobLockKey = (sha256: string): bigint => BigInt.asIntN(64, BigInt(`0x${sha256.slice(0, 16)}`));

/** The pin's shared lock as an SQL expression, for a statement that takes it itself. */
export const pinLock = (sha256: string): Prisma.Sql => Prisma.sql`pg_advisory_xact_lock_shared(${blobLockKey(sha256)})`;

/**
 * Stores a blob in the `Blob` table, if new, after taking its pin lock — in that order, since the
 * insert reads from the lock's SELECT: a collector deleting it now has committed first, and the row
 * is written again. Existing rows are left alone (no row lock, no new row version): the pin, not
 * the touch time, is what keeps a referenced blob.
 */
export const insertBlobRow = (sha256: string, bytes: Uint8Array): Prisma.Sql => Prisma.sql`
  INSERT INTO "Blob" (sha256, bytes, size, "touchedAt")
  SELECT ${sha256}, ${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)}, ${bytes.byteLength}, now()
  FROM (SELECT ${pinLock(sha256)}) AS pin
  ON CONFLICT (sha256) DO NOTHING`;

/** insertBlobRow for several blobs (by sha256) in one statement: each row written, if new, after its pin lock. */
export const insertBlobRows = (blobs: ReadonlyMap<string, Uint8Array>): Prisma.Sql => {
  const shas = [...blobs.keys()];
  return Prisma.sql`
  INSERT INTO "Blob" (sha256, bytes, size, "touchedAt")
  SELECT b.sha256, b.bytes, length(b.bytes), now()
  FROM (
    SELECT sha256, decode(hex, 'hex') AS bytes, pg_advisory_xact_lock_shared(key) AS pin
    FROM unnest(${shas}::text[], ${[...blobs.values()].map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex"))}::text[],
                ${shas.map((sha) => blobLockKey(sha).toString())}::bigint[]) AS b(sha256, hex, key)
  ) AS b
  ON CONFLICT (sha256) DO NOTHING`;
};
