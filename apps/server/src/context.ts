import type { Config } from "./env";
import type { Database } from "./db/database";
import type { BlobStore } from "./blobs/blob-store";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import type { EventBus } from "./events";
import type { ProviderRegistry } from "./scheduler/provider-registry";
import type { ChainAdapter } from "./chain/adapter";
import type { ZkModels } from "./zk/zk-models";
import type { OnnxWorkerPool } from "./onnx/worker-pool";

/** Everything a handler needs, built once in server.ts (the composition root). */
export interface AppContext {
  config: Config;
  db: Database;
  blobs: BlobStore;
  log: Logger;
  metrics: Metrics;
  bus: EventBus;
  providers: ProviderRegistry;
  /** The worker processes that run every server-side onnxruntime job (onnx/worker-pool.ts). */
  onnx: OnnxWorkerPool;
  /** Models' zkML circuits for verification mode zk (apps/server/src/zk). */
  zk: ZkModels;
  /** The chain adapter when CHAIN is set (apps/server/src/chain), else undefined. */
  chain?: ChainAdapter;
}

/** A request's context: the app plus who is calling (undefined for public routes). */
export interface CallContext {
  app: AppContext;
  accountId: string | undefined;
}
