/**
 * The ONNX worker pool: a few worker processes own every server-side onnxruntime session (upload
 * check, calibration, canary answers, referee runs), so the event loop never waits on a model.
 *
 * Processes, not worker threads: onnxruntime-node runs a model synchronously, and a worker thread
 * terminated in the middle of a native run aborts the whole server ("terminate called after
 * throwing an instance of 'Napi::Error'", seen in this pool's first, thread-based version), while
 * a thread left to finish can spin for ever (a Loop with a huge trip count) holding a core. A
 * process is killed (SIGKILL) at once, frees all it held, and its resident memory can be read on
 * its own.
 *
 * The main thread only sends bytes (structured clone over IPC) and gets results back. Each job has
 * a wall-clock limit; past it, or when its process's resident memory goes over `maxRssMb` (sampled
 * every {@link RSS_SAMPLE_MS} ms, Linux /proc), or when its JS heap (`--max-old-space-size`) runs
 * out, the job fails MODEL_TOO_COSTLY and the process is killed and replaced. Jobs wait in a
 * bounded queue (RATE_LIMITED past {@link MAX_QUEUED}) for at most {@link queueWaitMs}
 * (UNAVAILABLE after).
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { StunError, type ErrorCode, type RawTensor } from "@stun/shared";
import type { Logger } from "../logger";
import type { RunBudget } from "./run-budget";
import type { OnnxJob, OnnxJobResults } from "./worker-jobs";

export interface OnnxPoolOptions {
  /** Worker processes (each runs one job at a time). */
  size: number;
  /** Each worker's JS heap limit (`--max-old-space-size`). */
  heapMb: number;
  /** Wall-clock limit of one job, from when a worker takes it. */
  timeoutMs: number;
  /** Resident memory of a worker process that stops its job (onnxruntime's native memory included). */
  maxRssMb: number;
  /** Inputs and outputs of every run (./run-budget.ts). */
  budget: RunBudget;
}

/** Jobs that may wait for a worker; past that the pool answers RATE_LIMITED. */
export const MAX_QUEUED = 64;
/** How often a busy worker's resident memory is sampled. */
export const RSS_SAMPLE_MS = 50;

/** How long a job may wait for a worker (starting one included): at least 30 s, and at least the job limit. */
export const queueWaitMs = (timeoutMs: number): number => Math.max(30_000, timeoutMs);

const BOOTSTRAP = fileURLToPath(new URL("./worker-bootstrap.mjs", import.meta.url));
const PAGE_BYTES = 4096;

/** A process's resident bytes (Linux /proc); undefined where that cannot be read. */
function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * PAGE_BYTES;
  } catch {
    return undefined;
  }
}

interface Pending {
  id: number;
  job: OnnxJob;
  resolve(result: unknown): void;
  reject(error: Error): void;
  /** Fails the job if it waits in the queue longer than the job limit. */
  queueTimer?: NodeJS.Timeout;
}

interface Slot {
  worker: ChildProcess;
  ready: boolean;
  /** Killed (or exited): takes no more jobs; counted until its process has exited. */
  stopping: boolean;
  pending?: Pending;
  timer?: NodeJS.Timeout;
}

type WorkerReply = { ready: true } | { id: number; ok: true; result: unknown } | { id: number; ok: false; code?: ErrorCode; message: string };

export class OnnxWorkerPool {
  private readonly workers = new Set<Slot>();
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private sampler?: NodeJS.Timeout;

  constructor(
    private readonly opts: OnnxPoolOptions,
    private readonly log?: Logger,
  ) {}

  /** Upload: the model's signature and calibration (MODEL_INVALID, MODEL_TOO_LARGE_INPUT, MODEL_TOO_COSTLY). */
  checkUpload(model: Uint8Array): Promise<OnnxJobResults["check-upload"]> {
    return this.call({ kind: "check-upload", model }) as Promise<OnnxJobResults["check-upload"]>;
  }

  /** The model's reference outputs for a serialized tensor map (a task's stored inputs): referee runs, canaries' answers. */
  run(model: Uint8Array, inputs: Uint8Array): Promise<Record<string, RawTensor>> {
    return this.call({ kind: "run", model, inputs }) as Promise<Record<string, RawTensor>>;
  }

  /** Live worker processes, and those killed but not yet exited (tests, metrics). */
  get workerCount(): { live: number; stopping: number } {
    const stopping = [...this.workers].filter((s) => s.stopping).length;
    return { live: this.workers.size - stopping, stopping };
  }

  /** Fails queued jobs (UNAVAILABLE) and kills every worker. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) this.fail(p, "UNAVAILABLE", "the server is shutting down");
    const exits = [...this.workers].map((s) => this.stop(s, "UNAVAILABLE", "the server is shutting down"));
    await Promise.all(exits);
    this.stopSampler();
  }

  private call(job: OnnxJob): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new StunError("UNAVAILABLE", "the server is shutting down"));
      if (this.queue.length >= MAX_QUEUED) {
        return reject(new StunError("RATE_LIMITED", "the server's model runners are busy; retry later"));
      }
      const p: Pending = { id: this.nextId++, job, resolve, reject };
      p.queueTimer = setTimeout(() => {
        const i = this.queue.indexOf(p);
        if (i >= 0) this.queue.splice(i, 1);
        this.fail(p, "UNAVAILABLE", `no model runner was free within ${queueWaitMs(this.opts.timeoutMs)} ms; retry later`);
      }, queueWaitMs(this.opts.timeoutMs));
      this.queue.push(p);
      this.pump();
    });
  }

  private fail(p: Pending, code: ErrorCode, message: string): void {
    clearTimeout(p.queueTimer);
    p.reject(new StunError(code, message));
  }

  /** Starts workers up to the pool's size, and hands queued jobs to ready ones. */
  private pump(): void {
    if (this.closed) return;
    const { live } = this.workerCount;
    const wanted = Math.min(this.queue.length, this.opts.size - live);
    for (let i = 0; i < wanted; i++) this.spawn();
    for (const slot of this.workers) {
      if (this.queue.length === 0) break;
      if (slot.ready && !slot.stopping && !slot.pending) this.dispatch(slot, this.queue.shift()!);
    }
  }

  private spawn(): void {
    const worker = fork(BOOTSTRAP, [JSON.stringify(this.opts.budget)], {
      // Only the heap limit: the bootstrap registers tsx itself (the parent's loader flags are not passed on).
      execArgv: [`--max-old-space-size=${this.opts.heapMb}`],
      serialization: "advanced", // typed arrays travel as bytes, not JSON
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const slot: Slot = { worker, ready: false, stopping: false };
    this.workers.add(slot);
    this.unref(slot); // an idle pool never keeps the process alive; a job in flight refs it
    worker.on("message", (m: WorkerReply) => this.onReply(slot, m));
    // A worker that fails before it is ready (a broken install) fails what waits, rather than
    // being replaced for ever.
    const failQueueIfNeverReady = (why: string) => {
      if (!slot.ready && !slot.stopping) for (const p of this.queue.splice(0)) this.fail(p, "INTERNAL", `the model runner could not start: ${why}`);
    };
    worker.on("error", (err) => {
      this.log?.warn({ err }, "ONNX worker failed");
      failQueueIfNeverReady(err.message);
      void this.stop(slot, "INTERNAL", "the model runner failed");
    });
    worker.on("exit", (code, signal) => {
      failQueueIfNeverReady(`it exited (${signal ?? code})`);
      if (!slot.stopping) {
        // Not killed by the pool: V8 ends a process whose heap limit is hit (abort / exit 134).
        const heap = signal === "SIGABRT" || code === 134;
        void this.stop(slot, heap ? "MODEL_TOO_COSTLY" : "INTERNAL", heap ? "the model's run ran out of the worker's memory" : "the model runner exited");
      }
      this.workers.delete(slot);
      this.pump();
    });
  }

  private ref(slot: Slot): void {
    slot.worker.ref();
    (slot.worker.channel as { ref?(): void } | undefined)?.ref?.();
  }

  private unref(slot: Slot): void {
    slot.worker.unref();
    (slot.worker.channel as { unref?(): void } | undefined)?.unref?.();
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
    // Over budget inside the worker (outputs too large): its session cache may hold what made the
    // model costly (a folded constant), so the worker goes and a fresh one takes its place.
    if (!m.ok && m.code === "MODEL_TOO_COSTLY") void this.stop(slot, m.code, m.message);
    this.pump();
  }

  private dispatch(slot: Slot, p: Pending): void {
    clearTimeout(p.queueTimer);
    slot.pending = p;
    this.ref(slot);
    slot.timer = setTimeout(() => void this.stop(slot, "MODEL_TOO_COSTLY", `the model's run took longer than the server's ${this.opts.timeoutMs} ms limit`), this.opts.timeoutMs);
    slot.worker.send({ id: p.id, job: p.job });
    this.startSampler();
  }

  /** The slot's job is over (answered or failed). */
  private finish(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.pending = undefined;
    this.unref(slot);
    if (!this.busy()) this.stopSampler();
  }

  /** Fails the slot's job, if any, with `code`, and kills its worker (a replacement starts when needed). */
  private async stop(slot: Slot, code: ErrorCode, message: string): Promise<void> {
    const p = slot.pending;
    const first = !slot.stopping;
    slot.stopping = true;
    this.finish(slot);
    if (p) {
      this.log?.warn({ job: p.job.kind, code, message }, "ONNX job stopped");
      this.fail(p, code, message);
    }
    if (first && slot.worker.exitCode === null && slot.worker.signalCode === null) {
      const exited = new Promise<void>((resolve) => slot.worker.once("exit", () => resolve()));
      slot.worker.kill("SIGKILL");
      queueMicrotask(() => this.pump()); // a replacement starts now for the queue
      await exited;
    }
  }

  private busy(): boolean {
    for (const s of this.workers) if (s.pending) return true;
    return false;
  }

  private startSampler(): void {
    if (this.sampler) return;
    const limit = this.opts.maxRssMb * 2 ** 20;
    this.sampler = setInterval(() => {
      for (const s of this.workers) {
        if (!s.pending || s.stopping) continue;
        const rss = residentBytes(s.worker.pid);
        if (rss !== undefined && rss > limit) {
          void this.stop(s, "MODEL_TOO_COSTLY", `the model's run used ${Math.round(rss / 2 ** 20)} MiB of memory (limit ${this.opts.maxRssMb} MiB)`);
        }
      }
    }, RSS_SAMPLE_MS);
    this.sampler.unref();
  }

  private stopSampler(): void {
    clearInterval(this.sampler);
    this.sampler = undefined;
  }
}
