import { Readable } from "node:stream";
import type { Database, SqlClient } from "../db/database";
import type { Prisma } from "../db/generated/client";
import { blobNotFound, checkSha256, sha256Hex, type BlobStore } from "./blob-store";
import { insertBlobRow } from "./pin-lock";
import { RecentBlobs } from "./recent-blobs";

/**
 * The blob store as the `Blob` table of the shared database (BLOB_STORE=postgres): every instance
 * reads what any other wrote, with no shared filesystem. A row is written in one statement, so a
 * blob that exists is complete; there are no temporary files. Bytes are held in memory while they
 * travel (models are bounded by MODEL_MAX_BYTES, tensors by BODY_LIMIT).
 */
export class PostgresBlobStore implements BlobStore {
  readonly kind = "postgres";
  /** Small blobs written or read here lately: a dispatch's input and a long-poll's output are read from memory. */
  readonly recent = new RecentBlobs();

  constructor(private readonly db: Database) {}

  async init(): Promise<void> {}

  private q(tx?: SqlClient): SqlClient {
    return tx ?? this.db.prisma;
  }

  async has(sha256: string, tx?: SqlClient): Promise<boolean> {
    const [row] = await this.q(tx).$queryRaw<Array<{ found: boolean }>>`SELECT EXISTS (SELECT 1 FROM "Blob" WHERE sha256 = ${checkSha256(sha256)}) AS found`;
    return row?.found === true;
  }

  async put(bytes: Uint8Array, knownSha256?: string, tx?: SqlClient): Promise<string> {
    const sha = checkSha256(knownSha256 ?? sha256Hex(bytes));
    const q = this.q(tx);
    // Touch first: the common case (a repeated input, a known model) sends no bytes.
    const touched = await q.$executeRaw`UPDATE "Blob" SET "touchedAt" = now() WHERE sha256 = ${sha}`;
    if (touched === 0) {
      await q.$executeRaw`
        INSERT INTO "Blob" (sha256, bytes, size, "touchedAt") VALUES (${sha}, ${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)}, ${bytes.byteLength}, now())
        ON CONFLICT (sha256) DO UPDATE SET "touchedAt" = now()`;
    }
    this.recent.remember(sha, bytes);
    return sha;
  }

  async get(sha256: string, tx?: SqlClient): Promise<Buffer> {
    const known = this.recent.get(checkSha256(sha256));
    if (known) return known;
    // Raw: this read serves every dispatch of a task whose input is kept here.
    const [row] = await this.q(tx).$queryRaw<Array<{ bytes: Uint8Array }>>`SELECT bytes FROM "Blob" WHERE sha256 = ${sha256}`;
    if (!row) throw blobNotFound(sha256);
    const bytes = Buffer.from(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength);
    this.recent.remember(sha256, bytes);
    return bytes;
  }

  stream(sha256: string): Readable {
    const get = () => this.get(sha256);
    return Readable.from(
      (async function* () {
        yield await get();
      })(),
    );
  }

  async remove(sha256: string, tx?: SqlClient): Promise<boolean> {
    this.recent.forget(sha256);
    return (await this.q(tx).$executeRaw`DELETE FROM "Blob" WHERE sha256 = ${checkSha256(sha256)}`) > 0;
  }

  async *listOlderThan(before: Date, pageSize: number): AsyncGenerator<string[]> {
    let after = "";
    for (;;) {
      const rows = await this.db.prisma.blob.findMany({
        where: { touchedAt: { lt: before }, sha256: { gt: after } },
        orderBy: { sha256: "asc" },
        take: pageSize,
        select: { sha256: true },
      });
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.sha256;
      yield rows.map((r) => r.sha256);
      if (rows.length < pageSize) return;
    }
  }

  async removeStaleTemp(): Promise<number> {
    return 0;
  }

  /** Every blob lives in the table: written by the statement that references it. */
  inlineWrite(bytes: Uint8Array, sha256: string): Prisma.Sql {
    this.recent.remember(checkSha256(sha256), bytes);
    return insertBlobRow(sha256, bytes);
  }
}
