/**
 * ProviderAgent: the native provider's connection to the marketplace. It connects to
 * `<server>/provider` (socket.io), registers, takes `task:assign`s up to its slot count, runs them,
 * and answers with `task:result` / `task:error` (retried across reconnects until the lease would
 * lapse). Heartbeats every 5 s extend leases. `stop()` drains: no new work, running tasks finish
 * (or are released after a grace period), then it disconnects.
 *
 * Usable in-process (`new ProviderAgent(opts).start()`) and as a child process (bin/stun-provider.mjs).
 */
import { EventEmitter } from "node:events";
import os from "node:os";
import path from "node:path";
import ort from "onnxruntime-node";
import { type Socket, io } from "socket.io-client";
import {
  AssignSchema,
  CancelSchema,
  PROTOCOL_VERSION,
  PROVIDER_EVENTS,
  PROVIDER_NAMESPACE,
  RegisterSchema,
  stopSnarkjsWorkers,
  type Ack,
  type Assign,
  type AssignAck,
  type ExecutionError,
  type Register,
  type RegisterAck,
  type Result,
} from "@stun/shared";
import { type BackendChoice, type CudaProbe, type SelectedBackend, selectBackend } from "./backend";
import { type BenchmarkResult, runBenchmark } from "./benchmark";
import { ZkProver } from "./zk-prover";
import { ProviderError, errorMessage } from "./errors";
import { type Fault, createFault, forgeProof } from "./faults";
import { type Hardware, detectHardware } from "./hardware";
import { type Logger, createJsonLogger } from "./logger";
import { ModelCache } from "./model-cache";
import { Runner } from "./runner";
import { ensureStake } from "./stake";
import { AGENT_VERSION } from "./version";

export interface ProviderAgentOptions {
  /** Server base URL, e.g. http://127.0.0.1:3000 */
  server: string;
  apiKey: string;
  /** Provider name; the server keys providers by (account, name), so run several agents under different names. */
  name?: string;
  backend?: BackendChoice;
  /** Price per task in integer base units (a string, e.g. "100"). */
  price?: string;
  /**
   * Stake wanted on the account, integer base units (a string): at start, before connecting, the
   * agent stakes the difference from the account's balance when its stake is lower (stake.ts).
   */
  stake?: string;
  region?: string;
  slots?: number;
  cacheDir?: string;
  cacheMb?: number;
  /** onnxruntime intra-op threads per session (default: onnxruntime's choice). */
  threads?: number;
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
}

export interface AgentInfo {
  backend: SelectedBackend;
  hardware: Hardware;
  benchmark?: BenchmarkResult;
}

interface ActiveTask {
  assignmentId: string;
  taskId: string;
  leaseMs: number;
  /** When the server's lease would lapse (heartbeats push it forward). */
  deadline: number;
  cancelled: boolean;
  released: boolean;
  done: Promise<void>;
}

/** Codes in a register ack that retrying will not fix. */
const FATAL_REGISTER_CODES = new Set(["VALIDATION_FAILED", "UNAUTHORIZED", "FORBIDDEN"]);

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "stun", "models");
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class ProviderAgent {
  readonly events = new EventEmitter();
  readonly log: Logger;
  private readonly opts: ProviderAgentOptions;
  private socket: Socket | undefined;
  private runner: Runner | undefined;
  private cache: ModelCache | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly tasks = new Map<string, ActiveTask>();
  private registration: Register | undefined;
  private registered = false;
  private draining = false;
  private stopping: Promise<void> | undefined;
  private startPromise: Promise<string> | undefined;
  private _providerId: string | undefined;
  private _info: AgentInfo | undefined;

  constructor(opts: ProviderAgentOptions) {
    this.opts = opts;
    this.log = opts.logger ?? createJsonLogger();
    this.events.on("error", () => undefined); // errors are logged; an emitter without listeners must not throw
  }

  get providerId(): string | undefined {
    return this._providerId;
  }
  get info(): AgentInfo | undefined {
    return this._info;
  }
  /** Assignments taken and not yet answered. */
  get active(): number {
    return this.tasks.size;
  }
  get isRegistered(): boolean {
    return this.registered;
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
    const benchmark =
      o.benchmarkMs === 0 ? undefined : await runBenchmark({ executionProviders: backend.executionProviders, sessionOptions, durationMs: o.benchmarkMs ?? 300 });
    this._info = { backend, hardware, ...(benchmark ? { benchmark } : {}) };

    const name = o.name ?? os.hostname().slice(0, 100);
    this.registration = RegisterSchema.parse({
      name,
      kind: "native",
      backend: backend.backend,
      region: o.region ?? "local",
      price: o.price ?? "1",
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
      slots: this.registration.slots,
      ...(o.threads ? { threads: o.threads } : {}),
      price: this.registration.price,
      ...(o.stake !== undefined ? { stake: o.stake } : {}),
      region: this.registration.region,
      cacheDir,
      ...(o.fault ? { fault: o.fault } : {}),
    });
    if (o.fault) this.log.warn("TEST-ONLY fault injection is on: this provider returns wrong results on purpose", { fault: o.fault });

    this.cache = await ModelCache.open({
      server: o.server,
      apiKey: o.apiKey,
      dir: cacheDir,
      maxBytes: Math.floor((o.cacheMb ?? 2048) * 1024 * 1024),
      executionProviders: backend.executionProviders,
      sessionOptions,
      logger: this.log,
    });
    this.runner = new Runner(this.cache, o.fault ? { fault: createFault(o.fault) } : {});
    if (o.stake !== undefined && BigInt(o.stake) > 0n) {
      await ensureStake({ server: o.server, apiKey: o.apiKey, target: BigInt(o.stake), logger: this.log });
    }
    if (this.stopping) throw new Error("provider agent stopped before it connected");
    return this.connect();
  }

  private connect(): Promise<string> {
    const o = this.opts;
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        this.log.error("fatal", { err: e });
        this.events.emit("fatal", e);
        if (!settled) {
          settled = true;
          reject(e);
        }
        void this.shutdownSocket();
      };
      this.events.once("registered", (id: string) => {
        if (!settled) {
          settled = true;
          resolve(id);
        }
      });
      this.events.once("stopped", () => {
        if (!settled) {
          settled = true;
          reject(new Error("provider agent stopped before it registered"));
        }
      });

      const socket = io(`${o.server.replace(/\/+$/, "")}${PROVIDER_NAMESPACE}`, {
        auth: { apiKey: o.apiKey, protocolVersion: PROTOCOL_VERSION },
        transports: ["websocket"],
        reconnection: true,
        reconnectionDelay: o.reconnectDelayMs ?? 500,
        reconnectionDelayMax: 5000,
      });
      this.socket = socket;

      socket.on("connect", () => {
        this.log.info("connected", { server: o.server });
        void this.register(fail);
      });
      socket.on("connect_error", (err: Error) => {
        if (/^(UNAUTHORIZED|KEY_REVOKED|KEY_EXPIRED|KEY_SCOPE)\b/.test(err.message) || !socket.active) {
          fail(new Error(`the server refused the connection: ${err.message}`));
          return;
        }
        this.log.warn("cannot reach the server; retrying", { server: o.server, err });
      });
      socket.on("disconnect", (reason) => {
        this.registered = false;
        if (this.stopping) return;
        this.log.warn("disconnected", { reason });
        if (!socket.active) fail(new Error(`the server closed the connection for good: ${reason}`));
      });
      socket.on(PROVIDER_EVENTS.assign, (payload: unknown, ack?: (a: AssignAck) => void) => this.onAssign(payload, ack));
      socket.on(PROVIDER_EVENTS.cancel, (payload: unknown) => this.onCancel(payload));

      this.heartbeat = setInterval(() => this.sendHeartbeat(), o.heartbeatMs ?? 5000);
      this.heartbeat.unref();
    });
  }

  private async register(fail: (e: Error) => void): Promise<void> {
    const socket = this.socket;
    if (!socket || !this.registration) return;
    for (let attempt = 1; socket.connected && !this.stopping; attempt++) {
      let ack: RegisterAck;
      try {
        ack = (await socket.timeout(this.opts.ackTimeoutMs ?? 10_000).emitWithAck(PROVIDER_EVENTS.register, this.registration)) as RegisterAck;
      } catch {
        this.log.warn("no answer to provider:register; retrying", { attempt });
        continue;
      }
      if (ack.ok) {
        this._providerId = ack.providerId;
        this.registered = true;
        this.log.info("registered", { providerId: ack.providerId, name: this.registration.name, backend: this.registration.backend, slots: this.registration.slots });
        this.events.emit("registered", ack.providerId);
        this.sendHeartbeat();
        return;
      }
      if (FATAL_REGISTER_CODES.has(ack.error.code)) {
        fail(new Error(`registration rejected: ${ack.error.code}: ${ack.error.message}`));
        return;
      }
      this.log.warn("registration failed; retrying", { attempt, code: ack.error.code, message: ack.error.message });
      await sleep(Math.min(5000, 250 * 2 ** attempt));
    }
  }

  private sendHeartbeat(): void {
    if (!this.registered || !this.socket?.connected) return;
    this.socket.emit(PROVIDER_EVENTS.heartbeat, { active: this.tasks.size });
    const now = Date.now();
    for (const t of this.tasks.values()) t.deadline = now + t.leaseMs;
  }

  private onAssign(payload: unknown, ack?: (a: AssignAck) => void): void {
    const reply = typeof ack === "function" ? ack : () => undefined;
    const parsed = AssignSchema.safeParse(payload);
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      this.log.warn("invalid task:assign", { message });
      reply({ ok: false, error: { code: "VALIDATION_FAILED", message } });
      return;
    }
    const a = parsed.data;
    if (this.tasks.has(a.assignmentId)) {
      reply({ ok: true }); // a repeated assign (e.g. the server re-sent after a lost ack): already on it
      return;
    }
    if (this.draining || this.stopping) {
      reply({ ok: false, error: { code: "DRAINING", message: "this provider is shutting down" } });
      return;
    }
    const slots = this.registration?.slots ?? 1;
    if (this.tasks.size >= slots || !this.runner) {
      reply({ ok: false, error: { code: "BUSY", message: `all ${slots} slot(s) are busy` } });
      return;
    }
    const task: ActiveTask = {
      assignmentId: a.assignmentId,
      taskId: a.taskId,
      leaseMs: a.leaseMs,
      deadline: Date.now() + a.leaseMs,
      cancelled: false,
      released: false,
      done: Promise.resolve(),
    };
    this.tasks.set(a.assignmentId, task);
    reply({ ok: true });
    this.log.info("task assigned", { assignmentId: a.assignmentId, taskId: a.taskId, model: a.model.sha256, active: this.tasks.size });
    task.done = this.execute(task, a).finally(() => {
      this.tasks.delete(task.assignmentId);
      this.events.emit("idle-slot", task.assignmentId);
    });
  }

  private prover: ZkProver | undefined;
  /** Made on the first zk task: snarkjs' worker threads start only when there is something to prove. */
  private zkProver(): ZkProver {
    return (this.prover ??= new ZkProver({ server: this.opts.server, apiKey: this.opts.apiKey }));
  }

  private async execute(task: ActiveTask, a: Assign): Promise<void> {
    const runner = this.runner!;
    let message: { event: string; payload: Result | ExecutionError };
    try {
      const outcome = await runner.run({ model: a.model, inputs: a.inputs });
      // A zk task also needs the proof that output = model(input) (zk-prover.ts).
      let zk = a.zk ? await this.zkProver().prove(a.zk, a.inputs) : undefined;
      if (zk && this.opts.fault === "forge-proof") zk = forgeProof(zk);
      message = { event: PROVIDER_EVENTS.result, payload: { assignmentId: a.assignmentId, outputs: outcome.outputs, timings: outcome.timings, ...(zk ? { zk } : {}) } };
      this.log.info("task done", { assignmentId: a.assignmentId, taskId: a.taskId, timings: roundTimings(outcome.timings), ...(zk ? { proveMs: zk.proveMs } : {}) });
    } catch (e) {
      const code = e instanceof ProviderError ? e.code : "RUN_FAILED";
      message = { event: PROVIDER_EVENTS.error, payload: { assignmentId: a.assignmentId, code, message: errorMessage(e).slice(0, 2000) } };
      this.log.warn("task failed", { assignmentId: a.assignmentId, taskId: a.taskId, code, message: errorMessage(e) });
    }
    if (task.cancelled || task.released) {
      this.log.info(task.cancelled ? "task cancelled; result dropped" : "task released; result dropped", { assignmentId: a.assignmentId });
      this.events.emit("task", { assignmentId: a.assignmentId, outcome: task.cancelled ? "cancelled" : "released" });
      return;
    }
    const outcome = await this.deliver(task, message.event, message.payload);
    this.events.emit("task", { assignmentId: a.assignmentId, outcome, event: message.event });
  }

  /** Sends a result/error with an ack, retrying across reconnects until the lease would lapse. */
  private async deliver(task: ActiveTask, event: string, payload: unknown): Promise<"delivered" | "rejected" | "lapsed" | "cancelled"> {
    const ackTimeout = this.opts.ackTimeoutMs ?? 10_000;
    for (;;) {
      if (task.cancelled || task.released) return "cancelled";
      const left = task.deadline - Date.now();
      if (left <= 0) {
        this.log.warn("lease lapsed before the answer reached the server; dropped", { assignmentId: task.assignmentId, event });
        return "lapsed";
      }
      const socket = this.socket;
      if (!socket || !this.registered || !socket.connected) {
        await this.waitForRegistration(Math.min(left, 1000));
        continue;
      }
      try {
        const ack = (await socket.timeout(Math.min(ackTimeout, Math.max(left, 1))).emitWithAck(event, payload)) as Ack;
        if (ack.ok) return "delivered";
        this.log.warn("server rejected the answer", { assignmentId: task.assignmentId, event, code: ack.error.code, message: ack.error.message });
        return "rejected";
      } catch {
        this.log.warn("no ack for the answer; will retry", { assignmentId: task.assignmentId, event });
      }
    }
  }

  private waitForRegistration(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off("registered", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.events.on("registered", done);
    });
  }

  private onCancel(payload: unknown): void {
    const parsed = CancelSchema.safeParse(payload);
    if (!parsed.success) return;
    const task = this.tasks.get(parsed.data.assignmentId);
    if (!task) return;
    task.cancelled = true;
    this.log.info("task cancel received", { assignmentId: task.assignmentId, reason: parsed.data.reason });
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
    this.draining = true;
    const socket = this.socket;
    this.log.info("draining", { active: this.tasks.size, graceMs });
    if (socket?.connected && this.registered) {
      try {
        await socket.timeout(5000).emitWithAck(PROVIDER_EVENTS.drain, {});
      } catch {
        this.log.warn("no ack for provider:drain");
      }
    }
    if (this.tasks.size > 0) {
      const all = Promise.all([...this.tasks.values()].map((t) => t.done));
      const finished = await Promise.race([all.then(() => true), sleep(graceMs).then(() => false)]);
      if (!finished) {
        for (const t of [...this.tasks.values()]) {
          t.released = true;
          if (socket?.connected && this.registered) {
            try {
              await socket.timeout(2000).emitWithAck(PROVIDER_EVENTS.release, { assignmentId: t.assignmentId });
            } catch {
              /* the server will time the lease out */
            }
          }
          this.log.info("task released", { assignmentId: t.assignmentId });
        }
      }
    }
    await this.shutdownSocket();
    await this.cache?.close();
    if (this.prover) await stopSnarkjsWorkers();
    this.log.info("stopped");
    this.events.emit("stopped");
  }

  private async shutdownSocket(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.registered = false;
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
  }
}

function roundTimings(t: { fetchMs: number; loadMs: number; runMs: number }) {
  return { fetchMs: Number(t.fetchMs.toFixed(3)), loadMs: Number(t.loadMs.toFixed(3)), runMs: Number(t.runMs.toFixed(3)) };
}
