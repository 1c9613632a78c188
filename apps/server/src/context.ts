import type { Config } from "./env";
import type { Database } from "./db/database";
import type { BlobStore } from "./blobs/blob-store";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import type { EventBus } from "./events";
import type { ProviderRegistry } from "./scheduler/provider-registry";
import type { ChainAdapter } from "./chain/adapter";
import type { ZkModels } from "./zk/zk-models";
import type { KeyAuth } from "./auth/key-auth";
import type { RateLimits } from "./limits/rate-limits";
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
  /** Request, nonce and connection limits (apps/server/src/limits). */
  limits: RateLimits;
}

/** A request's context: the app plus who is calling (undefined for public routes). */
export interface CallContext {
  app: AppContext;
  accountId: string | undefined;
  /** The calling key (auth/key-auth.ts), when a valid one came with the request. */
  key?: KeyAuth | undefined;
  /** Why the key that came with the request was refused (KEY_REVOKED …), for procedures that need one. */
  authError?: unknown;
  /** The caller's address as a rate-limit id (limits/rate-limits.ts addressId). */
  ip: string;
}
