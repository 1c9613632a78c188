/**
 * BrowserProviderAgent: the Contribute tab's connection to the marketplace, speaking exactly the
 * native agent's protocol (docs/PROTOCOL.md; apps/provider-native/src/agent.ts is the reference):
 * socket.io on `/provider` with `{ apiKey, protocolVersion: 1 }`, `provider:register` with kind
 * "browser", heartbeats every 5 s, `task:assign` → ack at once (BUSY when the slot is taken,
 * DRAINING when pausing) → model from the cache → run → `task:result` (outputs as binary
 * attachments) or `task:error` with a stable code, retried across reconnects until the lease would
 * lapse; `task:cancel` drops the result; pause drains, then releases what is left.
 *
 * Throttle: a duty cycle. After a task that ran t ms the agent rests t·(1−duty)/duty ms before it
 * runs the next one; an assignment that arrives while it would rest longer than a second is
 * answered BUSY (the server re-queues it elsewhere, no attempt used).
 */
import { type Socket, io } from "socket.io-client";
import {
  AssignSchema,
  CancelSchema,
  PROTOCOL_VERSION,
  PROVIDER_EVENTS,
  PROVIDER_NAMESPACE,
  type Ack,
  type Assign,
  type AssignAck,
  type ExecutionError,
  type Register,
  type RegisterAck,
  type Result,
} from "@stun/shared";
import { ProviderError, errorMessage } from "./errors";
import type { FromWorker } from "./messages";
import type { WebRunner } from "./runner";
import { type ZkProver, zkInputValues } from "./zk-prover";

export interface AgentOptions {
  server: string;
  apiKey: string;
  registration: Register;
  runner: WebRunner;
  /** Proves zk tasks (`Assign.zk`); without one a zk task is answered PROOF_FAILED. */
  prover?: ZkProver;
  duty: number;
  emit: (e: FromWorker) => void;
  heartbeatMs?: number;
  ackTimeoutMs?: number;
  reconnectDelayMs?: number;
  /** Longest rest the agent waits out while holding an assignment; longer rests answer BUSY (default 1 s). */
  maxHeldRestMs?: number;
}

interface ActiveTask {
  assignmentId: string;
  taskId: string;
  leaseMs: number;
  deadline: number;
  cancelled: boolean;
  released: boolean;
  done: Promise<void>;
}

const FATAL_REGISTER_CODES = new Set(["VALIDATION_FAILED", "UNAUTHORIZED", "FORBIDDEN"]);
const MAX_HELD_REST_MS = 1000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class BrowserProviderAgent {
  private socket: Socket | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private readonly tasks = new Map<string, ActiveTask>();
  private registered = false;
  private draining = false;
  private stopped = false;
  private duty: number;
  private restUntil = 0;
  private registeredWaiters: Array<() => void> = [];
  providerId: string | undefined;

  constructor(private readonly o: AgentOptions) {
    this.duty = clampDuty(o.duty);
  }

  get active(): number {
    return this.tasks.size;
  }

  setDuty(duty: number): void {
    this.duty = clampDuty(duty);
  }

  /** Connects and registers (and again after every reconnect). */
  start(): void {
    const o = this.o;
    this.o.emit({ type: "phase", phase: "connecting" });
    const socket = io(`${o.server.replace(/\/+$/, "")}${PROVIDER_NAMESPACE}`, {
      auth: { apiKey: o.apiKey, protocolVersion: PROTOCOL_VERSION },
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: o.reconnectDelayMs ?? 500,
      reconnectionDelayMax: 5000,
    });
    this.socket = socket;
    socket.on("connect", () => void this.register());
    socket.on("connect_error", (err: Error) => {
      if (/^(UNAUTHORIZED|KEY_REVOKED|KEY_EXPIRED|KEY_SCOPE)\b/.test(err.message) || !socket.active) {
        this.fatal("UNAUTHORIZED", `the server refused the connection: ${err.message}`);
        return;
      }
      this.o.emit({ type: "phase", phase: "reconnecting", detail: `cannot reach the server (${err.message}); retrying` });
    });
    socket.on("disconnect", (reason) => {
      this.registered = false;
      if (this.stopped || this.draining) return;
      if (!socket.active) {
        this.fatal("DISCONNECTED", `the server closed the connection for good: ${reason}`);
        return;
      }
      this.o.emit({ type: "phase", phase: "reconnecting", detail: `disconnected (${reason}); reconnecting` });
    });
    socket.on(PROVIDER_EVENTS.assign, (payload: unknown, ack?: (a: AssignAck) => void) => this.onAssign(payload, ack));
    socket.on(PROVIDER_EVENTS.cancel, (payload: unknown) => this.onCancel(payload));
    this.heartbeat = setInterval(() => this.sendHeartbeat(), o.heartbeatMs ?? 5000);
  }

  private fatal(code: string, message: string): void {
    this.o.emit({ type: "fatal", code, message });
    this.shutdownSocket();
  }

  private async register(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    for (let attempt = 1; socket.connected && !this.stopped; attempt++) {
      let ack: RegisterAck;
      try {
        ack = (await socket.timeout(this.o.ackTimeoutMs ?? 10_000).emitWithAck(PROVIDER_EVENTS.register, this.o.registration)) as RegisterAck;
      } catch {
        continue; // no answer: ask again
      }
      if (ack.ok) {
        this.providerId = ack.providerId;
        this.registered = true;
        this.o.emit({ type: "registered", providerId: ack.providerId, name: this.o.registration.name });
        this.o.emit({ type: "phase", phase: "online" });
        this.sendHeartbeat();
        for (const w of this.registeredWaiters.splice(0)) w();
        return;
      }
      if (FATAL_REGISTER_CODES.has(ack.error.code)) {
        this.fatal(ack.error.code, `registration rejected: ${ack.error.message}`);
        return;
      }
      this.o.emit({ type: "warning", message: `registration failed (${ack.error.code}: ${ack.error.message}); retrying` });
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
      reply({ ok: false, error: { code: "VALIDATION_FAILED", message } });
      this.o.emit({ type: "warning", message: `invalid task:assign: ${message}` });
      return;
    }
    const a = parsed.data;
    if (this.tasks.has(a.assignmentId)) {
      reply({ ok: true }); // a repeated assign: already on it
      return;
    }
    if (this.draining || this.stopped) {
      reply({ ok: false, error: { code: "DRAINING", message: "this provider is pausing" } });
      return;
    }
    const slots = this.o.registration.slots;
    const rest = this.restUntil - performance.now();
    if (this.tasks.size >= slots || rest > (this.o.maxHeldRestMs ?? MAX_HELD_REST_MS)) {
      reply({ ok: false, error: { code: "BUSY", message: this.tasks.size >= slots ? `all ${slots} slot(s) are busy` : "resting (throttle)" } });
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
    this.o.emit({ type: "task", stage: "assigned", assignmentId: a.assignmentId, taskId: a.taskId });
    task.done = this.execute(task, a).finally(() => this.tasks.delete(task.assignmentId));
  }

  private async execute(task: ActiveTask, a: Assign): Promise<void> {
    const rest = this.restUntil - performance.now();
    if (rest > 0) await sleep(rest);
    let event: string;
    let payload: Result | ExecutionError;
    let runMs: number | undefined;
    let proveMs: number | undefined;
    let timings: Result["timings"] | undefined;
    const t0 = performance.now();
    try {
      const outcome = await this.o.runner.run({ model: a.model, inputs: a.inputs });
      timings = outcome.timings;
      runMs = outcome.timings.runMs;
      let zk: Result["zk"];
      if (a.zk && !task.cancelled && !task.released) {
        // A zk task: the same input through the model's circuit, proven (docs/PROTOCOL.md § zk).
        const input = zkInputValues(a.zk, a.inputs);
        if (!this.o.prover) throw new ProviderError("PROOF_FAILED", "this provider cannot prove zk tasks");
        this.o.emit({ type: "task", stage: "proving", assignmentId: a.assignmentId, taskId: a.taskId, runMs });
        const p = await this.o.prover.prove(a.zk, input);
        proveMs = p.proveMs;
        zk = { proof: p.proof, publicSignals: p.publicSignals, proveMs: p.proveMs };
      }
      event = PROVIDER_EVENTS.result;
      payload = { assignmentId: a.assignmentId, outputs: outcome.outputs, timings: outcome.timings, ...(zk ? { zk } : {}) };
    } catch (e) {
      const code = e instanceof ProviderError ? e.code : "RUN_FAILED";
      event = PROVIDER_EVENTS.error;
      payload = { assignmentId: a.assignmentId, code, message: errorMessage(e).slice(0, 2000) };
    }
    // The duty cycle's rest is proportional to the compute time (session creation included).
    const busyMs = performance.now() - t0;
    const duty = this.duty;
    this.restUntil = duty >= 1 ? 0 : performance.now() + (busyMs * (1 - duty)) / duty;
    if (task.cancelled || task.released) {
      this.o.emit({ type: "task", stage: task.cancelled ? "cancelled" : "released", assignmentId: a.assignmentId, taskId: a.taskId });
      return;
    }
    const delivered = await this.deliver(task, event, payload);
    if (!delivered.ok) {
      this.o.emit({ type: "task", stage: "undelivered", assignmentId: a.assignmentId, taskId: a.taskId, code: delivered.code, message: delivered.message });
    } else if (event === PROVIDER_EVENTS.result) {
      this.o.emit({ type: "task", stage: "done", assignmentId: a.assignmentId, taskId: a.taskId, ...(timings ?? {}), ...(runMs !== undefined ? { runMs } : {}), ...(proveMs !== undefined ? { proveMs } : {}) });
    } else {
      const err = payload as ExecutionError;
      this.o.emit({ type: "task", stage: "failed", assignmentId: a.assignmentId, taskId: a.taskId, code: err.code, message: err.message });
    }
  }

  /** Sends a result/error with an ack, retrying across reconnects until the lease would lapse. */
  private async deliver(task: ActiveTask, event: string, payload: unknown): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
    const ackTimeout = this.o.ackTimeoutMs ?? 10_000;
    for (;;) {
      if (task.cancelled || task.released) return { ok: false, code: "CANCELLED", message: "the assignment was cancelled or given back" };
      const left = task.deadline - Date.now();
      if (left <= 0) return { ok: false, code: "LEASE_LAPSED", message: "the lease lapsed before the answer reached the server" };
      const socket = this.socket;
      if (!socket || !this.registered || !socket.connected) {
        await this.waitForRegistration(Math.min(left, 1000));
        continue;
      }
      try {
        const ack = (await socket.timeout(Math.min(ackTimeout, Math.max(left, 1))).emitWithAck(event, payload)) as Ack;
        if (ack.ok) return { ok: true };
        return { ok: false, code: ack.error.code, message: ack.error.message };
      } catch {
        // no ack: retry while the lease lasts
      }
    }
  }

  private waitForRegistration(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        resolve();
      }
      this.registeredWaiters.push(finish);
    });
  }

  private onCancel(payload: unknown): void {
    const parsed = CancelSchema.safeParse(payload);
    if (!parsed.success) return;
    const task = this.tasks.get(parsed.data.assignmentId);
    if (task) task.cancelled = true;
  }

  /**
   * Pause: `provider:drain` (no new work), let running tasks finish for up to `graceMs`, then
   * `task:release` what is left and disconnect.
   */
  async pause(graceMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.draining = true;
    this.o.emit({ type: "phase", phase: "pausing", ...(this.tasks.size ? { detail: `finishing ${this.tasks.size} task(s)` } : {}) });
    const socket = this.socket;
    if (socket?.connected && this.registered) {
      await socket.timeout(5000).emitWithAck(PROVIDER_EVENTS.drain, {}).catch(() => undefined);
    }
    if (this.tasks.size > 0) {
      const all = Promise.all([...this.tasks.values()].map((t) => t.done));
      const finished = await Promise.race([all.then(() => true), sleep(graceMs).then(() => false)]);
      if (!finished) {
        for (const t of [...this.tasks.values()]) {
          t.released = true;
          if (socket?.connected && this.registered) {
            await socket.timeout(2000).emitWithAck(PROVIDER_EVENTS.release, { assignmentId: t.assignmentId }).catch(() => undefined);
          }
        }
      }
    }
    this.stopped = true;
    this.shutdownSocket();
    this.o.emit({ type: "phase", phase: "paused" });
  }

  /** The page is closing: give everything back without waiting for acks, then disconnect. */
  unload(): void {
    if (this.stopped) return;
    this.stopped = true;
    const socket = this.socket;
    if (socket?.connected && this.registered) {
      for (const t of this.tasks.values()) {
        t.released = true;
        socket.emit(PROVIDER_EVENTS.release, { assignmentId: t.assignmentId });
      }
    }
    this.shutdownSocket();
  }

  private shutdownSocket(): void {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.registered = false;
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
  }
}

function clampDuty(d: number): number {
  return Number.isFinite(d) ? Math.min(1, Math.max(0.1, d)) : 1;
}
