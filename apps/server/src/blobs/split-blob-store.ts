/**
 * BLOB_STORE=fs with BLOB_INLINE_MAX_BYTES > 0: blobs up to that size (most task inputs and
 * outputs) live in the database's `Blob` table, larger ones (models, big tensors) on disk. A small
 * blob is then written by the statement that references it (`inlineWrite`) and made durable by
 * that transaction's commit — the group commit's one WAL flush — instead of a file write, an fsync
 * and a rename of its own on the submit and result paths.
 *
 * Reads look in the table first, then on disk; removal and listing cover both.
 */
import { Readable } from "node:stream";
import type { SqlClient } from "../db/database";
import type { Prisma } from "../db/generated/client";
import type { BlobStore } from "./blob-store";
import type { FsBlobStore } from "./fs-blob-store";
import type { PostgresBlobStore } from "./postgres-blob-store";

const isMissing = (e: unknown): boolean => (e as { code?: string } | null)?.code === "ENOENT";

export class SplitBlobStore implements BlobStore {
  readonly kind = "fs";

  constructor(
    private readonly disk: FsBlobStore,
    private readonly table: PostgresBlobStore,
    /** The largest blob kept in the table. */
    readonly inlineMaxBytes: number,
  ) {}

  async init(): Promise<void> {
    await this.disk.init();
  }

  private small(bytes: Uint8Array): boolean {
    return bytes.byteLength <= this.inlineMaxBytes;
  }

  async has(sha256: string, tx?: SqlClient): Promise<boolean> {
    return (await this.table.has(sha256, tx)) || (await this.disk.has(sha256));
  }

  put(bytes: Uint8Array, knownSha256?: string, tx?: SqlClient): Promise<string> {
    return this.small(bytes) ? this.table.put(bytes, knownSha256, tx) : this.disk.put(bytes, knownSha256);
  }

  async get(sha256: string, tx?: SqlClient): Promise<Buffer> {
    try {
      return await this.table.get(sha256, tx);
    } catch (e) {
      if (!isMissing(e)) throw e;
      return this.disk.get(sha256);
    }
  }

  stream(sha256: string): Readable {
    const { table, disk } = this;
    return Readable.from(
      (async function* () {
        try {
          yield await table.get(sha256);
        } catch (e) {
          if (!isMissing(e)) throw e;
          yield* disk.stream(sha256);
        }
      })(),
    );
  }

  async remove(sha256: string, tx?: SqlClient): Promise<boolean> {
    const inTable = await this.table.remove(sha256, tx);
    const onDisk = await this.disk.remove(sha256);
    return inTable || onDisk;
  }

  async *listOlderThan(before: Date, pageSize: number): AsyncGenerator<string[]> {
    yield* this.table.listOlderThan(before, pageSize);
    yield* this.disk.listOlderThan(before, pageSize);
  }

  removeStaleTemp(before: Date): Promise<number> {
    return this.disk.removeStaleTemp(before);
  }

  inlineWrite(bytes: Uint8Array, sha256: string): Prisma.Sql | undefined {
    return this.small(bytes) ? this.table.inlineWrite(bytes, sha256) : undefined;
  }
}
