import { z } from "zod";
import os from "node:os";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MAX_AMOUNT } from "@stun/shared";
import { DEFAULT_QA_POLICY, SIBLING_SCOPES, type QaPolicy } from "./qa/policy";
import { NET_POLICIES } from "./qa/quorum";
import { type ChainConfig, chainEnvShape, resolveChainConfig } from "./chain/config";
import { type SolanaConfig, resolveSolanaConfig, solanaEnvShape } from "./chains/solana/config";
import { type TonConfig, resolveTonConfig, tonEnvShape } from "./chains/ton/config";
import { keysEnvShape, walletsEnvShape } from "./auth/config";
import { parseTrustProxy, type TrustProxy } from "./limits/client-ip";
import { loadTeePolicy } from "./tee/tee-policy";
import type { AttestationPolicy } from "@stun/tee";

/**
 * The server's configuration, parsed once from the environment by one zod schema. Every default
 * runs locally with no set-up: embedded PGlite under DATA_DIR, blobs on the filesystem, local mode.
 */
const bool = z.enum(["1", "0", "true", "false", "yes", "no"]).transform((v) => v === "1" || v === "true" || v === "yes");

export const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default("127.0.0.1"),
  /**
   * The gRPC gateway's port (docs/GATEWAYS.md), on HOST. Unset: no gRPC server (the default, and
   * `npm start`'s); 0: any free port (tests read it from RunningServer.grpcPort).
   */
  GRPC_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  DATA_DIR: z.string().default("./.stun"),
  /** postgres://… switches from embedded PGlite to PostgreSQL. */
  DATABASE_URL: z.string().url().optional(),
  /**
   * Name statements run again as prepared statements (db/statement-names.ts): with DATABASE_URL
   * Prisma's and the direct path's, on PGlite the direct path's (db/pglite-prepared.ts). `false`
   * behind a pooler in transaction mode that cannot keep them (PgBouncer before 1.21, or without
   * max_prepared_statements).
   */
  PG_PREPARED_STATEMENTS: bool.default(true),
  /**
   * Group commit's and the claims' raw SQL on the driver directly, not through Prisma: node-postgres
   * (db/direct-sql.ts) on PostgreSQL, PGlite's query API (db/pglite-direct-sql.ts) on PGlite.
   */
  PG_DIRECT_SQL: bool.default(true),
  /** The direct path's node-postgres connections pipeline: statements go out as they are issued (db/direct-sql.ts). */
  PG_PIPELINE: bool.default(true),
  /** redis://… enables the socket.io Redis adapter and cross-instance events. */
  REDIS_URL: z.string().url().optional(),
  /**
   * Namespace of this network's keys and channels in Redis: instances of one network share it;
   * two networks on one Redis (two test runs, staging beside production) must not.
   */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default("stun"),
  /** `local` enables the faucet; `production` hides it. */
  STUN_MODE: z.enum(["local", "production"]).default("local"),
  /**
   * Largest body of a request that carries tensors (task submit, REST and tRPC), in bytes; also
   * socket.io's largest message (a provider's result carries output tensors).
   */
  BODY_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  /** Largest body of every other JSON request (accounts, SIWE, faucet, stake, tRPC without tensors), in bytes. */
  JSON_BODY_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  /** Deepest nesting of arrays/objects a JSON body may have; deeper is refused (BODY_TOO_DEEP) as it arrives. */
  JSON_MAX_DEPTH: z.coerce.number().int().min(4).max(1000).default(64),
  /** Largest ONNX upload, in bytes. */
  MODEL_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024 * 1024),
  /** How long a provider holds an assignment without a heartbeat before it is re-queued. */
  LEASE_MS: z.coerce.number().int().positive().default(30_000),
  /**
   * The dispatcher's backstop pass: queued work is announced when it is written (a submit, a
   * re-queue, replicas, re-checks), and work nobody announced waits at most this long.
   */
  DISPATCH_INTERVAL_MS: z.coerce.number().int().positive().default(500),
  /** Executions a task may lose (provider gone, lease lapsed, provider error) before it fails. */
  MAX_ATTEMPTS: z.coerce.number().int().min(1).default(3),
  /** Default per-execution price ceiling when a task names none, in base units. */
  DEFAULT_MAX_PRICE: z.coerce.bigint().nonnegative().max(MAX_AMOUNT).default(1000n),
  /** What a task without maxPrice accepts above the quote, in basis points (2000 = quote + 20%; docs/PRICING.md). */
  QUOTE_MARGIN_BPS: z.coerce.bigint().nonnegative().max(1_000_000n).default(2000n),
  /** Clearings the price index needs for a model class before tasks without maxPrice default to its quote (DEFAULT_MAX_PRICE before). */
  QUOTE_MIN_SAMPLES: z.coerce.number().int().min(1).default(20),
  /** Default task deadline. */
  DEFAULT_DEADLINE_SECONDS: z.coerce.number().int().positive().default(600),
  // Adaptive replication (docs/QA.md; defaults in qa/policy.ts DEFAULT_QA_POLICY).
  /** Consecutive valid checked results that make a (provider, backend) pair trusted (runs alone). */
  TRUST_AFTER: z.coerce.number().int().min(0).optional(),
  /** Probability that a trusted pair's execution is audited right after it became trusted. */
  AUDIT_START: z.coerce.number().min(0).max(1).optional(),
  /** The audit probability never falls below this. */
  AUDIT_FLOOR: z.coerce.number().min(0).max(1).optional(),
  /** Valid checks that halve the audit probability. */
  AUDIT_HALF_LIFE: z.coerce.number().positive().optional(),
  /** Canary tasks (known answers) mixed in per user task. */
  CANARY_RATE: z.coerce.number().min(0).max(1).optional(),
  /** Lifetime checked results a pair needs per lifetime invalid verdict before it is trusted again (0: off). */
  CHECKS_PER_INVALID: z.coerce.number().int().min(0).optional(),
  /** Share of agreed results (replicas that agree) the server's reference run audits before delivery, when one of the agreeing pairs is trusted. */
  REFEREE_AUDIT_RATE: z.coerce.number().min(0).max(1).optional(),
  /** The same share when none of the agreeing pairs is trusted (newcomers checking newcomers). */
  REFEREE_AUDIT_UNTRUSTED: z.coerce.number().min(0).max(1).optional(),
  /** Who loses their streak when a trusted pair is caught: off, operator (its account and wallet-linked accounts), network (also its /24 or /48). */
  QA_SIBLINGS: z.enum(SIBLING_SCOPES).optional(),
  /** Solo results re-checked when their pair is caught with a wrong one. */
  RECHECK_LIMIT: z.coerce.number().int().min(0).optional(),
  /** A wrong result costs this multiple of its price in stake; stake must cover it for live work. */
  SLASH_MULTIPLE: z.coerce.bigint().nonnegative().optional(),
  /**
   * How far the network prefix (/24, /48) separates the providers checking one task, besides their
   * operators (docs/QA.md § Identities): off, prefer (distinct where enough providers), require.
   */
  QUORUM_NETWORK: z.enum(NET_POLICIES).default("prefer"),
  /**
   * Lets `auto` run a new provider's task alone, unchecked (receipt check `single`), when no provider
   * of another operator is registered and the server cannot referee the model — for every task, as
   * if each asked `verification.allowSingle`. For a one-provider local network (npm start); never
   * for a marketplace of strangers.
   */
  ALLOW_SINGLE: bool.default(false),
  /**
   * The attestation policy (docs/TEE.md): a JSON file naming accepted TDX MRTDs/RTMRs, SEV-SNP
   * measurements, TCB minimums and debug. Unset: any measurement, TCB UpToDate/SWHardeningNeeded, no debug.
   */
  TEE_POLICY_FILE: z.string().optional(),
  /** Accept the simulated TEE (development). Default on locally; production refuses to start with it on. */
  TEE_ALLOW_SIMULATED: bool.optional(),
  /** A PCCS (Intel's collateral cache) for TDX evidence that carries no collateral, e.g. https://pccs.example/sgx/certification/v4/. */
  TEE_PCCS_URL: z.url().optional(),
  /** Largest model (bytes) whose disputes the server's own reference run decides; 0 turns the referee off. */
  REFEREE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(32 * 1024 * 1024),
  MIN_SLASH: z.coerce.bigint().nonnegative().optional(),
  /**
   * Verification mode `zk`: what proving adds to an execution's price, in base units per 1,000
   * constraints of the model's circuit (rounded up), paid to the proving provider.
   */
  ZK_FEE_PER_1K_CONSTRAINTS: z.coerce.bigint().nonnegative().default(1n),
  /**
   * Largest model (bytes) verification mode `zk` accepts: its constants become circuit source (and
   * constraints), and the compiler's front end hashes them on the server once per model and
   * instance (~1.5 s of CPU for 44k parameters ≈ 180 KB, in slices: the longest stall ~50 ms).
   */
  ZK_MAX_MODEL_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(512 * 1024),
  // Storage limits (apps/server/src/storage; docs/CONCEPTS.md "Storage retention and quotas").
  /** Hours a finished task's input and output blobs are kept; then they are deleted (the row and receipt stay). */
  TASK_BLOB_RETENTION_HOURS: z.coerce
    .number()
    .min(0)
    .default(7 * 24),
  /**
   * Seconds between the server's database maintenance checks: where no autovacuum runs (PGlite has
   * none; a PostgreSQL may have it off, for the server or a table) the server ANALYZEs and VACUUMs
   * the tables due, by autovacuum's rule (db/table-maintenance.ts). 0: never. Read from
   * PGLITE_MAINTENANCE_SECONDS when unset (its name while only PGlite had it).
   */
  DB_MAINTENANCE_SECONDS: z.coerce.number().min(0).default(30),
  /** Seconds between storage sweeps (retention purge + blob garbage collection), network-wide. */
  STORAGE_SWEEP_SECONDS: z.coerce.number().positive().default(600),
  /** An unreferenced blob younger than this (seconds) is kept: it may belong to an upload in flight. */
  BLOB_GC_GRACE_SECONDS: z.coerce.number().min(0).default(3600),
  /**
   * Where blobs (models, task inputs and outputs) live: `fs` under DATA_DIR/blobs (one instance), or
   * `postgres`, the `Blob` table of the database, which every instance shares (several instances
   * with no shared filesystem; docs/ARCHITECTURE.md "Several instances").
   */
  BLOB_STORE: z.enum(["fs", "postgres"]).default("fs"),
  /**
   * With BLOB_STORE=fs: blobs up to this many bytes (most task inputs and outputs) are kept in the
   * database's `Blob` table instead, written by the statement that references them, so they are
   * durable with its commit and need no file write and fsync of their own (blobs/split-blob-store.ts).
   * Unset: 65536 on PostgreSQL (measured there: 67–69 → 80–94 tasks/s at 32 clients, sequential
   * p50 28–30 → 23–27 ms) and 0 on PGlite, where, measured again once the group commit batched
   * there (it did not with no blob file to wait for), `none` gained 5–10% but `redundant` and p99
   * did not within the noise (docs/BENCHMARKS.md, twentieth round).
   * 0 keeps every blob on disk.
   */
  BLOB_INLINE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(1024 * 1024)
    .optional(),
  /** Bytes an account may hold: models it uploaded plus its tasks' inputs until purged. */
  ACCOUNT_STORAGE_QUOTA_BYTES: z.coerce
    .bigint()
    .positive()
    .default(2n * 1024n ** 3n),
  /** Kept from the escrow of a user task that expires (its deadline passed), to the treasury; the rest is refunded. */
  EXPIRED_TASK_FEE: z.coerce.bigint().nonnegative().default(0n),
  /** Most submits or results that share one database commit (db/group-commit.ts); 1 turns group commit off. */
  GROUP_COMMIT_MAX: z.coerce.number().int().min(1).max(1024).default(64),
  // Server-side onnxruntime runs (upload check, calibration, canaries, referee): onnx/worker-pool.ts.
  /** Worker processes that run models for the server (default: half the cores, 1 to 4). */
  ONNX_WORKERS: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(Math.max(1, Math.min(4, Math.floor(os.availableParallelism() / 2)))),
  /** Wall-clock limit of one server-side job (an upload's whole check, a canary answer, a referee run); past it: MODEL_TOO_COSTLY. */
  ONNX_JOB_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** JS heap limit of each ONNX worker process, in MiB. */
  ONNX_WORKER_HEAP_MB: z.coerce.number().int().min(16).default(512),
  /** Resident memory of an ONNX worker process (onnxruntime's included) that stops its job (MODEL_TOO_COSTLY), in MiB. */
  ONNX_WORKER_RSS_MB: z.coerce.number().int().positive().default(1024),
  /** Largest total element count of a server-side run's inputs (those generated from declared shapes: else MODEL_TOO_LARGE_INPUT at upload) and of its outputs. */
  ONNX_MAX_ELEMENTS: z.coerce
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  /** Largest total byte size of a server-side run's inputs and of its outputs. */
  ONNX_MAX_TENSOR_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  INSTANCE_ID: z.string().default(`${os.hostname()}-${process.pid}`),
  /** Tests turn off the fsync of blobs to keep the suite fast; production keeps it. */
  STUN_FSYNC: bool.default(true),
  /**
   * The web app's static export (apps/web `next build` → apps/web/out), served on the API's origin.
   * Unset: this checkout's apps/web/out when it has been built; `off`: no web app.
   */
  WEB_DIR: z.string().min(1).optional(),
  /**
   * Sign-In with Ethereum: the web app's public host[:port] values (comma-separated) a SIWE message
   * may name as its domain. Unset: HOST:PORT, plus localhost / 127.0.0.1 / [::1] on that port when
   * HOST is a loopback or unspecified address (services/wallets.ts).
   */
  SIWE_DOMAINS: z.string().min(1).optional(),
  /** API keys: wallet-session lifetime and cap (auth/config.ts). */
  ...keysEnvShape,
  /** Wallet sign-ins of the Solana and TON families: the networks they may name (auth/config.ts). */
  ...walletsEnvShape,
  // Rate limits (http/rate-limits.ts): fixed windows, counted in Redis when REDIS_URL is set (shared by
  // every instance), else in this process. Generous defaults: a person, an SDK script, the web app,
  // the tests and `npm start` stay far below them; a flood meets 429 RATE_LIMITED.
  /** The window of the per-IP and per-key request limits, in ms. */
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
  /** API requests (/api, /trpc; not /health) one client IP may make per window; 0 turns the limit off. */
  RATE_LIMIT_PER_IP: z.coerce.number().int().min(0).default(6000),
  /** API requests one bearer API key may make per window, from any IP; 0 turns the limit off. */
  RATE_LIMIT_PER_KEY: z.coerce.number().int().min(0).default(1200),
  /** Sign-In with Ethereum nonces one IP may take per nonce lifetime (10 minutes); 0 turns the limit off. */
  RATE_LIMIT_SIWE_NONCES: z.coerce.number().int().min(0).default(60),
  /** Provider socket.io connection attempts one IP may make per window; 0 turns the limit off. */
  RATE_LIMIT_PROVIDER_CONNECTS: z.coerce.number().int().min(0).default(300),
  /** Prefix of the rate-limit counters in Redis: instances that share limits share it. */
  RATE_LIMIT_REDIS_PREFIX: z.string().min(1).default("stun:ratelimit:"),
  /**
   * Behind a reverse proxy: whom to believe about the client's IP (fastify trustProxy): `true`
   * (any hop), a hop count, or comma-separated proxy addresses/CIDRs. Unset: the TCP peer.
   */
  TRUST_PROXY: z.string().min(1).optional(),
  /** On-chain deposits and settlement (apps/server/src/chain; docs/CHAIN.md): off unless CHAIN is set. */
  ...chainEnvShape,
  /** Solana SPL deposits (memo = account id) and batched payouts (apps/server/src/chains; docs/CHAIN.md "Solana"): off unless SOLANA_RPC_URL is set. */
  ...solanaEnvShape,
  ...tonEnvShape,
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config extends Env {
  qa: QaPolicy;
  dataDir: string;
  blobDir: string;
  local: boolean;
  /** Absolute path of the web app to serve, or undefined for none (http/web.ts). */
  webDir: string | undefined;
  /** The chain adapter's settings, or undefined when CHAIN is unset (no chain). */
  chain: ChainConfig | undefined;
  /** The Solana rail's settings, or undefined when SOLANA_RPC_URL is unset. */
  solana: SolanaConfig | undefined;
  /** The TON rail (the marketplace contract's deposits through a toncenter API), or undefined when TON_API_URL is unset. */
  ton: TonConfig | undefined;
  /** TRUST_PROXY as fastify's trustProxy function; undefined: the TCP peer is the client. */
  trustProxy: TrustProxy | undefined;
  /** What TEE evidence the server accepts (TEE_POLICY_FILE, TEE_ALLOW_SIMULATED). */
  teePolicy: AttestationPolicy;
}

/** This checkout's web build (apps/server/src → apps/web/out). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL("../../web/out", import.meta.url));

function resolveWebDir(setting: string | undefined): string | undefined {
  if (setting === "off") return undefined;
  if (setting !== undefined) {
    const dir = path.resolve(setting);
    if (!existsSync(path.join(dir, "index.html"))) {
      throw new Error(`Invalid configuration:\n  WEB_DIR: ${dir} has no index.html (build the web app: npm run build -w @stun/web), or set WEB_DIR=off`);
    }
    return dir;
  }
  return existsSync(path.join(DEFAULT_WEB_DIR, "index.html")) ? DEFAULT_WEB_DIR : undefined;
}

export function parseConfig(source: Record<string, string | undefined> = process.env): Config {
  // DB_MAINTENANCE_SECONDS's earlier name still counts where the new one is not set.
  const parsed = EnvSchema.safeParse({ DB_MAINTENANCE_SECONDS: source.PGLITE_MAINTENANCE_SECONDS, ...source });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`Invalid configuration:\n${lines}`);
  }
  const env = parsed.data;
  const dataDir = path.resolve(env.DATA_DIR);
  const d = DEFAULT_QA_POLICY;
  const qa: QaPolicy = {
    trustAfter: env.TRUST_AFTER ?? d.trustAfter,
    auditStart: env.AUDIT_START ?? d.auditStart,
    auditFloor: env.AUDIT_FLOOR ?? d.auditFloor,
    auditHalfLife: env.AUDIT_HALF_LIFE ?? d.auditHalfLife,
    canaryRate: env.CANARY_RATE ?? d.canaryRate,
    recheckLimit: env.RECHECK_LIMIT ?? d.recheckLimit,
    slashMultiple: env.SLASH_MULTIPLE ?? d.slashMultiple,
    minSlash: env.MIN_SLASH ?? d.minSlash,
    checksPerInvalid: env.CHECKS_PER_INVALID ?? d.checksPerInvalid,
    refereeAuditRate: env.REFEREE_AUDIT_RATE ?? d.refereeAuditRate,
    refereeAuditUntrusted: env.REFEREE_AUDIT_UNTRUSTED ?? d.refereeAuditUntrusted,
    siblings: env.QA_SIBLINGS ?? d.siblings,
  };
  const webDir = resolveWebDir(env.WEB_DIR);
  const chain = resolveChainConfig(env, { production: env.STUN_MODE === "production" });
  const solana = resolveSolanaConfig(env);
  const ton = resolveTonConfig(env);
  const issues = [...chain.issues, ...solana.issues, ...ton.issues];
  if (issues.length > 0) throw new Error(`Invalid configuration:\n${issues.map((i) => `  ${i}`).join("\n")}`);
  const teePolicy = loadTeePolicy(env);
  return {
    ...env,
    qa,
    dataDir,
    blobDir: path.join(dataDir, "blobs"),
    local: env.STUN_MODE === "local",
    webDir,
    chain: chain.chain,
    solana: solana.solana,
    ton: ton.ton,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    teePolicy,
  };
}
