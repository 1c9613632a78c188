/**
 * Provider overhead: bare onnxruntime-node `session.run` vs the provider's runner path
 * (wire tensor in → ort → wire tensor out, session from the model cache), on the 784-512-256-10
 * MLP (batch 1) and the small CNN. Prints inferences/s of both and the fraction (goal ≥ 95%).
 *
 *   npx tsx bench/provider-throughput.ts [--seconds 0.25] [--rounds 21] [--threads N]
 *
 * --threads sets onnxruntime's intra-op threads for both paths (default: onnxruntime's own choice).
 *
 * Short rounds alternate bare/runner so background load hits both alike; reported are the median
 * inferences/s of each and the median of the per-pair ratios (robust on a shared, busy machine).
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import ort from "onnxruntime-node";
import { ModelCache, Runner, ortToWire, quietOrtLogs, wireToOrt } from "@stun/provider-native";
import { buildMlp, buildSmallCnn, wireTensor } from "@stun/testkit";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "0.25" }, rounds: { type: "string", default: "21" }, threads: { type: "string" } } });
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const sessionOptions: ort.InferenceSession.SessionOptions = values.threads ? { intraOpNumThreads: Number(values.threads) } : {};

quietOrtLogs();

interface Case {
  name: string;
  bytes: Uint8Array;
  inputName: string;
  dims: number[];
}

const cases: Case[] = [
  { name: "MLP 784-512-256-10, batch 1", bytes: buildMlp({ inputSize: 784, hidden: [512, 256], outputSize: 10, seed: 1, batch: 1 }).bytes, inputName: "x", dims: [1, 784] },
  { name: "small CNN 1x1x8x8", bytes: buildSmallCnn({ seed: 1 }).bytes, inputName: "image", dims: [1, 1, 8, 8] },
];

async function timed(fn: () => Promise<unknown>, seconds: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    // batches of 50 keep the clock out of the measurement
    for (let i = 0; i < 20; i++) await fn();
    n += 20;
  }
  return n / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(path.join(os.tmpdir(), "stun-bench-"));
try {
  for (const c of cases) await writeFile(path.join(dir, `${createHash("sha256").update(c.bytes).digest("hex")}.onnx`), c.bytes);
  // The server URL is never used: every model is already in the cache directory.
  const cache = await ModelCache.open({ server: "http://127.0.0.1:9", apiKey: "unused", dir, maxBytes: 1 << 30, sessionOptions });
  const runner = new Runner(cache);

  console.log(
    `provider throughput (${os.cpus()[0]?.model.trim()}, ${os.availableParallelism()} cores, onnxruntime-node ${ort.env.versions.common}, CPU EP, intra-op threads: ${values.threads ?? "default"})`,
  );
  console.log(`${ROUNDS} alternating rounds of ${SECONDS}s each; median inferences/s\n`);
  for (const c of cases) {
    const sha256 = createHash("sha256").update(c.bytes).digest("hex");
    const model = { sha256, url: "/unused", sizeBytes: c.bytes.byteLength };
    const count = c.dims.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.1));

    const bare = await ort.InferenceSession.create(c.bytes, { ...sessionOptions, executionProviders: ["cpu"] });
    const bareRun = () => bare.run({ [c.inputName]: new ort.Tensor("float32", x, c.dims) });
    // What arrives from socket.io: a Buffer with the raw little-endian bytes.
    const wire = { ...wireTensor("float32", c.dims, x), data: Buffer.from(x.buffer) };
    const runnerRun = () => runner.run({ model, inputs: { [c.inputName]: wire } });

    // Same answer both ways.
    const a = (await bareRun())[bare.outputNames[0]!]!.data as Float32Array;
    const b = (await runnerRun()).outputs[bare.outputNames[0]!]!;
    const bv = new Float32Array(new Uint8Array(b.data as Uint8Array).buffer);
    if (a.length !== bv.length || a.some((v, i) => v !== bv[i])) throw new Error(`${c.name}: runner output differs from bare session`);

    await timed(bareRun, 0.3);
    await timed(runnerRun, 0.3);
    const bareIps: number[] = [];
    const runnerIps: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // alternate which goes first, so neither always follows the other
      if (r % 2 === 0) {
        bareIps.push(await timed(bareRun, SECONDS));
        runnerIps.push(await timed(runnerRun, SECONDS));
      } else {
        runnerIps.push(await timed(runnerRun, SECONDS));
        bareIps.push(await timed(bareRun, SECONDS));
      }
    }
    const bm = median(bareIps);
    const rm_ = median(runnerIps);
    const ratios = bareIps.map((v, i) => runnerIps[i]! / v);
    console.log(c.name);
    console.log(`  bare session.run : ${bm.toFixed(0).padStart(7)} inf/s  (${(1000 / bm).toFixed(4)} ms)`);
    console.log(`  provider runner  : ${rm_.toFixed(0).padStart(7)} inf/s  (${(1000 / rm_).toFixed(4)} ms)`);
    const q = [...ratios].sort((x, y) => x - y);
    console.log(
      `  fraction         : ${(median(ratios) * 100).toFixed(1)}% (median of ${ROUNDS} paired rounds; quartiles ${(q[Math.floor(ROUNDS / 4)]! * 100).toFixed(0)}–${(q[Math.floor((3 * ROUNDS) / 4)]! * 100).toFixed(0)}%)  goal ≥ 95%`,
    );
    // The runner's own work per call, without the inference: cache lookup, wire → ort, ort → wire.
    const out = (await bareRun())[bare.outputNames[0]!]!;
    const N = 100_000;
    for (let i = 0; i < 50_000; i++) (await cache.acquire(model)).release();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const lease = await cache.acquire(model);
      wireToOrt(c.inputName, wire);
      ortToWire("y", out);
      lease.release();
    }
    const overheadUs = ((performance.now() - t0) / N) * 1000;
    const bareUs = 1e6 / bm;
    console.log(
      `  runner overhead  : ${overheadUs.toFixed(2)} µs/call (measured alone) = ${((overheadUs / bareUs) * 100).toFixed(2)}% of a bare inference → expected fraction ${((bareUs / (bareUs + overheadUs)) * 100).toFixed(1)}%\n`,
    );
    await bare.release();
  }
  await cache.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
