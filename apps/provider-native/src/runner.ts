/**
 * Runs one assignment: model (by sha256, through the cache) + input wire tensors → output wire
 * tensors and timings. Failures are ProviderErrors whose code goes into `task:error`.
 */
import type ort from "onnxruntime-node";
import type { Timings, WireTensorMap } from "@stun/shared";
import { ProviderError, errorMessage } from "./errors";
import type { OutputFault } from "./faults";
import type { ModelCache, ModelRef } from "./model-cache";
import { ortToWire, wireToOrt } from "./ort-tensors";

export interface RunRequest {
  model: ModelRef;
  inputs: WireTensorMap;
}

export interface RunOutcome {
  outputs: WireTensorMap;
  timings: Timings;
}

export class Runner {
  private readonly fault: OutputFault | undefined;

  constructor(
    readonly cache: ModelCache,
    opts: { fault?: OutputFault } = {},
  ) {
    this.fault = opts.fault;
  }

  async run(req: RunRequest): Promise<RunOutcome> {
    const lease = this.cache.tryAcquire(req.model) ?? (await this.cache.acquire(req.model));
    try {
      const { session } = lease;
      const feeds: Record<string, ort.Tensor> = {};
      for (const name in req.inputs) {
        if (!session.inputNames.includes(name)) {
          throw new ProviderError("INPUT_INVALID", `input "${name}" is not an input of this model (inputs: ${session.inputNames.join(", ")})`);
        }
        feeds[name] = wireToOrt(name, req.inputs[name]!);
      }
      const t0 = performance.now();
      let results: ort.InferenceSession.ReturnType;
      try {
        results = await session.run(feeds);
      } catch (e) {
        throw new ProviderError("RUN_FAILED", `onnxruntime: ${errorMessage(e)}`, { cause: e });
      }
      const runMs = performance.now() - t0;
      let outputs: WireTensorMap = {};
      for (const name of session.outputNames) outputs[name] = ortToWire(name, results[name]!);
      if (this.fault) outputs = this.fault(outputs);
      return { outputs, timings: { fetchMs: lease.fetchMs, loadMs: lease.loadMs, runMs } };
    } finally {
      lease.release();
    }
  }
}
