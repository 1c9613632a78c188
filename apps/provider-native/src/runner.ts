/**
 * Runs one assignment: model (by sha256, through the cache) + input wire tensors → output wire
 * tensors and timings. Failures are ProviderErrors whose code goes into `task:error`.
 */
import ort from "onnxruntime-node";
import type { Timings, WireTensorMap } from "@stun/shared";
import { ProviderError, errorMessage } from "@stun/provider-core";
import { InferenceBatcher } from "./batching";
import type { OutputFault } from "./faults";
import type { ModelCache, ModelRef } from "./model-cache";
import { ortToWire, wireToOrt } from "./ort-tensors";

export interface RunRequest {
  model: ModelRef;
  inputs: WireTensorMap;
  /** Aborts a model download this run waits for (the assignment was given up). */
  signal?: AbortSignal;
}

export interface RunOutcome {
  outputs: WireTensorMap;
  timings: Timings;
}

/**
 * A session's input and output names, read once: onnxruntime-node's `inputNames`/`outputNames`
 * getters cross into the native binding and build a new array on every access, which cost more
 * than the rest of the runner's per-call work together on small models.
 */
const sessionNames = new WeakMap<ort.InferenceSession, { inputs: ReadonlySet<string>; outputs: readonly string[] }>();
function namesOf(session: ort.InferenceSession): { inputs: ReadonlySet<string>; outputs: readonly string[] } {
  let names = sessionNames.get(session);
  if (!names) sessionNames.set(session, (names = { inputs: new Set(session.inputNames), outputs: [...session.outputNames] }));
  return names;
}

async function runSession(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
  try {
    return await session.run(feeds);
  } catch (e) {
    throw new ProviderError("RUN_FAILED", `onnxruntime: ${errorMessage(e)}`, { cause: e });
  }
}

export class Runner {
  private readonly fault: OutputFault | undefined;
  /** Stacks tasks of the same model that wait for each other into one inference (batching.ts). */
  readonly batcher: InferenceBatcher;

  constructor(
    readonly cache: ModelCache,
    opts: { fault?: OutputFault; maxBatch?: number } = {},
  ) {
    this.fault = opts.fault;
    this.batcher = new InferenceBatcher(ort.Tensor, runSession, opts.maxBatch ?? 1);
  }

  async run(req: RunRequest): Promise<RunOutcome> {
    const lease = this.cache.tryAcquire(req.model) ?? (await this.cache.acquire(req.model, req.signal));
    try {
      const { session } = lease;
      const names = namesOf(session);
      const feeds: Record<string, ort.Tensor> = {};
      for (const name in req.inputs) {
        if (!names.inputs.has(name)) {
          throw new ProviderError("INPUT_INVALID", `input "${name}" is not an input of this model (inputs: ${[...names.inputs].join(", ")})`);
        }
        feeds[name] = wireToOrt(name, req.inputs[name]!);
      }
      const run = await this.batcher.run(session, feeds);
      let outputs: WireTensorMap = {};
      for (const name of names.outputs) outputs[name] = ortToWire(name, run.results[name]!);
      if (this.fault) outputs = this.fault(outputs);
      return { outputs, timings: { fetchMs: lease.fetchMs, loadMs: lease.loadMs, runMs: run.runMs, ...(run.batch > 1 ? { batch: run.batch } : {}) } };
    } finally {
      lease.release();
    }
  }
}
