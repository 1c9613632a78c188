/**
 * The ONNX worker pool: a few worker threads own every server-side onnxruntime session (upload
 * check, calibration, canary answers, referee runs), so the event loop never waits on a model.
 *
 * The main thread only copies bytes in (transferred, not cloned) and gets results back. Each job
 * has a wall-clock limit; past it, or when the process's resident memory grows more than
 * `maxRssGrowthMb` above where it stood when the pool got busy, or when the worker's JS heap
 * (`resourceLimits`) runs out, the job fails MODEL_TOO_COSTLY and its worker is terminated and
 * replaced. onnxruntime-node runs a model synchronously on the worker's thread, so a terminated
 * worker stops only when its current kernel returns: until then it still holds a core, and it
 * counts against the pool (at most `size` live workers plus `size` still stopping), so runaway
 * models cannot pile up threads. Jobs wait in a bounded queue (RATE_LIMITED past
 * {@link MAX_QUEUED}) for at most the job limit (UNAVAILABLE after).
 */
import { Worker } from "node:worker_threads";
import { StunError, type ErrorCode, type RawTensor } from "@stun/shared";
import type { Logger } from "../logger";
import type { ModelIO } from "../qa/calibrate";
import type { RunBudget } from "./run-budget";
import type { OnnxJob, OnnxJobResults } from "./worker-jobs";

export interface OnnxPoolOptions {
  /** Worker threads (each runs one job at a time). */
  size: number;
  /** Each worker's JS heap limit (`resourceLimits.maxOldGenerationSizeMb`). */
  heapMb: number;
  /** Wall-clock limit of one job, from when a worker takes it. */
  timeoutMs: number;
  /** Process RSS growth, above where it stood when the pool got busy, that stops the running jobs. */
  maxRssGrowthMb: number;
  /** Inputs and outputs of every run (./run-budget.ts). */
  budget: RunBudget;
}

/** Jobs that may wait for a worker; past that the pool answers RATE_LIMITED. */
export const MAX_QUEUED = 64;
/** How often the process's RSS is sampled while a job runs. */
export const RSS_SAMPLE_MS = 50;

const BOOTSTRAP = new URL("./worker-bootstrap.mjs", import.meta.url);

interface Pending {
  id: number;
  job: OnnxJob;
  transfer: ArrayBuffer[];
  resolve(result: unknown): void;
  reject(error: Error): void;
  /** Fails the job if it waits in the queue longer than the job limit. */
  queueTimer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Terminated (or exited): takes no more jobs; still counted until its thread exits. */
  stopping: boolean;
  pending?: Pending;
  timer?: NodeJS.Timeout;
}

type WorkerReply = { ready: true } | { id: number; ok: true; result: unknown } | { id: number; ok: false; code?: ErrorCode; message: string };

/** A copy of bytes in an ArrayBuffer of their own, to transfer to a worker (the caller keeps its bytes). */
const ownCopy = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

export class OnnxWorkerPool {
  private readonly threads = new Set<Slot>();
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private sampler?: NodeJS.Timeout;
  private rssBaseline = 0;

  constructor(
    private readonly opts: OnnxPoolOptions,
    private readonly log?: Logger,
  ) {}

  /** Upload: the model's signature and calibration (MODEL_INVALID, MODEL_TOO_LARGE_INPUT, MODEL_TOO_COSTLY). */
  checkUpload(model: Uint8Array): Promise<OnnxJobResults["check-upload"]> {
    const job = { kind: "check-upload", model: ownCopy(model) } as const;
    return this.call(job, [job.model.buffer as ArrayBuffer]) as Promise<OnnxJobResults["check-upload"]>;
  }

  /** A canary's random inputs (from `seed`) and the reference outputs for them. */
  knownAnswer(model: Uint8Array, signature: ModelIO, seed: number): Promise<OnnxJobResults["known-answer"]> {
    const job = { kind: "known-answer", model: ownCopy(model), signature, seed } as const;
    return this.call(job, [job.model.buffer as ArrayBuffer]) as Promise<OnnxJobResults["known-answer"]>;
  }

  /** The model's reference outputs for a serialized tensor map (a task's stored inputs). */
  run(model: Uint8Array, inputs: Uint8Array): Promise<Record<string, RawTensor>> {
    const job = { kind: "run", model: ownCopy(model), inputs: ownCopy(inputs) } as const;
    return this.call(job, [job.model.buffer as ArrayBuffer, job.inputs.buffer as ArrayBuffer]) as Promise<Record<string, RawTensor>>;
  }

  /** Live worker threads, and those terminated but not yet exited (tests, metrics). */
  get threadCount(): { live: number; stopping: number } {
    const stopping = [...this.threads].filter((s) => s.stopping).length;
    return { live: this.threads.size - stopping, stopping };
  }

  /** Fails queued jobs (UNAVAILABLE) and terminates every worker. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) this.fail(p, "UNAVAILABLE", "the server is shutting down");
    const exits = [...this.threads].map((s) => this.stop(s, "UNAVAILABLE", "the server is shutting down"));
    await Promise.all(exits);
    this.stopSampler();
  }

  private call(job: OnnxJob, transfer: ArrayBuffer[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new StunError("UNAVAILABLE", "the server is shutting down"));
      if (this.queue.length >= MAX_QUEUED) {
        return reject(new StunError("RATE_LIMITED", "the server's model runners are busy; retry later"));
      }
      const p: Pending = { id: this.nextId++, job, transfer, resolve, reject };
      p.queueTimer = setTimeout(() => {
        const i = this.queue.indexOf(p);
        if (i >= 0) this.queue.splice(i, 1);
        this.fail(p, "UNAVAILABLE", `no model runner was free within ${this.opts.timeoutMs} ms; retry later`);
      }, this.opts.timeoutMs);
      this.queue.push(p);
      this.pump();
    });
  }

  private fail(p: Pending, code: ErrorCode, message: string): void {
    clearTimeout(p.queueTimer);
    p.reject(new StunError(code, message));
  }

  /** Starts workers up to the pool's size (and its cap on threads still stopping), and hands queued jobs to ready ones. */
  private pump(): void {
    if (this.closed) return;
    const { live } = this.threadCount;
    const wanted = Math.min(this.queue.length, this.opts.size - live);
    for (let i = 0; i < wanted && this.threads.size < 2 * this.opts.size; i++) this.spawn();
    for (const slot of this.threads) {
      if (this.queue.length === 0) break;
      if (slot.ready && !slot.stopping && !slot.pending) this.dispatch(slot, this.queue.shift()!);
    }
  }

  private spawn(): void {
    const worker = new Worker(BOOTSTRAP, {
      workerData: { budget: this.opts.budget },
      resourceLimits: { maxOldGenerationSizeMb: this.opts.heapMb },
    });
    const slot: Slot = { worker, ready: false, stopping: false };
    this.threads.add(slot);
    worker.unref(); // an idle pool never keeps the process alive; a job in flight refs it
    worker.on("message", (m: WorkerReply) => this.onReply(slot, m));
    worker.on("error", (err) => {
      // Uncaught in the worker; ERR_WORKER_OUT_OF_MEMORY when its heap limit is hit.
      const oom = (err as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY";
      this.log?.warn({ err }, "ONNX worker failed");
      if (!slot.ready) {
        // It never started (a broken install): fail what waits rather than start workers forever.
        for (const p of this.queue.splice(0)) this.fail(p, "INTERNAL", `the model runner could not start: ${err.message}`);
      }
      void this.stop(slot, oom ? "MODEL_TOO_COSTLY" : "INTERNAL", oom ? "the model's run ran out of the worker's memory" : "the model runner failed");
    });
    worker.on("exit", () => {
      if (!slot.stopping) void this.stop(slot, "INTERNAL", "the model runner exited");
      this.threads.delete(slot);
      this.pump();
    });
  }

  private onReply(slot: Slot, m: WorkerReply): void {
    if ("ready" in m) {
      slot.ready = true;
      return this.pump();
    }
    const p = slot.pending;
    if (!p || p.id !== m.id || slot.stopping) return;
    this.finish(slot);
    if (m.ok) p.resolve(m.result);
    else p.reject(m.code ? new StunError(m.code, m.message) : new Error(m.message));
    this.pump();
  }

  private dispatch(slot: Slot, p: Pending): void {
    clearTimeout(p.queueTimer);
    if (!this.busy()) this.rssBaseline = process.memoryUsage.rss();
    slot.pending = p;
    slot.worker.ref();
    slot.timer = setTimeout(
      () => void this.stop(slot, "MODEL_TOO_COSTLY", `the model's run took longer than the server's ${this.opts.timeoutMs} ms limit`),
      this.opts.timeoutMs,
    );
    slot.worker.postMessage({ id: p.id, job: p.job }, p.transfer);
    this.startSampler();
  }

  /** The slot's job is over (answered or failed). */
  private finish(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.pending = undefined;
    slot.worker.unref();
    if (!this.busy()) this.stopSampler();
  }

  /** Fails the slot's job, if any, with `code`, and terminates its worker (a replacement starts when needed). */
  private async stop(slot: Slot, code: ErrorCode, message: string): Promise<void> {
    const p = slot.pending;
    const first = !slot.stopping;
    slot.stopping = true;
    this.finish(slot);
    if (p) {
      this.log?.warn({ job: p.job.kind, code, message }, "ONNX job stopped");
      this.fail(p, code, message);
    }
    if (first) {
      // A replacement may start now for the queue; the stopping thread still counts (see pump).
      queueMicrotask(() => this.pump());
      await slot.worker.terminate().catch(() => undefined);
    }
  }

  private busy(): boolean {
    for (const s of this.threads) if (s.pending) return true;
    return false;
  }

  private startSampler(): void {
    if (this.sampler) return;
    const limit = this.opts.maxRssGrowthMb * 2 ** 20;
    this.sampler = setInterval(() => {
      const rss = process.memoryUsage.rss();
      this.rssBaseline = Math.min(this.rssBaseline, rss);
      if (rss - this.rssBaseline <= limit) return;
      const grew = `${Math.round((rss - this.rssBaseline) / 2 ** 20)} MiB`;
      for (const s of this.threads) {
        if (s.pending) void this.stop(s, "MODEL_TOO_COSTLY", `the server's memory grew by ${grew} during the model's run (limit ${this.opts.maxRssGrowthMb} MiB)`);
      }
    }, RSS_SAMPLE_MS);
    this.sampler.unref();
  }

  private stopSampler(): void {
    clearInterval(this.sampler);
    this.sampler = undefined;
  }
}
