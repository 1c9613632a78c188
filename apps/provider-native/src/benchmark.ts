/** The start-up benchmark: inferences per second of the built-in MLP (784-512-256-10, batch 1). */
import ort from "onnxruntime-node";
import { buildBenchmarkMlp } from "./builtin-model";

export interface BenchmarkResult {
  /** Inferences per second. */
  ips: number;
  msPerInference: number;
  runs: number;
}

export async function runBenchmark(opts: { executionProviders?: string[]; sessionOptions?: ort.InferenceSession.SessionOptions; durationMs?: number; warmup?: number } = {}): Promise<BenchmarkResult> {
  const model = buildBenchmarkMlp();
  const session = await ort.InferenceSession.create(model.bytes, { ...opts.sessionOptions, executionProviders: opts.executionProviders ?? ["cpu"] });
  try {
    const x = new Float32Array(model.inputShape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i);
    const feeds = { [model.inputName]: new ort.Tensor("float32", x, model.inputShape) };
    for (let i = 0; i < (opts.warmup ?? 20); i++) await session.run(feeds);
    const duration = opts.durationMs ?? 300;
    let runs = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < duration || runs < 10) {
      await session.run(feeds);
      runs++;
      elapsed = performance.now() - t0;
    }
    const msPerInference = elapsed / runs;
    return { ips: Math.round(1000 / msPerInference), msPerInference, runs };
  } finally {
    await session.release();
  }
}
