import type { Database } from "../db/database";
import type { Config } from "../env";
import type { BlobStore } from "./blob-store";
import { FsBlobStore } from "./fs-blob-store";
import { PostgresBlobStore } from "./postgres-blob-store";
import { SplitBlobStore } from "./split-blob-store";

/** Small blobs kept in the database's table when BLOB_INLINE_MAX_BYTES is unset (env.ts says why PGlite keeps them on disk). */
export const inlineMaxBytesFor = (kind: Database["kind"]): number => (kind === "postgres" ? 65536 : 0);

/** The blob store BLOB_STORE names (on disk, small blobs in the table unless BLOB_INLINE_MAX_BYTES is 0), ready to use. */
export async function openBlobStore(config: Pick<Config, "BLOB_STORE" | "BLOB_INLINE_MAX_BYTES" | "blobDir" | "STUN_FSYNC">, db: Database): Promise<BlobStore> {
  const disk = () => new FsBlobStore(config.blobDir, config.STUN_FSYNC);
  const inline = config.BLOB_INLINE_MAX_BYTES ?? inlineMaxBytesFor(db.kind);
  const store = config.BLOB_STORE === "postgres" ? new PostgresBlobStore(db) : inline > 0 ? new SplitBlobStore(disk(), new PostgresBlobStore(db), inline) : disk();
  await store.init();
  return store;
}
