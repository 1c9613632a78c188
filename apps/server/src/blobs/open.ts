import type { Database } from "../db/database";
import type { Config } from "../env";
import type { BlobStore } from "./blob-store";
import { FsBlobStore } from "./fs-blob-store";
import { PostgresBlobStore } from "./postgres-blob-store";
import { SplitBlobStore } from "./split-blob-store";

/** The blob store BLOB_STORE names (on disk, small blobs in the table unless BLOB_INLINE_MAX_BYTES is 0), ready to use. */
export async function openBlobStore(config: Pick<Config, "BLOB_STORE" | "BLOB_INLINE_MAX_BYTES" | "blobDir" | "STUN_FSYNC">, db: Database): Promise<BlobStore> {
  const disk = () => new FsBlobStore(config.blobDir, config.STUN_FSYNC);
  const store =
    config.BLOB_STORE === "postgres" ? new PostgresBlobStore(db) : config.BLOB_INLINE_MAX_BYTES > 0 ? new SplitBlobStore(disk(), new PostgresBlobStore(db), config.BLOB_INLINE_MAX_BYTES) : disk();
  await store.init();
  return store;
}
