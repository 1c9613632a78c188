/**
 * The server's own reference runs: a model (ONNX bytes) on onnxruntime-node's CPU provider, fed
 * RawTensors, answering RawTensors. Used to calibrate a model's tolerance at upload
 * (./calibrate.ts), to referee disputed tasks and to answer canaries (./referee.ts, ./canaries.ts).
 *
 * Sessions are cached by (sha256, optimization level) in a small LRU so that running the same
 * model again costs one run, not one session build; an evicted session is released once
 * its in-flight runs are done.
 *
 * The tensor conversion is written here (not imported from @stun/provider-native, which the server
 * may not depend on): inputs go through @stun/shared's `toTypedArray` (validates, copies), outputs
 * are copied out of onnxruntime's memory so a kept answer owns its bytes.
 */
import { createHash } from "node:crypto";
import * as ort from "onnxruntime-node";
import { mulberry32, DTYPE_BYTES, DTYPES, HOST_IS_LITTLE_ENDIAN, float32ToFloat16, swapBytesInPlace, toTypedArray, type Dtype, type RawTensor, type TensorInfo } from "@stun/shared";
import { DEFAULT_RUN_BUDGET, assertRunBudget, concreteDims, type RunBudget } from "./run-budget";
import { assertSelfContainedModel } from "./self-contained";

/** A uniform PRNG on [0, 1), like Math.random; seeded ones make calibration reproducible. */
export type Rng = () => number;

/** mulberry32 (packages/shared): the same seed always gives the same inputs. */
export const seededRng = (seed: number): Rng => mulberry32(seed);

// ---------------------------------------------------------------------------------------------
// Random inputs

/** Largest integer a random integer input takes (inclusive): small and ≥ 0, so index-like inputs are valid more often. */
export const RANDOM_INT_MAX = 3;

function randomData(dtype: Exclude<Dtype, "string">, n: number, rng: Rng): Uint8Array {
  const int = () => Math.floor(rng() * (RANDOM_INT_MAX + 1));
  const uniform = () => rng() * 2 - 1;
  let arr: ArrayBufferView;
  switch (dtype) {
    case "float32":
      arr = Float32Array.from({ length: n }, uniform);
      break;
    case "float64":
      arr = Float64Array.from({ length: n }, uniform);
      break;
    case "float16":
      arr = Uint16Array.from({ length: n }, () => float32ToFloat16(uniform()));
      break;
    case "bool":
      arr = Uint8Array.from({ length: n }, () => (rng() < 0.5 ? 1 : 0));
      break;
    case "int64":
      arr = BigInt64Array.from({ length: n }, () => BigInt(int()));
      break;
    case "uint64":
      arr = BigUint64Array.from({ length: n }, () => BigInt(int()));
      break;
    default: {
      const Ctor = { int8: Int8Array, int16: Int16Array, int32: Int32Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array }[dtype];
      const ints = new Ctor(n);
      for (let i = 0; i < n; i++) ints[i] = int();
      arr = ints;
    }
  }
  const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  return HOST_IS_LITTLE_ENDIAN ? bytes : swapBytesInPlace(bytes, DTYPE_BYTES[dtype]);
}

/**
 * Inputs that match a model's declared inputs: unknown dimensions become 1; floats are uniform in
 * [-1, 1] (a plausible range for normalized activations, audio, pixels); integers are small and
 * non-negative (0..{@link RANDOM_INT_MAX}, so token ids, indices and masks are valid for most
 * models); bools are fair coin flips; strings are short lowercase words. Generic on purpose: inputs
 * with stricter rules (Silero VAD's `sr` must be 8000 or 16000) make the run fail, and callers say
 * so rather than guess.
 */
export function randomInputs(inputs: readonly TensorInfo[], rng: Rng): Record<string, RawTensor> {
  const out: Record<string, RawTensor> = {};
  for (const info of inputs) {
    const dims = concreteDims(info.shape);
    const n = dims.reduce((a, b) => a * b, 1);
    if (info.dtype === "string") {
      const word = () => Array.from({ length: 1 + Math.floor(rng() * 8) }, () => String.fromCharCode(97 + Math.floor(rng() * 26))).join("");
      out[info.name] = { dtype: "string", dims, data: Array.from({ length: n }, word) };
    } else {
      out[info.name] = { dtype: info.dtype, dims, data: randomData(info.dtype, n, rng) };
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tensor conversion

function rawToOrt(name: string, raw: RawTensor): ort.Tensor {
  const t = toTypedArray(raw, name);
  return new ort.Tensor(t.dtype, t.data as never, t.dims);
}

/** An onnxruntime output as a RawTensor with its own copy of the bytes (little-endian). */
function ortToRaw(t: ort.Tensor): RawTensor {
  const dtype = t.type as Dtype;
  if (!(DTYPES as readonly string[]).includes(dtype)) throw new Error(`output dtype ${t.type} is not one Stun carries`);
  const dims = [...t.dims];
  if (dtype === "string") return { dtype, dims, data: [...(t.data as string[])] };
  const d = t.data as ArrayBufferView;
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice();
  return { dtype, dims, data: HOST_IS_LITTLE_ENDIAN ? bytes : swapBytesInPlace(bytes, DTYPE_BYTES[dtype]) };
}

// ---------------------------------------------------------------------------------------------
// Session cache

/** Graph optimization level of a reference session: "all" is the normal one; "disabled" runs the unfused graph. */
export type OptimizationLevel = "all" | "disabled";

/** Sessions kept at once: enough for the models being calibrated and canaried now, small enough for memory. */
export const REFERENCE_SESSION_CACHE_SIZE = 8;

interface Entry {
  session: Promise<ort.InferenceSession>;
  inFlight: number;
  evicted: boolean;
}

/** Insertion-ordered Map as an LRU: a hit is moved to the end, eviction takes the front. */
const sessions = new Map<string, Entry>();

const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

function releaseWhenIdle(entry: Entry): Promise<void> {
  if (!entry.evicted || entry.inFlight > 0) return Promise.resolve();
  return entry.session.then((s) => s.release()).catch(() => undefined);
}

/** A session only for a self-contained model: external data would be read from the server's cwd. */
async function createSelfContainedSession(modelBytes: Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  assertSelfContainedModel(modelBytes);
  return ort.InferenceSession.create(modelBytes, options);
}

/**
 * One thread per session: reference runs share the server's CPUs with request handling, and a
 * fixed thread count keeps reductions in the same order run to run. No CPU memory arena and no
 * memory pattern: what a run allocates is returned when it ends, not kept for the session's life
 * (a model that builds a huge intermediate once does not hold it). onnxruntime's own log is
 * silenced below "fatal": a run that fails (expected for some models on random inputs) throws,
 * and callers report the message.
 */
function acquire(modelBytes: Uint8Array, level: OptimizationLevel): Entry {
  const key = `${sha256Hex(modelBytes)}:${level}`;
  let entry = sessions.get(key);
  if (entry) {
    sessions.delete(key);
  } else {
    // Stored models passed the upload check; this one guards models stored before it existed.
    const session = createSelfContainedSession(modelBytes, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: level,
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      enableCpuMemArena: false,
      enableMemPattern: false,
      logSeverityLevel: 4,
    });
    entry = { session, inFlight: 0, evicted: false };
    // A model that cannot load is not cached: the next call reports the same error afresh.
    session.catch(() => {
      if (sessions.get(key) === entry) sessions.delete(key);
    });
  }
  sessions.set(key, entry);
  while (sessions.size > REFERENCE_SESSION_CACHE_SIZE) {
    const [oldKey, old] = sessions.entries().next().value!;
    sessions.delete(oldKey);
    old.evicted = true;
    void releaseWhenIdle(old);
  }
  entry.inFlight++;
  return entry;
}

/**
 * Builds (or finds) the cached session of a model at an optimization level; throws onnxruntime's
 * error when the model cannot load. Upload validation uses it, so calibration reuses the session.
 */
export async function loadReferenceSession(modelBytes: Uint8Array, level: OptimizationLevel): Promise<void> {
  const entry = acquire(modelBytes, level);
  try {
    await entry.session;
  } finally {
    entry.inFlight--;
    void releaseWhenIdle(entry);
  }
}

export interface ReferenceRunOptions {
  optimization?: OptimizationLevel;
  /** Outputs over it fail MODEL_TOO_COSTLY before they are copied (default {@link DEFAULT_RUN_BUDGET}). */
  budget?: RunBudget;
}

/**
 * Runs a model on onnxruntime-node's CPU provider and returns every output as a RawTensor. Throws
 * onnxruntime's error when the model cannot load or cannot run on these inputs, and
 * MODEL_TOO_COSTLY when its outputs exceed the budget. The server calls it only inside its ONNX
 * worker threads (onnx/worker-pool.ts), never on the event loop.
 */
export async function runReference(modelBytes: Uint8Array, inputs: Record<string, RawTensor>, opts: ReferenceRunOptions = {}): Promise<Record<string, RawTensor>> {
  const entry = acquire(modelBytes, opts.optimization ?? "all");
  try {
    const session = await entry.session;
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, raw] of Object.entries(inputs)) feeds[name] = rawToOrt(name, raw);
    const results = await session.run(feeds);
    assertRunBudget(
      session.outputNames.map((n) => ({ dtype: results[n]!.type as Dtype, dims: results[n]!.dims })),
      opts.budget ?? DEFAULT_RUN_BUDGET,
      "outputs",
    );
    const outputs: Record<string, RawTensor> = {};
    for (const name of session.outputNames) outputs[name] = ortToRaw(results[name]!);
    return outputs;
  } finally {
    entry.inFlight--;
    void releaseWhenIdle(entry);
  }
}

/** Releases every cached reference session (shutdown, tests); one still running is released when its runs end. */
export async function releaseReferenceSessions(): Promise<void> {
  const entries = [...sessions.values()];
  sessions.clear();
  for (const e of entries) e.evicted = true;
  await Promise.all(entries.map(releaseWhenIdle));
}
