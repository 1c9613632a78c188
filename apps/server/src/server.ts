import path from "node:path";
import { ensureQaAccount } from "./qa/qa-account";
import { Server as IOServer } from "socket.io";
import type { Config } from "./env";
import type { AppContext } from "./context";
import { openBlobStore } from "./blobs/open";
import { createDatabase, type Database } from "./db/database";
import { GroupCommit } from "./db/group-commit";
import { EventBus } from "./events";
import { buildHttpApp } from "./http/app";
import { startGrpcServer } from "./grpc/server";
import { createLogger, type Logger } from "./logger";
import { createMetrics } from "./metrics";
import { connectRedis, openRedis } from "./redis";
import { MemorySiweNonces, RedisSiweNonces, type SiweNonceStore } from "./auth/siwe-nonces";
import { InstancePresence, recoverInstance } from "./scheduler/instance-presence";
import { expireTasks, lapseLeases, recoverOnStartup } from "./tasks/lifecycle";
import { Dispatcher } from "./scheduler/dispatcher";
import { ProviderRegistry } from "./scheduler/provider-registry";
import { attachProviderNamespace } from "./socket/provider-namespace";
import { attachRequesterNamespace } from "./socket/requester-namespace";
import { ChainAdapter } from "./chain/adapter";
import { SolanaRail } from "./chains/solana/service";
import { TonRail } from "./chains/ton/service";
import { ZkModels } from "./zk/zk-models";
import { OnnxWorkerPool } from "./onnx/worker-pool";
import { StorageSweeper } from "./storage/storage-sweeper";
import { scheduleMaintenance } from "./db/table-maintenance";
import { RateLimits } from "./limits/rate-limits";

export interface RunningServer {
  url: string;
  port: number;
  /** The gRPC gateway's port, when GRPC_PORT is set. */
  grpcPort: number | undefined;
  app: AppContext;
  /** The chain adapter itself (app.chain is its ChainPort), when CHAIN is set. */
  chain: ChainAdapter | undefined;
  /** The Solana rail (SPL deposits with a memo, batched payouts), when SOLANA_RPC_URL is set. */
  solana: SolanaRail | undefined;
  /** The TON rail (deposits to the marketplace contract), when TON_API_URL is set. */
  ton: TonRail | undefined;
  close(): Promise<void>;
}

const SWEEP_MS = 1000;

/** The composition root: database, blob store, HTTP (REST, tRPC, GraphQL) + socket.io, gRPC, dispatcher, sweepers. */
export async function startServer(config: Config, opts: { logger?: Logger; db?: Database } = {}): Promise<RunningServer> {
  const log = opts.logger ?? createLogger(config.LOG_LEVEL, { instance: config.INSTANCE_ID });
  const db =
    opts.db ??
    (await createDatabase({
      ...(config.DATABASE_URL ? { url: config.DATABASE_URL } : { dataDir: path.join(config.dataDir, "db") }),
      preparedStatements: config.PG_PREPARED_STATEMENTS,
      directSql: config.PG_DIRECT_SQL,
      pipeline: config.PG_PIPELINE,
    }));
  const blobs = await openBlobStore(config, db);
  // Several instances: one command connection for the state they share (SIWE nonces, presence).
  const redisClient = config.REDIS_URL ? await openRedis(config.REDIS_URL) : undefined;
  const siweNonces: SiweNonceStore = redisClient ? new RedisSiweNonces(redisClient, config.REDIS_PREFIX) : new MemorySiweNonces();
  await ensureQaAccount(db.prisma);
  const app = {
    config,
    db,
    commits: new GroupCommit(db, config.GROUP_COMMIT_MAX),
    blobs,
    log,
    metrics: createMetrics(),
    bus: new EventBus(),
    providers: new ProviderRegistry(),
    limits: await RateLimits.open(config, log),
    siweNonces,
    payoutRails: {},
    onnx: new OnnxWorkerPool(
      {
        size: config.ONNX_WORKERS,
        heapMb: config.ONNX_WORKER_HEAP_MB,
        timeoutMs: config.ONNX_JOB_TIMEOUT_MS,
        maxRssMb: config.ONNX_WORKER_RSS_MB,
        budget: { maxElements: config.ONNX_MAX_ELEMENTS, maxBytes: config.ONNX_MAX_TENSOR_BYTES },
      },
      log,
    ),
  } as AppContext;
  app.zk = new ZkModels(app);

  // On-chain deposits and settlement (CHAIN set): checked before serving, so /web-config.json and
  // GET /api/v1/chain describe it; a bad chain setting stops the start with what is wrong.
  const chain = config.chain ? await ChainAdapter.start(app, config.chain) : undefined;
  if (chain) app.chain = chain;
  const solana = config.solana ? await SolanaRail.start(db, config.solana, log) : undefined;
  const ton = config.ton ? TonRail.start(db, config.ton, log) : undefined;
  if (solana) app.solanaDeposit = { depositAccount: solana.depositAccount, tokenProgram: solana.mint.tokenProgram, decimals: solana.mint.decimals };
  if (solana?.payouts && config.solana) app.payoutRails.solana = { network: config.solana.network, request: (a, to, amount) => solana.payouts!.request(a, to, amount) };
  if (ton?.payouts && config.ton) app.payoutRails.ton = { network: config.ton.network, request: (a, to, amount) => ton.payouts!.request(a, to, amount) };
  const http = await buildHttpApp(app);
  const io = new IOServer(http.server, {
    maxHttpBufferSize: config.BODY_LIMIT,
    // A killed provider is noticed at once (its TCP connection closes); pings catch silent network
    // loss. Generous enough that a provider busy on both cores is not dropped by mistake.
    pingInterval: 10_000,
    pingTimeout: 20_000,
    cors: { origin: true },
  });
  const redis = redisClient ? await connectRedis(redisClient, config.REDIS_PREFIX, io, app.bus, log) : undefined;
  const presence = redisClient ? new InstancePresence(app, redisClient, config.REDIS_PREFIX) : undefined;
  if (presence) {
    app.presence = presence;
    // Rows an earlier run under this INSTANCE_ID left online: nobody holds a socket to us yet.
    const left = await recoverInstance(app, config.INSTANCE_ID);
    if (left.providers) log.info(left, "recovered the providers an earlier run of this instance left online");
    await presence.start();
  }
  const providerNamespace = attachProviderNamespace(app, io);
  const requesterNamespace = attachRequesterNamespace(app, io);

  // Single instance: nobody else can hold our old assignments, so re-queue them now. With Redis
  // (several instances) leases decide instead.
  if (!redis) {
    const requeued = await recoverOnStartup(app);
    if (requeued) log.info({ requeued }, "re-queued assignments left running by the last run");
  }

  const dispatcher = new Dispatcher(app);
  app.placer = dispatcher;
  dispatcher.start(config.DISPATCH_INTERVAL_MS);
  // Retention purge + blob garbage collection, once per STORAGE_SWEEP_SECONDS network-wide.
  const storageSweeper = new StorageSweeper(app);
  storageSweeper.start();
  let sweeping = false;
  const sweeper = setInterval(async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      await lapseLeases(app);
      await expireTasks(app);
    } catch (e) {
      log.error({ err: e }, "sweep failed");
    } finally {
      sweeping = false;
    }
  }, SWEEP_MS);

  // Autovacuum where the database has none (PGlite; PostgreSQL's tables with it off).
  const maintenance =
    db.maintain && config.DB_MAINTENANCE_SECONDS > 0 ? scheduleMaintenance(db.maintain, config.DB_MAINTENANCE_SECONDS * 1000, (e) => log.warn({ err: e }, "database maintenance failed")) : undefined;

  await http.listen({ port: config.PORT, host: config.HOST });
  const grpc = config.GRPC_PORT === undefined ? undefined : await startGrpcServer(app, config.HOST, config.GRPC_PORT);
  const address = http.server.address();
  const port = typeof address === "object" && address ? address.port : config.PORT;
  const url = `http://${config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST}:${port}`;
  log.info({ url, grpcPort: grpc?.port, database: db.kind, dataDir: config.dataDir }, "stun server listening");

  let closed = false;
  return {
    url,
    port,
    grpcPort: grpc?.port,
    app,
    chain,
    solana,
    ton,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      await maintenance?.stop();
      await storageSweeper.stop();
      await app.chain?.stop();
      await solana?.stop();
      await ton?.stop();
      await dispatcher.stop();
      io.disconnectSockets(true);
      requesterNamespace.close();
      requesterNamespace.nsp.disconnectSockets(true);
      await providerNamespace.settle();
      // Fastify closes the HTTP server and forces keep-alive connections shut; io.close() alone
      // would wait for idle clients' keep-alive timeouts.
      void io.close();
      await Promise.all([http.close().catch(() => undefined), grpc?.close()]);
      while (sweeping) await new Promise((r) => setTimeout(r, 5));
      await app.onnx.close();
      await presence?.stop();
      await redis?.close();
      await redisClient?.quit().catch(() => undefined);
      await app.limits.close();
      if (!opts.db) await db.close();
    },
  };
}
