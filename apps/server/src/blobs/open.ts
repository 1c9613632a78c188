import type { Database } from "../db/database";
import type { Config } from "../env";
import type { BlobStore } from "./blob-store";
import { FsBlobStore } from "./fs-blob-store";
import { PostgresBlobStore } from "./postgres-blob-store";

/** The blob store BLOB_STORE names, ready to use. */
export async function openBlobStore(config: Pick<Config, "BLOB_STORE" | "blobDir" | "STUN_FSYNC">, db: Database): Promise<BlobStore> {
  const store = config.BLOB_STORE === "postgres" ? new PostgresBlobStore(db) : new FsBlobStore(config.blobDir, config.STUN_FSYNC);
  await store.init();
  return store;
}
