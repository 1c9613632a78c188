/**
 * BrowserProviderAgent: the Contribute tab's provider, speaking exactly the native agent's protocol
 * because both run @stun/provider-core's ProviderSession (docs/PROTOCOL.md: register as kind
 * "browser", heartbeats, assignment checks, delivery across reconnects until the lease would lapse,
 * cancel, drain). This file is the browser's executor for it — model through the runner
 * (onnxruntime-web), zk proof through the prover — and turns what the session reports into the
 * worker's {@link FromWorker} messages.
 *
 * Throttle: a duty cycle. After a task that ran t ms the agent rests t·(1−duty)/duty ms before it
 * runs the next one; an assignment that arrives while it would rest longer than a second is
 * answered BUSY (the server re-queues it elsewhere, no attempt used).
 */
import { ProviderError, ProviderSession, openProviderSocket, type SessionEvent } from "@stun/provider-core";
import type { Assign, ExecutionError, Register, Result } from "@stun/shared";
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

const MAX_HELD_REST_MS = 1000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class BrowserProviderAgent {
  private readonly session: ProviderSession;
  private duty: number;
  private restUntil = 0;
  private paused = false;

  constructor(private readonly o: AgentOptions) {
    this.duty = clampDuty(o.duty);
    this.session = new ProviderSession({
      socket: openProviderSocket(o.server, o.apiKey, o.reconnectDelayMs !== undefined ? { reconnectDelayMs: o.reconnectDelayMs } : {}),
      registration: o.registration,
      executor: {
        execute: (a, signal) => this.execute(a, signal),
        busyReason: () => (this.restUntil - performance.now() > (o.maxHeldRestMs ?? MAX_HELD_REST_MS) ? "resting (throttle)" : undefined),
      },
      onEvent: (e) => this.onSessionEvent(e),
      ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
      ...(o.ackTimeoutMs !== undefined ? { ackTimeoutMs: o.ackTimeoutMs } : {}),
    });
  }

  get active(): number {
    return this.session.active;
  }

  get providerId(): string | undefined {
    return this.session.providerId;
  }

  setDuty(duty: number): void {
    this.duty = clampDuty(duty);
  }

  /** Connects and registers (and again after every reconnect). */
  start(): void {
    this.session.start().catch(() => undefined); // a fatal start is reported as a "fatal" message
  }

  private async execute(a: Assign, signal: AbortSignal): Promise<Omit<Result, "assignmentId">> {
    const rest = this.restUntil - performance.now();
    if (rest > 0) await sleep(rest);
    const t0 = performance.now();
    try {
      const outcome = await this.o.runner.run({ model: a.model, inputs: a.inputs, signal });
      let zk: Result["zk"];
      if (a.zk && !signal.aborted) {
        // A zk task: the same input through the model's circuit, proven (docs/PROTOCOL.md § zk).
        const input = zkInputValues(a.zk, a.inputs);
        if (!this.o.prover) throw new ProviderError("PROOF_FAILED", "this provider cannot prove zk tasks");
        this.o.emit({ type: "task", stage: "proving", assignmentId: a.assignmentId, taskId: a.taskId, runMs: outcome.timings.runMs });
        const p = await this.o.prover.prove(a.zk, input);
        zk = { proof: p.proof, publicSignals: p.publicSignals, proveMs: p.proveMs };
      }
      return { outputs: outcome.outputs, timings: outcome.timings, ...(zk ? { zk } : {}) };
    } finally {
      // The duty cycle's rest is proportional to the compute time (session creation included).
      const busyMs = performance.now() - t0;
      const duty = this.duty;
      this.restUntil = duty >= 1 ? 0 : performance.now() + (busyMs * (1 - duty)) / duty;
    }
  }

  private onSessionEvent(e: SessionEvent): void {
    const emit = this.o.emit;
    switch (e.type) {
      case "connecting":
        return emit({ type: "phase", phase: "connecting" });
      case "unreachable":
        return emit({ type: "phase", phase: "reconnecting", detail: `cannot reach the server (${e.message}); retrying` });
      case "disconnected":
        return emit({ type: "phase", phase: "reconnecting", detail: `disconnected (${e.reason}); reconnecting` });
      case "registered":
        emit({ type: "registered", providerId: e.providerId, name: this.o.registration.name });
        return emit({ type: "phase", phase: "online" });
      case "register-retry":
        if (e.code) emit({ type: "warning", message: `registration failed (${e.code}: ${e.message}); retrying` });
        return;
      case "fatal":
        return emit({ type: "fatal", code: e.code, message: e.message });
      case "invalid-assign":
        return emit({ type: "warning", message: `invalid task:assign: ${e.message}` });
      case "assigned":
        return emit({ type: "task", stage: "assigned", assignmentId: e.assign.assignmentId, taskId: e.assign.taskId });
      case "draining":
        return emit({ type: "phase", phase: "pausing", ...(e.active ? { detail: `finishing ${e.active} task(s)` } : {}) });
      case "finished":
        return this.onFinished(e);
    }
  }

  private onFinished(e: Extract<SessionEvent, { type: "finished" }>): void {
    const ids = { assignmentId: e.assign.assignmentId, taskId: e.assign.taskId };
    const emit = this.o.emit;
    switch (e.outcome) {
      case "delivered":
        if (e.event === "task:result") {
          const r: Result = e.payload;
          return emit({ type: "task", stage: "done", ...ids, ...r.timings, ...(r.zk ? { proveMs: r.zk.proveMs } : {}) });
        }
        return emit({ type: "task", stage: "failed", ...ids, code: (e.payload as ExecutionError).code, message: (e.payload as ExecutionError).message });
      case "cancelled":
      case "released":
        return emit({ type: "task", stage: e.outcome, ...ids });
      case "rejected":
        return emit({ type: "task", stage: "undelivered", ...ids, code: e.code, message: e.message });
      case "lapsed":
        return emit({ type: "task", stage: "undelivered", ...ids, code: "LEASE_LAPSED", message: "the lease lapsed before the answer reached the server" });
      case "lost":
        return emit({ type: "task", stage: "undelivered", ...ids, code: "CONNECTION_LOST", message: `given up when the connection dropped: ${e.message}` });
    }
  }

  /**
   * Pause: `provider:drain` (no new work), let running tasks finish for up to `graceMs`, then
   * `task:release` what is left and disconnect.
   */
  async pause(graceMs = 10_000): Promise<void> {
    if (this.paused) return;
    this.paused = true;
    await this.session.stop(graceMs);
    this.o.emit({ type: "phase", phase: "paused" });
  }

  /** The page is closing: give everything back without waiting for acks, then disconnect. */
  unload(): void {
    this.paused = true;
    this.session.unload();
  }
}

function clampDuty(d: number): number {
  return Number.isFinite(d) ? Math.min(1, Math.max(0.1, d)) : 1;
}
