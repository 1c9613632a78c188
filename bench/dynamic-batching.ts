/**
 * Dynamic batching in the native provider's runner: tasks/s with `--max-batch 1` (every task its own
 * inference) against `--max-batch K`, with C tasks in flight at once (what a provider with C slots
 * sees when the server keeps it busy), on models whose batch dimension is symbolic.
 *
 *   npx tsx bench/dynamic-batching.ts [--in-flight 1,8,32] [--max-batch 32] [--seconds 0.5] [--rounds 7] [--threads N]
 *
 * Rounds alternate off/on so background load hits both alike; reported are the medians.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import ort from "onnxruntime-node";
import { ModelCache, Runner, quietOrtLogs } from "@stun/provider-native";
import { buildMlp, wireTensor } from "@stun/testkit";

const { values } = parseArgs({
  options: {
    "in-flight": { type: "string", default: "1,8,32" },
    "max-batch": { type: "string", default: "32" },
    seconds: { type: "string", default: "0.5" },
    rounds: { type: "string", default: "7" },
    threads: { type: "string" },
  },
});
const IN_FLIGHT = values["in-flight"].split(",").map(Number);
const MAX_BATCH = Number(values["max-batch"]);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const sessionOptions: ort.InferenceSession.SessionOptions = values.threads ? { intraOpNumThreads: Number(values.threads) } : {};
quietOrtLogs();

const cases = [
  { name: "MLP 64-128-10 (the throughput bench's)", bytes: buildMlp({ inputSize: 64, hidden: [128], outputSize: 10, seed: 1 }).bytes, width: 64 },
  { name: "MLP 784-512-256-10", bytes: buildMlp({ inputSize: 784, hidden: [512, 256], outputSize: 10, seed: 1 }).bytes, width: 784 },
];

/** Tasks/s with `inFlight` closed-loop workers for `seconds`. */
async function closedLoop(run: (k: number) => Promise<unknown>, inFlight: number, seconds: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      while (performance.now() < until) {
        await run(w);
        n++;
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(path.join(os.tmpdir(), "stun-bench-batching-"));
try {
  for (const c of cases) await writeFile(path.join(dir, `${createHash("sha256").update(c.bytes).digest("hex")}.onnx`), c.bytes);
  const cache = await ModelCache.open({ server: "http://127.0.0.1:9", apiKey: "unused", dir, maxBytes: 1 << 30, sessionOptions });
  const off = new Runner(cache, { maxBatch: 1 });
  const on = new Runner(cache, { maxBatch: MAX_BATCH });
  console.log(`# dynamic batching: ${os.availableParallelism()} cores, onnxruntime-node ${ort.env.versions.common}, CPU EP, max batch ${MAX_BATCH}, ${ROUNDS} alternating rounds of ${SECONDS} s`);
  for (const c of cases) {
    const model = { sha256: createHash("sha256").update(c.bytes).digest("hex"), url: "/unused", sizeBytes: c.bytes.byteLength };
    const inputs = Array.from({ length: Math.max(...IN_FLIGHT) }, (_, w) => ({
      x: wireTensor(
        "float32",
        [1, c.width],
        Float32Array.from({ length: c.width }, (_, i) => Math.sin(w + i / 9)),
      ),
    }));
    const runWith = (r: Runner) => (w: number) => r.run({ model, inputs: inputs[w]! });
    await closedLoop(runWith(off), 1, 0.2);
    for (const inFlight of IN_FLIGHT) {
      const a: number[] = [];
      const b: number[] = [];
      const before = { ...on.batcher.stats };
      for (let r = 0; r < ROUNDS; r++) {
        if (r % 2 === 0) {
          a.push(await closedLoop(runWith(off), inFlight, SECONDS));
          b.push(await closedLoop(runWith(on), inFlight, SECONDS));
        } else {
          b.push(await closedLoop(runWith(on), inFlight, SECONDS));
          a.push(await closedLoop(runWith(off), inFlight, SECONDS));
        }
      }
      const batches = on.batcher.stats.batches - before.batches;
      const perBatch = batches > 0 ? (on.batcher.stats.batchedTasks - before.batchedTasks) / batches : 1;
      console.log(
        `${c.name.padEnd(40)} ${String(inFlight).padStart(3)} in flight   off ${median(a).toFixed(0).padStart(7)} tasks/s   on ${median(b).toFixed(0).padStart(7)} tasks/s   ×${(median(b) / median(a)).toFixed(2)}   ${perBatch.toFixed(1)} tasks/batch`,
      );
    }
  }
  await cache.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
