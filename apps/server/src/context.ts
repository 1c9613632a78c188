import type { Config } from "./env";
import type { Database } from "./db/database";
import type { GroupCommit } from "./db/group-commit";
import type { BlobStore } from "./blobs/blob-store";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import type { EventBus } from "./events";
import type { ProviderRegistry } from "./scheduler/provider-registry";
import type { ChainPort } from "./chain-port";
import type { ZkModelStatus } from "@stun/shared";
import type { ModelRow } from "./models/row";
import type { ReadyZkModel } from "./zk/ready-model";
import type { KeyAuth } from "./auth/scopes";
import type { RateLimits } from "./limits/rate-limits";
import type { SiweNonceStore } from "./auth/siwe-nonces";
import type { PayoutRails } from "./payout-rails";
import type { OnnxWorkerPool } from "./onnx/worker-pool";
import type { SqlClient } from "./db/database";

/**
 * Models' zkML circuits (zk/zk-models.ts ZkModels, one per instance). An interface here, so that
 * this file imports no module that imports it back: every folder may depend on the context.
 */
export interface ZkCircuits {
  /** Whether the compiler supports the model (else MODEL_NOT_PROVABLE), its proving fee and circuit size; starts the build. */
  prepare(model: ModelRow): Promise<{ fee: bigint; constraints: number }>;
  /** The model's built circuit and keys, when ready on this instance. */
  ready(modelId: string): ReadyZkModel | undefined;
  /** Why the model's circuit cannot be built, once that is known. */
  failure(modelId: string): string | undefined;
  /** The model's circuit, waiting for a build in progress; undefined when it cannot be built. */
  whenReady(model: ModelRow): Promise<ReadyZkModel | undefined>;
  status(model: ModelRow): Promise<ZkModelStatus>;
  /** Starts building the model's circuit on this instance if it has not yet. */
  start(model: ModelRow): void;
  /** Fails the model's open zk tasks (refunded) after its build failed. */
  failQueued(modelId: string, why: string): Promise<void>;
}

/** A task a submit queues, as the dispatcher's claim reads it: its first dispatch. */
export interface SubmittedTask {
  id: string;
  kind: string;
  requesterId: string;
  requirements: unknown;
  verification: unknown;
  maxPrice: bigint;
  /** What the task holds in escrow (services/tasks.ts: its price times its most executions). */
  escrowHeld: bigint;
  wanted: number;
  inputSha256: string;
  modelId: string;
  modelSha256: string;
  modelSize: number;
  calibration: unknown;
}

/** What a submit's transaction placed, sent once it committed; `left`: executions it wants that nobody took. */
export interface PlacedAtSubmit {
  readonly left: boolean;
}

/** The dispatcher as a submit sees it: a task placed inside the submit's transaction when nothing else waits (scheduler/dispatcher.ts). */
export interface SubmitPlacer {
  placeAtSubmit(tx: SqlClient, task: SubmittedTask): Promise<PlacedAtSubmit | undefined>;
  undo(placed: PlacedAtSubmit): void;
  sendPlaced(placed: PlacedAtSubmit): void;
}

/** Which server instances are alive (scheduler/instance-presence.ts), with several instances on Redis. */
export interface InstanceLiveness {
  isAlive(instanceId: string): Promise<boolean>;
}

/** Everything a handler needs, built once in server.ts (the composition root). */
export interface AppContext {
  config: Config;
  db: Database;
  /**
   * Group commit (db/group-commit.ts): the submit and result transactions of many tasks share one
   * commit; a batch's leads of a kind (a submit's hold, a result settled alone) one statement.
   */
  commits: GroupCommit;
  blobs: BlobStore;
  log: Logger;
  metrics: Metrics;
  bus: EventBus;
  providers: ProviderRegistry;
  /** The worker processes that run every server-side onnxruntime job (onnx/worker-pool.ts). */
  onnx: OnnxWorkerPool;
  /** Models' zkML circuits for verification mode zk (apps/server/src/zk). */
  zk: ZkCircuits;
  /** The dispatcher, once started: a submit may place its task at once (SubmitPlacer). */
  placer?: SubmitPlacer;
  /** The chain adapter when CHAIN is set (apps/server/src/chain), else undefined. */
  chain?: ChainPort;
  /** Request, nonce and connection limits (apps/server/src/limits). */
  limits: RateLimits;
  /** Sign-In with Ethereum nonces between issue and verify: in memory, or in Redis (auth/siwe-nonces.ts). */
  siweNonces: SiweNonceStore;
  /** With REDIS_URL: which instances are alive (a provider's earlier instance, when it re-registers here). */
  presence?: InstanceLiveness;
  /** Payout queues on Solana / TON, for the families whose rail runs here with a payout key. */
  payoutRails: PayoutRails;
  /** With the Solana rail: the mint as read at start (its token program decides the deposit account). */
  solanaDeposit?: { depositAccount: string; tokenProgram: string; decimals: number };
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
