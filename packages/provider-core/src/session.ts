/**
 * ProviderSession: one agent's conversation with the marketplace (docs/PROTOCOL.md), the same for
 * the native agent and the browser agent, which differ only in how they run a task (the
 * {@link TaskExecutor} they pass in) and in how they report what happens (the {@link SessionEvent}s
 * they listen to).
 *
 * The states a session goes through:
 * - connecting → registering (on every connect; retried with backoff up to 5 s while the answer is
 *   a retryable error or never comes) → online. A refused key or a registration the server rejects
 *   as invalid is fatal: retrying cannot fix it.
 * - online: heartbeats every `heartbeatMs` extend every running assignment's lease; `task:assign`
 *   is validated and acked at once (VALIDATION_FAILED, ok for a repeat, DRAINING, BUSY when the
 *   slots are full or the executor says so), then run; the answer (`task:result` / `task:error`)
 *   is sent with an ack, retried across reconnects until the lease would lapse.
 * - `task:cancel`: the answer is dropped. A disconnect or the end of the lease aborts the task's
 *   signal (a model download in flight stops: the server has given the assignment up), but an
 *   execution that still finishes is delivered after the reconnect, for the server to judge.
 * - Several servers (instances of one network): one socket per server; when the connection drops,
 *   or cannot be made, the session moves on to the next server (round robin, backing off up to 5 s
 *   once every server has failed) instead of waiting for the same one to come back.
 * - stop(graceMs): `provider:drain`, running tasks finish and deliver for up to graceMs, what is
 *   left is released (`task:release`), then the socket closes.
 */
import {
  AssignSchema,
  CancelSchema,
  PROVIDER_EVENTS,
  type Ack,
  type Assign,
  type AssignAck,
  type ChallengeAck,
  type ExecutionError,
  type PriceAck,
  type PriceUpdate,
  type Register,
  type RegisterAck,
  type Result,
  type TeeEvidence,
} from "@stun/shared";
import { ProviderError, errorMessage } from "./errors";
import { followedPrice, type FollowPolicy } from "./price-follow";
import type { ProviderSocket } from "./socket";

/** What an agent does with an assignment once the session has accepted it. */
export interface TaskExecutor {
  /**
   * Runs the assignment. `signal` aborts when the server no longer waits for the answer (cancel,
   * release, disconnect, lease end): a download should stop. Failures are best thrown as
   * ProviderErrors (their code goes into `task:error`); anything else is RUN_FAILED.
   */
  execute(assign: Assign, signal: AbortSignal): Promise<Omit<Result, "assignmentId">>;
  /** A reason to answer BUSY although a slot is free (the browser's throttle), or undefined. */
  busyReason?(): string | undefined;
}

/** How an accepted assignment ended. */
export type TaskOutcome =
  | { outcome: "delivered"; event: "task:result"; payload: Result }
  | { outcome: "delivered"; event: "task:error"; payload: ExecutionError }
  /** The server answered the delivery with an error (e.g. the assignment was no longer its). */
  | { outcome: "rejected"; event: string; code: string; message: string }
  /** The lease ran out before the answer reached the server. */
  | { outcome: "lapsed"; event?: string }
  /** The server cancelled it (`task:cancel`); the answer was dropped. */
  | { outcome: "cancelled" }
  /** The agent gave it back (stop/unload); the answer was dropped. */
  | { outcome: "released" }
  /** The execution was aborted because the connection dropped: the server has given it up already. */
  | { outcome: "lost"; code: string; message: string };

export type SessionEvent =
  | { type: "connecting" }
  | { type: "connected" }
  /** Cannot reach the server; socket.io keeps trying. */
  | { type: "unreachable"; message: string }
  | { type: "disconnected"; reason: string }
  /** Several servers: moving on to the server at `index` of the session's sockets. */
  | { type: "failover"; index: number; reason: string }
  | { type: "registered"; providerId: string }
  /** Fresh TEE evidence was accepted (provider:attest), or refused with the server's reason. */
  | { type: "attested" }
  | { type: "attest-refused"; code: string; message: string }
  /** Following the index: the per-unit quote changed (provider:price), or asking failed. */
  | { type: "repriced"; pricePerUnit: string; indexSamples: number }
  | { type: "reprice-failed"; message: string }
  | { type: "register-retry"; attempt: number; code?: string; message: string }
  /** Retrying cannot fix this (refused key, rejected registration, closed for good): the session stopped. */
  | { type: "fatal"; code: string; message: string }
  | { type: "invalid-assign"; message: string }
  | { type: "assigned"; assign: Assign; active: number }
  | { type: "cancel"; assignmentId: string; reason: string }
  /** The execution finished (before delivery): ok with the result, or the error it will report. */
  | { type: "executed"; assign: Assign; result?: Result; error?: ExecutionError }
  | { type: "delivery-retry"; assignmentId: string; event: string }
  | ({ type: "finished"; assign: Assign } & TaskOutcome)
  /** A slot is free again (after "finished"). */
  | { type: "slot-free"; assignmentId: string }
  | { type: "draining"; active: number; graceMs: number }
  | { type: "drain-unacked" }
  | { type: "released"; assignmentId: string }
  | { type: "stopped" };

export interface ProviderSessionOptions {
  /**
   * The socket, not yet connected (socket.ts: openProviderSocket); the session connects it. Or one
   * socket per server of a network of several instances: the session uses one at a time and fails
   * over to the next.
   */
  socket: ProviderSocket | readonly ProviderSocket[];
  registration: Register;
  executor: TaskExecutor;
  onEvent?: (e: SessionEvent) => void;
  heartbeatMs?: number;
  ackTimeoutMs?: number;
  /**
   * A TEE agent (docs/TEE.md): evidence binding its sealing key to a server nonce. The session asks
   * `provider:challenge` before every registration and registers with the evidence; every
   * `attestEveryMs` it sends fresh evidence (`provider:attest`).
   */
  attest?: (nonce: string) => Promise<TeeEvidence>;
  attestEveryMs?: number;
  /** Follow the price index (price-follow.ts): reprice per unit within the floor, on a timer. */
  followIndex?: FollowPolicy;
}

interface ActiveTask {
  assign: Assign;
  /** When the server's lease would lapse (heartbeats push it forward). */
  deadline: number;
  cancelled: boolean;
  released: boolean;
  /** Aborted when the server stops waiting for the answer (see TaskExecutor.execute). */
  abort: AbortController;
  leaseTimer?: ReturnType<typeof setTimeout>;
  done: Promise<void>;
  /** Still running (a slot is taken); false once it is only being delivered. */
  executing: boolean;
}

/** Codes in a register ack that retrying will not fix. */
const FATAL_REGISTER_CODES = new Set(["VALIDATION_FAILED", "UNAUTHORIZED", "FORBIDDEN"]);
/** connect_error messages from the server's handshake check that retrying will not fix. */
const FATAL_CONNECT = /^(UNAUTHORIZED|KEY_REVOKED|KEY_EXPIRED|KEY_SCOPE)\b/;

/** Timers that do not keep a Node process alive (browsers have no unref). */
function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
const sleep = (ms: number) => new Promise<void>((r) => unref(setTimeout(r, ms)));

export class ProviderSession {
  private readonly tasks = new Map<string, ActiveTask>();
  private readonly sockets: readonly ProviderSocket[];
  private current = 0;
  /** Failed connections in a row across the servers (failover backoff). */
  private failures = 0;
  private failoverTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private attestTimer: ReturnType<typeof setInterval> | undefined;
  private followTimer: ReturnType<typeof setInterval> | undefined;
  private registered = false;
  private draining = false;
  private stopped = false;
  private registeredWaiters: Array<() => void> = [];
  private started: Promise<string> | undefined;
  private stopping: Promise<void> | undefined;
  private _providerId: string | undefined;

  constructor(private readonly o: ProviderSessionOptions) {
    this.sockets = Array.isArray(o.socket) ? (o.socket as readonly ProviderSocket[]) : [o.socket as ProviderSocket];
    if (this.sockets.length === 0) throw new Error("ProviderSession needs at least one socket");
  }

  /** The socket in use. */
  private get socket(): ProviderSocket {
    return this.sockets[this.current]!;
  }

  get providerId(): string | undefined {
    return this._providerId;
  }
  /** Which of the session's sockets (servers) is in use. */
  get serverIndex(): number {
    return this.current;
  }
  /** Assignments taken and not yet answered. */
  get active(): number {
    return this.tasks.size;
  }

  /** Assignments still running (each takes one of the registered slots). */
  private executingCount(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.executing) n++;
    return n;
  }
  get isRegistered(): boolean {
    return this.registered;
  }

  private emit(e: SessionEvent): void {
    this.o.onEvent?.(e);
  }

  /**
   * Connects and registers (and again after every reconnect). Resolves with the provider id at the
   * first registration; rejects on what retrying cannot fix, or when stopped before registering.
   */
  start(): Promise<string> {
    this.started ??= new Promise<string>((resolve, reject) => {
      let settled = false;
      this.onFirst = (id, err) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve(id!);
      };
      this.emit({ type: "connecting" });
      for (const socket of this.sockets) this.listen(socket);
      this.heartbeat = unref(setInterval(() => this.sendHeartbeat(), this.o.heartbeatMs ?? 5000));
      if (this.o.attest && this.o.attestEveryMs) this.attestTimer = unref(setInterval(() => void this.reattest(), this.o.attestEveryMs));
      if (this.o.followIndex) this.followTimer = unref(setInterval(() => void this.followIndex(), this.o.followIndex.everyMs));
      this.socket.connect();
    });
    return this.started;
  }

  /** The session's handlers on one of its sockets; events of a socket not in use are ignored. */
  private listen(socket: ProviderSocket): void {
    const several = this.sockets.length > 1;
    socket.on("connect", () => {
      if (socket !== this.socket) return;
      this.failures = 0;
      this.emit({ type: "connected" });
      void this.register();
    });
    socket.on("connect_error", (err: Error) => {
      if (socket !== this.socket) return;
      if (FATAL_CONNECT.test(err.message) || !socket.active) {
        this.fatal("UNAUTHORIZED", `the server refused the connection: ${err.message}`);
        return;
      }
      this.emit({ type: "unreachable", message: err.message });
      if (several) this.failover(err.message);
    });
    socket.on("disconnect", (reason: string) => {
      if (socket !== this.socket) return;
      this.registered = false;
      // The server forgets a disconnected provider's assignments: downloads for them are wasted.
      for (const t of this.tasks.values()) t.abort.abort(new ProviderError("MODEL_FETCH_FAILED", `the connection dropped (${reason})`));
      if (this.stopped || this.draining) return;
      // One server that closed the connection itself: retrying cannot help. With several, the next
      // one is asked (a revoked key is refused there at connect, which is fatal).
      if (!socket.active && !several) {
        this.fatal("DISCONNECTED", `the server closed the connection for good: ${reason}`);
        return;
      }
      this.emit({ type: "disconnected", reason });
      if (several) this.failover(reason);
    });
    socket.on(PROVIDER_EVENTS.assign, (payload: unknown, ack?: (a: AssignAck) => void) => {
      if (socket === this.socket) this.onAssign(payload, ack);
      else if (typeof ack === "function") ack({ ok: false, error: { code: "BUSY", message: "not this provider's current connection" } });
    });
    socket.on(PROVIDER_EVENTS.cancel, (payload: unknown) => this.onCancel(payload));
  }

  /**
   * Moves to the next server: the current socket stops (and stops reconnecting), the next one
   * connects — at once after a dropped connection, with a backoff once every server has failed.
   */
  private failover(reason: string): void {
    if (this.stopped || this.failoverTimer) return;
    const old = this.socket;
    this.current = (this.current + 1) % this.sockets.length;
    old.disconnect();
    const round = Math.floor(this.failures++ / this.sockets.length);
    const delay = round === 0 ? 0 : Math.min(5000, 250 * 2 ** (round - 1));
    this.emit({ type: "failover", index: this.current, reason });
    // Not unref'd: like socket.io's own reconnection timer, it is what keeps an agent alive
    // between two connections.
    this.failoverTimer = setTimeout(() => {
      this.failoverTimer = undefined;
      if (!this.stopped) this.socket.connect();
    }, delay);
  }

  /** Settles start()'s promise once. */
  private onFirst: (providerId: string | undefined, err?: Error) => void = () => undefined;

  private fatal(code: string, message: string): void {
    this.emit({ type: "fatal", code, message });
    this.onFirst(undefined, new Error(message));
    this.shutdownSocket();
  }

  private async register(): Promise<void> {
    const socket = this.socket;
    for (let attempt = 1; socket.connected && !this.stopped; attempt++) {
      let ack: RegisterAck;
      try {
        const tee = this.o.attest ? await this.evidence(socket) : undefined;
        ack = (await socket.timeout(this.o.ackTimeoutMs ?? 10_000).emitWithAck(PROVIDER_EVENTS.register, tee ? { ...this.o.registration, tee } : this.o.registration)) as RegisterAck;
      } catch (e) {
        if (e instanceof ProviderError && e.code === "TEE_UNAVAILABLE") {
          this.fatal(e.code, e.message);
          return;
        }
        this.emit({ type: "register-retry", attempt, message: `no answer to provider:register (${errorMessage(e)})` });
        continue;
      }
      if (ack.ok) {
        this._providerId = ack.providerId;
        this.registered = true;
        this.emit({ type: "registered", providerId: ack.providerId });
        this.onFirst(ack.providerId);
        this.sendHeartbeat();
        for (const w of this.registeredWaiters.splice(0)) w();
        return;
      }
      if (FATAL_REGISTER_CODES.has(ack.error.code)) {
        this.fatal(ack.error.code, `registration rejected: ${ack.error.code}: ${ack.error.message}`);
        return;
      }
      this.emit({ type: "register-retry", attempt, code: ack.error.code, message: ack.error.message });
      await sleep(Math.min(5000, 250 * 2 ** attempt));
    }
  }

  /** Fresh TEE evidence for a nonce the server issues now (provider:challenge). */
  private async evidence(socket: ProviderSocket): Promise<TeeEvidence> {
    const ack = (await socket.timeout(this.o.ackTimeoutMs ?? 10_000).emitWithAck(PROVIDER_EVENTS.challenge, {})) as ChallengeAck;
    if (!ack.ok) throw new Error(`provider:challenge refused: ${ack.error.code}: ${ack.error.message}`);
    return this.o.attest!(ack.nonce);
  }

  /** provider:attest on the schedule: evidence that expires or is refused is logged as an event, and the provider keeps working as a plain one. */
  private async reattest(): Promise<void> {
    const socket = this.socket;
    if (!this.o.attest || !this.registered || !socket.connected) return;
    try {
      const tee = await this.evidence(socket);
      const ack = (await socket.timeout(this.o.ackTimeoutMs ?? 10_000).emitWithAck(PROVIDER_EVENTS.attest, { tee })) as Ack;
      this.emit(ack.ok ? { type: "attested" } : { type: "attest-refused", code: ack.error.code, message: ack.error.message });
    } catch (e) {
      this.emit({ type: "attest-refused", code: "NO_ANSWER", message: errorMessage(e) });
    }
  }

  /**
   * Following the index: reads it (provider:price with no change), then sends the new per-unit
   * quote when it differs; the registration carries it from then on (reconnects keep it).
   */
  async followIndex(): Promise<void> {
    const policy = this.o.followIndex;
    const socket = this.socket;
    if (!policy || !this.registered || !socket.connected) return;
    const ask = (update: PriceUpdate) => socket.timeout(this.o.ackTimeoutMs ?? 10_000).emitWithAck(PROVIDER_EVENTS.price, update) as Promise<PriceAck>;
    try {
      const seen = await ask({});
      if (!seen.ok) throw new Error(`${seen.error.code}: ${seen.error.message}`);
      const current = BigInt(seen.pricePerUnit);
      const next = followedPrice(current, seen.index ? BigInt(seen.index.perUnit) : undefined, policy.floor);
      if (next === current) return;
      const set = await ask({ pricePerUnit: next.toString() });
      if (!set.ok) throw new Error(`${set.error.code}: ${set.error.message}`);
      this.o.registration = { ...this.o.registration, pricePerUnit: set.pricePerUnit };
      this.emit({ type: "repriced", pricePerUnit: set.pricePerUnit, indexSamples: seen.index?.samples ?? 0 });
    } catch (e) {
      this.emit({ type: "reprice-failed", message: errorMessage(e) });
    }
  }

  private sendHeartbeat(): void {
    if (!this.registered || !this.socket.connected) return;
    this.socket.emit(PROVIDER_EVENTS.heartbeat, { active: this.tasks.size });
    const now = Date.now();
    for (const t of this.tasks.values()) this.extendLease(t, now);
  }

  /** The lease runs `leaseMs` from now; when it ends unextended, the task's signal aborts. */
  private extendLease(t: ActiveTask, now: number): void {
    t.deadline = now + t.assign.leaseMs;
    if (t.leaseTimer) clearTimeout(t.leaseTimer);
    t.leaseTimer = unref(setTimeout(() => t.abort.abort(new ProviderError("MODEL_FETCH_FAILED", "the assignment's lease ended")), t.assign.leaseMs));
  }

  private onAssign(payload: unknown, ack?: (a: AssignAck) => void): void {
    const reply = typeof ack === "function" ? ack : () => undefined;
    const parsed = AssignSchema.safeParse(payload);
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      reply({ ok: false, error: { code: "VALIDATION_FAILED", message } });
      this.emit({ type: "invalid-assign", message });
      return;
    }
    const a = parsed.data;
    if (this.tasks.has(a.assignmentId)) {
      reply({ ok: true }); // a repeated assign (the server re-sent after a lost ack): already on it
      return;
    }
    if (this.draining || this.stopped) {
      reply({ ok: false, error: { code: "DRAINING", message: "this provider is shutting down" } });
      return;
    }
    // A slot is taken while a task runs, not while its answer is delivered: the server frees the
    // slot when the result arrives, before it commits it, so the next assignment overlaps that commit.
    const slots = this.o.registration.slots;
    const busy = this.executingCount() >= slots ? `all ${slots} slot(s) are busy` : this.o.executor.busyReason?.();
    if (busy) {
      reply({ ok: false, error: { code: "BUSY", message: busy } });
      return;
    }
    const task: ActiveTask = { assign: a, deadline: 0, cancelled: false, released: false, abort: new AbortController(), done: Promise.resolve(), executing: true };
    this.extendLease(task, Date.now());
    this.tasks.set(a.assignmentId, task);
    reply({ ok: true });
    this.emit({ type: "assigned", assign: a, active: this.tasks.size });
    task.done = this.run(task).finally(() => {
      if (task.leaseTimer) clearTimeout(task.leaseTimer);
      this.tasks.delete(a.assignmentId);
      this.emit({ type: "slot-free", assignmentId: a.assignmentId });
    });
  }

  private async run(task: ActiveTask): Promise<void> {
    const a = task.assign;
    const finish = (o: TaskOutcome) => this.emit({ type: "finished", assign: a, ...o });
    let answer: { event: "task:result"; payload: Result } | { event: "task:error"; payload: ExecutionError };
    try {
      const r = await this.o.executor.execute(a, task.abort.signal).finally(() => {
        task.executing = false;
      });
      answer = { event: "task:result", payload: { assignmentId: a.assignmentId, ...r } };
      this.emit({ type: "executed", assign: a, result: answer.payload });
    } catch (e) {
      if (task.cancelled || task.released) return finish({ outcome: task.cancelled ? "cancelled" : "released" });
      if (task.abort.signal.aborted) {
        // Aborted because the server gave the assignment up (disconnect, lease end): nobody waits for an error.
        return finish({ outcome: "lost", code: e instanceof ProviderError ? e.code : "RUN_FAILED", message: errorMessage(e) });
      }
      const code = e instanceof ProviderError ? e.code : "RUN_FAILED";
      answer = { event: "task:error", payload: { assignmentId: a.assignmentId, code, message: errorMessage(e).slice(0, 2000) } };
      this.emit({ type: "executed", assign: a, error: answer.payload });
    }
    if (task.cancelled || task.released) return finish({ outcome: task.cancelled ? "cancelled" : "released" });
    finish(await this.deliver(task, answer));
  }

  /** Sends a result/error with an ack, retrying across reconnects until the lease would lapse. */
  private async deliver(task: ActiveTask, answer: { event: "task:result"; payload: Result } | { event: "task:error"; payload: ExecutionError }): Promise<TaskOutcome> {
    const ackTimeout = this.o.ackTimeoutMs ?? 10_000;
    for (;;) {
      if (task.cancelled) return { outcome: "cancelled" };
      if (task.released) return { outcome: "released" };
      const left = task.deadline - Date.now();
      if (left <= 0) return { outcome: "lapsed", event: answer.event };
      const socket = this.socket;
      if (!this.registered || !socket.connected) {
        await this.waitForRegistration(Math.min(left, 1000));
        continue;
      }
      try {
        const ack = (await socket.timeout(Math.min(ackTimeout, Math.max(left, 1))).emitWithAck(answer.event, answer.payload)) as Ack;
        if (ack.ok) return { outcome: "delivered", ...answer };
        return { outcome: "rejected", event: answer.event, code: ack.error.code, message: ack.error.message };
      } catch {
        this.emit({ type: "delivery-retry", assignmentId: task.assign.assignmentId, event: answer.event });
      }
    }
  }

  private waitForRegistration(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = unref(setTimeout(finish, ms));
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
    if (!task) return;
    task.cancelled = true;
    task.abort.abort(new ProviderError("RUN_FAILED", `cancelled: ${parsed.data.reason}`));
    this.emit({ type: "cancel", assignmentId: task.assign.assignmentId, reason: parsed.data.reason });
  }

  /**
   * Graceful shutdown: tells the server to send no more work (provider:drain), lets running tasks
   * finish and deliver for up to `graceMs`, releases what is still running (task:release), then
   * disconnects. Safe to call more than once.
   */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= this.doStop(graceMs);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    this.draining = true;
    const socket = this.socket;
    this.emit({ type: "draining", active: this.tasks.size, graceMs });
    if (socket.connected && this.registered) {
      try {
        await socket.timeout(5000).emitWithAck(PROVIDER_EVENTS.drain, {});
      } catch {
        this.emit({ type: "drain-unacked" });
      }
    }
    if (this.tasks.size > 0) {
      const all = Promise.all([...this.tasks.values()].map((t) => t.done));
      const finished = await Promise.race([all.then(() => true), sleep(graceMs).then(() => false)]);
      if (!finished) {
        for (const t of [...this.tasks.values()]) {
          this.markReleased(t);
          if (socket.connected && this.registered) {
            // No ack in time: the server times the lease out instead.
            await socket
              .timeout(2000)
              .emitWithAck(PROVIDER_EVENTS.release, { assignmentId: t.assign.assignmentId })
              .catch(() => undefined);
          }
          this.emit({ type: "released", assignmentId: t.assign.assignmentId });
        }
      }
    }
    this.onFirst(undefined, new Error("the provider stopped before it registered"));
    this.shutdownSocket();
    this.emit({ type: "stopped" });
  }

  /** The page is closing: give everything back without waiting for acks, then disconnect. */
  unload(): void {
    if (this.stopped) return;
    const socket = this.socket;
    for (const t of this.tasks.values()) {
      this.markReleased(t);
      if (socket.connected && this.registered) socket.emit(PROVIDER_EVENTS.release, { assignmentId: t.assign.assignmentId });
    }
    this.onFirst(undefined, new Error("the provider stopped before it registered"));
    this.shutdownSocket();
  }

  private markReleased(t: ActiveTask): void {
    t.released = true;
    t.abort.abort(new ProviderError("RUN_FAILED", "released"));
  }

  private shutdownSocket(): void {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.attestTimer) clearInterval(this.attestTimer);
    if (this.followTimer) clearInterval(this.followTimer);
    this.heartbeat = undefined;
    this.registered = false;
    if (this.failoverTimer) clearTimeout(this.failoverTimer);
    this.failoverTimer = undefined;
    for (const socket of this.sockets) {
      socket.removeAllListeners();
      socket.disconnect();
    }
  }
}
