/**
 * Dynamic batching: tasks for the same model that wait while one of its inferences runs are run
 * together as one inference, their inputs stacked along the batch dimension (dim 0) and the
 * outputs split back per task. On a small model most of an inference is fixed cost (the call into
 * onnxruntime, thread-pool wake-up, allocation), so k tasks in one run cost little more than one.
 *
 * A model is batchable when every input and every output is a numeric tensor whose first dimension
 * is symbolic (`batch`, `N`, …) in the model itself; tasks join the same batch only when every input
 * agrees on dtype and on every dimension after the first. Each batched output must come back with
 * exactly as many rows as went in, or the batch is run again one task at a time.
 *
 * A symbolic batch dimension says rows may be stacked, not that they are computed independently (a
 * model could normalise across the batch). So the first batch of each session is also run task by
 * task and compared with the shared comparator's default tolerances: a model whose rows influence
 * each other is never batched again, and its first tasks get the one-at-a-time outputs. Later
 * batches are trusted; redundant verification compares against providers that did not batch.
 */
import type ort from "onnxruntime-node";
import { ortToWire } from "@stun/provider-core";
import { compareTensorMaps, type RawTensor } from "@stun/shared";

type Feeds = Record<string, ort.Tensor>;
type Results = Record<string, ort.Tensor>;

export interface BatchedRun {
  /** This task's outputs (views into the batch's output when batched). */
  results: Results;
  /** The inference's wall time: the batch's, which every task in it waited for. */
  runMs: number;
  /** Tasks that shared the inference (1 = ran alone). */
  batch: number;
}

interface Waiting {
  feeds: Feeds;
  rows: number;
  key: string;
  resolve(run: BatchedRun): void;
  reject(err: unknown): void;
}

interface SessionQueue {
  /** isBatchable(session), read once: the metadata getters cross into the native binding. */
  batchable: boolean;
  pending: Waiting[];
  running: boolean;
  /** undefined until the first batch was checked against one-at-a-time runs. */
  rowsIndependent?: boolean;
}

export type RunSession = (session: ort.InferenceSession, feeds: Feeds) => Promise<Results>;

const NUMERIC = new Set(["float32", "float64", "float16", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "bool"]);

/** Whether the model's own signature lets its tasks be stacked along dim 0. */
export function isBatchable(session: ort.InferenceSession): boolean {
  const symbolicFirst = (m: ort.InferenceSession.ValueMetadata): boolean => m.isTensor && NUMERIC.has(m.type) && m.shape.length >= 1 && typeof m.shape[0] === "string";
  return session.inputMetadata.length > 0 && session.inputMetadata.every(symbolicFirst) && session.outputMetadata.length > 0 && session.outputMetadata.every(symbolicFirst);
}

/** Tasks with the same key stack: per input, dtype and every dimension after the first. undefined: this task cannot be stacked. */
export function stackKey(feeds: Feeds): { key: string; rows: number } | undefined {
  let rows: number | undefined;
  const parts: string[] = [];
  for (const name of Object.keys(feeds).sort()) {
    const t = feeds[name]!;
    if (!NUMERIC.has(t.type) || t.dims.length === 0 || t.dims[0]! < 1) return undefined;
    if (rows === undefined) rows = t.dims[0]!;
    else if (t.dims[0] !== rows) return undefined; // inputs that disagree on the batch size: run alone
    parts.push(`${name}:${t.type}:${t.dims.slice(1).join("x")}`);
  }
  return rows === undefined ? undefined : { key: parts.join("|"), rows };
}

/** The inputs of `group` stacked along dim 0. */
export function stackFeeds(Tensor: typeof ort.Tensor, group: readonly Feeds[]): Feeds {
  const out: Feeds = {};
  for (const name of Object.keys(group[0]!)) {
    const parts = group.map((f) => f[name]!);
    const first = parts[0]!;
    const total = parts.reduce((n, t) => n + t.data.length, 0);
    const data = new (first.data.constructor as new (n: number) => ort.Tensor.DataType & { set(a: ArrayLike<unknown>, o: number): void })(total);
    let at = 0;
    for (const t of parts) {
      data.set(t.data as ArrayLike<unknown>, at);
      at += t.data.length;
    }
    const rows = parts.reduce((n, t) => n + t.dims[0]!, 0);
    out[name] = new Tensor(first.type as "float32", data as Float32Array, [rows, ...first.dims.slice(1)]);
  }
  return out;
}

/** Splits a batch's outputs back into per-task outputs (`rows` per task); undefined when an output's dim 0 is not the rows' sum. */
export function splitResults(Tensor: typeof ort.Tensor, results: Results, rows: readonly number[]): Results[] | undefined {
  const total = rows.reduce((a, b) => a + b, 0);
  const out: Results[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(results)) {
    if (t.dims.length === 0 || t.dims[0] !== total || !NUMERIC.has(t.type)) return undefined;
    const perRow = t.data.length / total;
    const data = t.data as Float32Array; // any typed array: subarray is common to all
    let row = 0;
    rows.forEach((n, i) => {
      out[i]![name] = new Tensor(t.type as "float32", data.subarray(row * perRow, (row + n) * perRow), [n, ...t.dims.slice(1)]);
      row += n;
    });
  }
  return out;
}

const asRaw = (r: Results): Record<string, RawTensor> => Object.fromEntries(Object.entries(r).map(([k, t]) => [k, ortToWire(k, t) as RawTensor]));

export class InferenceBatcher {
  private readonly queues = new WeakMap<ort.InferenceSession, SessionQueue>();
  /** Batches run and tasks in them (for the agent's stats and the tests). */
  readonly stats = { batches: 0, batchedTasks: 0, refusedModels: 0 };

  constructor(
    private readonly Tensor: typeof ort.Tensor,
    private readonly runSession: RunSession,
    /** The most tasks one inference takes; 1 turns batching off. */
    readonly maxBatch: number,
  ) {}

  /** Runs `feeds` on `session`, alone or stacked with other tasks waiting for the same session. */
  async run(session: ort.InferenceSession, feeds: Feeds): Promise<BatchedRun> {
    const queue = this.maxBatch > 1 ? this.queueOf(session) : undefined;
    const stack = queue?.batchable && queue.rowsIndependent !== false ? stackKey(feeds) : undefined;
    if (!queue || !stack) return this.alone(session, feeds);
    return new Promise<BatchedRun>((resolve, reject) => {
      queue.pending.push({ feeds, rows: stack.rows, key: stack.key, resolve, reject });
      if (!queue.running) void this.drain(session, queue);
    });
  }

  private queueOf(session: ort.InferenceSession): SessionQueue {
    let q = this.queues.get(session);
    if (!q) this.queues.set(session, (q = { batchable: isBatchable(session), pending: [], running: false }));
    return q;
  }

  private async alone(session: ort.InferenceSession, feeds: Feeds): Promise<BatchedRun> {
    const t0 = performance.now();
    const results = await this.runSession(session, feeds);
    return { results, runMs: performance.now() - t0, batch: 1 };
  }

  private async drain(session: ort.InferenceSession, q: SessionQueue): Promise<void> {
    q.running = true;
    try {
      while (q.pending.length > 0) {
        const first = q.pending.shift()!;
        const group = [first];
        for (let i = 0; i < q.pending.length && group.length < this.maxBatch; ) {
          if (q.pending[i]!.key === first.key) group.push(q.pending.splice(i, 1)[0]!);
          else i++;
        }
        await this.runGroup(session, q, group);
      }
    } finally {
      q.running = false;
    }
  }

  private async runGroup(session: ort.InferenceSession, q: SessionQueue, group: Waiting[]): Promise<void> {
    if (group.length === 1 || q.rowsIndependent === false) {
      for (const w of group) await this.alone(session, w.feeds).then(w.resolve, w.reject);
      return;
    }
    let split: Results[] | undefined;
    let runMs = 0;
    try {
      const t0 = performance.now();
      const results = await this.runSession(
        session,
        stackFeeds(
          this.Tensor,
          group.map((w) => w.feeds),
        ),
      );
      runMs = performance.now() - t0;
      split = splitResults(
        this.Tensor,
        results,
        group.map((w) => w.rows),
      );
    } catch {
      split = undefined; // one task's input failing the stacked run must not fail the others: run each alone
    }
    if (split && q.rowsIndependent === undefined) {
      // The session's first batch: each task alone too, and the two must agree.
      const alone = await Promise.allSettled(group.map((w) => this.alone(session, w.feeds)));
      const agree = alone.every((a, i) => a.status === "fulfilled" && compareTensorMaps(asRaw(a.value.results), asRaw(split![i]!)).equal);
      q.rowsIndependent = agree;
      if (!agree) {
        this.stats.refusedModels++;
        alone.forEach((a, i) => (a.status === "fulfilled" ? group[i]!.resolve(a.value) : group[i]!.reject(a.reason)));
        return;
      }
    }
    if (!split) {
      for (const w of group) await this.alone(session, w.feeds).then(w.resolve, w.reject);
      return;
    }
    this.stats.batches++;
    this.stats.batchedTasks += group.length;
    group.forEach((w, i) => w.resolve({ results: split![i]!, runMs, batch: group.length }));
  }
}
