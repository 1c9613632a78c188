/**
 * ProviderAgent: the native provider. It detects hardware, picks the onnxruntime-node backend,
 * benchmarks, opens the model cache, and then hands the marketplace conversation to
 * @stun/provider-core's ProviderSession (register, heartbeats, assignment checks, delivery across
 * reconnects, cancel, drain), acting as its executor: run the model (runner.ts), prove zk tasks
 * (zk-prover.ts). What the session reports becomes JSON log lines and `events`. `stop()` drains:
 * no new work, running tasks finish (or are released after a grace period), then it disconnects.
 *
 * Usable in-process (`new ProviderAgent(opts).start()`) and as a child process (bin/stun-provider.mjs).
 */
import { EventEmitter } from "node:events";
import os from "node:os";
import path from "node:path";
import ort from "onnxruntime-node";
import { ProviderError, ProviderSession, openProviderSockets, serverList, type FollowPolicy, type SessionEvent } from "@stun/provider-core";
import { RegisterSchema, stopSnarkjsWorkers, type Assign, type Result } from "@stun/shared";
import { type BackendChoice, type CudaProbe, type SelectedBackend, selectBackend } from "./backend";
import { type BenchmarkResult, runBenchmark } from "./benchmark";
import { ZkProver } from "./zk-prover";
import { type Fault, createFault, forgeProof } from "./faults";
import { type Hardware, detectHardware } from "./hardware";
import { TeeIdentity, type TeeMode } from "./tee/tee-identity";
import { type Logger, createJsonLogger } from "./logger";
import { ModelCache } from "./model-cache";
import { TaskTally } from "./task-tally";
import { Runner } from "./runner";
import { ensureStake } from "./stake";
import { AGENT_VERSION } from "./version";

export interface ProviderAgentOptions {
  /**
   * Server base URL, e.g. http://127.0.0.1:3000; or several instances of one network,
   * comma-separated: the session fails over between them, downloads and proofs go to the one in use.
   */
  server: string;
  apiKey: string;
  /** Provider name; the server keys providers by (account, name), so run several agents under different names. */
  name?: string;
  backend?: BackendChoice;
  /** Flat price per task in integer base units (a string, e.g. "100"). */
  price?: string;
  /** Price per unit of the model's work (docs/PRICING.md): a task costs price + pricePerUnit × units. */
  pricePerUnit?: string;
  /** Reprice per unit to the server's price index, within a floor (provider-core price-follow.ts). */
  followIndex?: FollowPolicy;
  /**
   * Stake wanted on the account, integer base units (a string): at start, before connecting, the
   * agent stakes the difference from the account's balance when its stake is lower (stake.ts).
   */
  stake?: string;
  region?: string;
  slots?: number;
  /** Most tasks of one model stacked into one inference (batching.ts); default: slots; 1 turns it off. */
  maxBatch?: number;
  cacheDir?: string;
  cacheMb?: number;
  /** onnxruntime intra-op threads per session (default: onnxruntime's choice). */
  threads?: number;
  /**
   * Confidential inference (docs/TEE.md): register as a TEE provider with evidence from this guest
   * (tdx, sev-snp, auto: whichever is here) or the simulated TEE (development only; production
   * servers refuse it). Sealed tasks are opened and answered inside this process only.
   */
  tee?: TeeMode;
  /** How often fresh evidence is sent (default hourly). */
  teeRefreshMs?: number;
  /** TEST-ONLY: make this a faulty provider (see faults.ts). */
  fault?: Fault;
  heartbeatMs?: number;
  /** stop(): how long running tasks may take before they are released back to the server. */
  drainTimeoutMs?: number;
  ackTimeoutMs?: number;
  /** Benchmark duration at start; 0 skips it. */
  benchmarkMs?: number;
  logger?: Logger;
  /** Overrides hardware detection (tests). */
  hardware?: Hardware;
  /** Overrides the CUDA probe (tests). */
  probeCuda?: CudaProbe;
  /** Initial reconnection delay (socket.io backs off up to 5 s). */
  reconnectDelayMs?: number;
  /**
   * How often the `info` log sums up the tasks since the last summary (`{"msg":"tasks",…}`; default
   * a minute; 0: never). Each task's own lines are `debug`: a line per task costs a busy provider
   * more than its inference (docs/BENCHMARKS.md, twenty-second round).
   */
  summaryEveryMs?: number;
}

export interface AgentInfo {
  backend: SelectedBackend;
  hardware: Hardware;
  benchmark?: BenchmarkResult;
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "stun", "models");
}

export class ProviderAgent {
  readonly events = new EventEmitter();
  readonly log: Logger;
  private readonly opts: ProviderAgentOptions;
  private session: ProviderSession | undefined;
  private runner: Runner | undefined;
  private cache: ModelCache | undefined;
  private prover: ZkProver | undefined;
  private stopping: Promise<void> | undefined;
  private startPromise: Promise<string> | undefined;
  private _info: AgentInfo | undefined;
  private tee: TeeIdentity | undefined;
  private readonly tally = new TaskTally();
  private summaryTimer: NodeJS.Timeout | undefined;

  constructor(opts: ProviderAgentOptions) {
    this.opts = opts;
    this.log = opts.logger ?? createJsonLogger();
    this.events.on("error", () => undefined); // errors are logged; an emitter without listeners must not throw
  }

  get providerId(): string | undefined {
    return this.session?.providerId;
  }
  get info(): AgentInfo | undefined {
    return this._info;
  }
  /** Assignments taken and not yet answered. */
  get active(): number {
    return this.session?.active ?? 0;
  }
  get isRegistered(): boolean {
    return this.session?.isRegistered ?? false;
  }

  /**
   * Detects hardware, picks the backend, benchmarks, opens the model cache, connects and registers.
   * Resolves with the provider id at the first registration; rejects on what retrying cannot fix
   * (CUDA unavailable, API key refused, registration rejected).
   */
  start(): Promise<string> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<string> {
    const o = this.opts;
    const hardware = o.hardware ?? (await detectHardware());
    const backend = await selectBackend(o.backend ?? "cpu", o.probeCuda ? { probeCuda: o.probeCuda } : {});
    const sessionOptions = o.threads ? { intraOpNumThreads: o.threads } : {};
    const benchmark = o.benchmarkMs === 0 ? undefined : await runBenchmark({ executionProviders: backend.executionProviders, sessionOptions, durationMs: o.benchmarkMs ?? 300 });
    this._info = { backend, hardware, ...(benchmark ? { benchmark } : {}) };

    // Before anything connects: no TEE here is a clear start-up failure (TEE_UNAVAILABLE), not a plain provider.
    if (o.tee) this.tee = await TeeIdentity.create(o.tee);
    const name = o.name ?? os.hostname().slice(0, 100);
    const registration = RegisterSchema.parse({
      name,
      kind: "native",
      backend: backend.backend,
      region: o.region ?? "local",
      price: o.price ?? "1",
      ...(o.pricePerUnit !== undefined ? { pricePerUnit: o.pricePerUnit } : {}),
      slots: o.slots ?? 1,
      specs: {
        ...(hardware.cpuModel ? { cpuModel: hardware.cpuModel } : {}),
        cores: hardware.cores,
        memoryMb: hardware.memoryMb,
        gpus: hardware.gpus,
        ...(benchmark ? { benchmarkIps: benchmark.ips } : {}),
        userAgent: `stun-provider/${AGENT_VERSION} node/${process.versions.node} onnxruntime-node/${ort.env.versions.common ?? "?"} ${process.platform}-${process.arch}`,
      },
      version: AGENT_VERSION,
    });
    const cacheDir = o.cacheDir ?? defaultCacheDir();
    this.log.info("starting", {
      name,
      version: AGENT_VERSION,
      backend: backend.backend,
      executionProviders: backend.executionProviders,
      ...(backend.fallbackReason ? { backendNote: backend.fallbackReason } : {}),
      hardware,
      cwd: process.cwd(), // the CLI's private empty directory (./work-dir.ts)
      benchmark: benchmark ? { ips: benchmark.ips, msPerInference: Number(benchmark.msPerInference.toFixed(4)), model: "mlp-784-512-256-10" } : null,
      server: o.server,
      slots: registration.slots,
      ...(o.threads ? { threads: o.threads } : {}),
      price: registration.price,
      ...(registration.pricePerUnit !== undefined ? { pricePerUnit: registration.pricePerUnit } : {}),
      ...(o.followIndex ? { followIndex: { floor: o.followIndex.floor.toString(), everyMs: o.followIndex.everyMs } } : {}),
      ...(o.stake !== undefined ? { stake: o.stake } : {}),
      region: registration.region,
      cacheDir,
      ...(o.fault ? { fault: o.fault } : {}),
      ...(this.tee ? { tee: this.tee.kind } : {}),
    });
    if (this.tee?.kind === "simulated") this.log.warn("simulated TEE: for development only; it proves nothing and production servers refuse it");
    if (o.fault) this.log.warn("TEST-ONLY fault injection is on: this provider returns wrong results on purpose", { fault: o.fault });

    this.cache = await ModelCache.open({
      server: () => this.server(),
      apiKey: o.apiKey,
      dir: cacheDir,
      maxBytes: Math.floor((o.cacheMb ?? 2048) * 1024 * 1024),
      executionProviders: backend.executionProviders,
      sessionOptions,
      logger: this.log,
    });
    this.runner = new Runner(this.cache, { maxBatch: o.maxBatch ?? o.slots ?? 1, ...(o.fault ? { fault: createFault(o.fault) } : {}) });
    if (o.stake !== undefined && BigInt(o.stake) > 0n) {
      await ensureStake({ server: this.server(), apiKey: o.apiKey, target: BigInt(o.stake), logger: this.log });
    }
    if (this.stopping) throw new Error("provider agent stopped before it connected");
    const runner = this.runner;
    this.session = new ProviderSession({
      socket: openProviderSockets(o.server, o.apiKey, { reconnectDelayMs: o.reconnectDelayMs ?? 500 }),
      registration,
      executor: { execute: (a, signal) => this.execute(runner, a, signal) },
      onEvent: (e) => this.onSessionEvent(e, registration.name),
      heartbeatMs: o.heartbeatMs ?? 5000,
      ackTimeoutMs: o.ackTimeoutMs ?? 10_000,
      ...(this.tee ? { attest: (nonce: string) => this.tee!.evidence(nonce), attestEveryMs: o.teeRefreshMs ?? 3600_000 } : {}),
      ...(o.followIndex ? { followIndex: o.followIndex } : {}),
    });
    const every = o.summaryEveryMs ?? 60_000;
    if (every > 0) this.summaryTimer = setInterval(() => this.summarise(), every).unref();
    return this.session.start();
  }

  /** The `info` line summing up the tasks since the last one; none when there were none. */
  private summarise(): void {
    const summary = this.tally.take();
    if (summary) this.log.info("tasks", summary);
  }

  /** Made on the first zk task: snarkjs' worker threads start only when there is something to prove. */
  private zkProver(): ZkProver {
    return (this.prover ??= new ZkProver({ server: () => this.server(), apiKey: this.opts.apiKey }));
  }

  /** The server in use: with several, the one the session is connected to (it assigned the work). */
  private server(): string {
    const servers = serverList(this.opts.server);
    return servers[this.session?.serverIndex ?? 0] ?? this.opts.server;
  }

  /** The session's executor: the model, then (for a zk task) the proof that output = model(input). */
  private async execute(runner: Runner, a: Assign, signal: AbortSignal): Promise<Omit<Result, "assignmentId">> {
    if (a.sealed) return this.executeSealed(runner, a, signal);
    const outcome = await runner.run({ model: a.model, inputs: a.inputs, signal });
    let zk = a.zk ? await this.zkProver().prove(a.zk, a.inputs) : undefined;
    if (zk && this.opts.fault === "forge-proof") zk = forgeProof(zk);
    return { outputs: outcome.outputs, timings: outcome.timings, ...(zk ? { zk } : {}) };
  }

  /** A sealed task: opened with the TEE key, run, and its outputs sealed to the requester; nothing of either is logged. */
  private async executeSealed(runner: Runner, a: Assign, signal: AbortSignal): Promise<Omit<Result, "assignmentId">> {
    if (!this.tee) throw new ProviderError("SEALED_INVALID", "this agent runs no TEE (start it with --tee)");
    const opened = await this.tee.open(a);
    const outcome = await runner.run({ model: a.model, inputs: opened.inputs, signal });
    return { outputs: {}, timings: outcome.timings, sealed: await opened.seal(outcome.outputs) };
  }

  /** The session's story as log lines (the operator's view) and `events` (tests and embedders). */
  private onSessionEvent(e: SessionEvent, name: string): void {
    const o = this.opts;
    switch (e.type) {
      case "connected":
        return this.log.info("connected", { server: this.server() });
      case "unreachable":
        return this.log.warn("cannot reach the server; retrying", { server: this.server(), err: e.message });
      case "failover":
        return this.log.warn("moving to the next server", { server: this.server(), reason: e.reason });
      case "disconnected":
        return this.log.warn("disconnected", { reason: e.reason });
      case "register-retry":
        if (e.code) return this.log.warn("registration failed; retrying", { attempt: e.attempt, code: e.code, message: e.message });
        return this.log.warn("no answer to provider:register; retrying", { attempt: e.attempt });
      case "registered":
        this.log.info("registered", { providerId: e.providerId, name, backend: this.info?.backend.backend, slots: o.slots ?? 1 });
        this.events.emit("registered", e.providerId);
        return;
      case "fatal": {
        const err = new Error(e.message);
        this.log.error("fatal", { err });
        this.events.emit("fatal", err);
        return;
      }
      case "invalid-assign":
        return this.log.warn("invalid task:assign", { message: e.message });
      case "repriced":
        return this.log.info("repriced to the price index", { pricePerUnit: e.pricePerUnit, indexSamples: e.indexSamples });
      case "reprice-failed":
        return this.log.warn("could not follow the price index", { message: e.message });
      case "assigned":
        return this.log.debug("task assigned", { assignmentId: e.assign.assignmentId, taskId: e.assign.taskId, model: e.assign.model.sha256, active: e.active });
      case "cancel":
        return this.log.info("task cancel received", { assignmentId: e.assignmentId, reason: e.reason });
      case "executed": {
        const ids = { assignmentId: e.assign.assignmentId, taskId: e.assign.taskId };
        this.tally.executed(e.result !== undefined);
        if (e.result) return this.log.debug("task done", { ...ids, timings: roundTimings(e.result.timings), ...(e.result.zk ? { proveMs: e.result.zk.proveMs } : {}) });
        return this.log.warn("task failed", { ...ids, code: e.error?.code, message: e.error?.message });
      }
      case "delivery-retry":
        return this.log.warn("no ack for the answer; will retry", { assignmentId: e.assignmentId, event: e.event });
      case "finished": {
        const assignmentId = e.assign.assignmentId;
        this.tally.finished(e.outcome);
        if (e.outcome === "cancelled" || e.outcome === "released") this.log.info(`task ${e.outcome}; result dropped`, { assignmentId });
        else if (e.outcome === "lapsed") this.log.warn("lease lapsed before the answer reached the server; dropped", { assignmentId, event: e.event });
        else if (e.outcome === "rejected") this.log.warn("server rejected the answer", { assignmentId, event: e.event, code: e.code, message: e.message });
        else if (e.outcome === "lost") this.log.warn("task given up: the connection dropped or the lease ended", { assignmentId, code: e.code, message: e.message });
        this.events.emit("task", { assignmentId, outcome: e.outcome, ...("event" in e && e.event ? { event: e.event } : {}) });
        return;
      }
      case "slot-free":
        this.events.emit("idle-slot", e.assignmentId);
        return;
      case "draining":
        return this.log.info("draining", { active: e.active, graceMs: e.graceMs });
      case "drain-unacked":
        return this.log.warn("no ack for provider:drain");
      case "released":
        return this.log.info("task released", { assignmentId: e.assignmentId });
    }
  }

  /**
   * Graceful shutdown: tells the server to send no more work (provider:drain), lets running tasks
   * finish and deliver for up to `graceMs` (default drainTimeoutMs, 30 s), releases what is still
   * running (task:release), then disconnects and closes sessions.
   */
  stop(opts: { graceMs?: number } = {}): Promise<void> {
    this.stopping ??= this.doStop(opts.graceMs ?? this.opts.drainTimeoutMs ?? 30_000);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    // Stopped before the session existed: start() sees `stopping` and rejects; stopped while
    // connecting: the session rejects start()'s promise.
    await this.session?.stop(graceMs);
    clearInterval(this.summaryTimer);
    this.summarise();
    await this.cache?.close();
    if (this.prover) await stopSnarkjsWorkers();
    this.log.info("stopped");
    this.events.emit("stopped");
  }
}

function roundTimings(t: { fetchMs: number; loadMs: number; runMs: number }) {
  return { fetchMs: Number(t.fetchMs.toFixed(3)), loadMs: Number(t.loadMs.toFixed(3)), runMs: Number(t.runMs.toFixed(3)) };
}
