// The runner: wire tensors in → onnxruntime → wire tensors out, on every testkit model.
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DTYPES, type WireTensor } from "@stun/shared";
import { buildIdentityModel, buildMlp, buildMultiIO, buildSmallCnn, sampleTensor, sileroVadInputs, sileroVadPath, wireTensor } from "@stun/testkit";
import { ProviderError } from "@stun/provider-core";
import { createFault } from "../src/faults";
import { ModelCache } from "../src/model-cache";
import { Runner } from "../src/runner";
import { type ModelServer, startModelServer } from "./support/model-server";
import { bytesOf, decode, f32, maxAbsDiff } from "./support/tensors";

let server: ModelServer;
let dir: string;
let cache: ModelCache;
let runner: Runner;

beforeAll(async () => {
  server = await startModelServer();
  dir = await mkdtemp(path.join(os.tmpdir(), "stun-runner-"));
  cache = await ModelCache.open({ server: server.url, apiKey: server.apiKey, dir, maxBytes: 256 * 1024 * 1024 });
  runner = new Runner(cache);
});

afterAll(async () => {
  await cache.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const codeOf = (e: unknown) => (e instanceof ProviderError ? e.code : `not a ProviderError: ${String(e)}`);

describe("Runner", () => {
  it("MLP 784-512-256-10: outputs match the reference; second run uses the cached session", async () => {
    const mlp = buildMlp({ inputSize: 784, hidden: [512, 256], outputSize: 10, seed: 11 });
    const model = server.add("mlp", mlp.bytes);
    const x = Float32Array.from({ length: 2 * 784 }, (_, i) => Math.cos(i / 7));
    const first = await runner.run({ model, inputs: { x: wireTensor("float32", [2, 784], x) } });
    expect(first.outputs.y!.dtype).toBe("float32");
    expect(first.outputs.y!.dims).toEqual([2, 10]);
    expect(maxAbsDiff(f32(first.outputs.y!), mlp.forward(x, 2))).toBeLessThan(1e-5);
    expect(first.timings.fetchMs).toBeGreaterThan(0);
    expect(first.timings.loadMs).toBeGreaterThan(0);
    expect(first.timings.runMs).toBeGreaterThan(0);

    const second = await runner.run({ model, inputs: { x: wireTensor("float32", [2, 784], x) } });
    expect(second.timings.fetchMs).toBe(0);
    expect(second.timings.loadMs).toBe(0);
    expect(f32(second.outputs.y!)).toEqual(f32(first.outputs.y!));
    expect(server.countFor("mlp")).toBe(1);
  });

  it("with maxBatch, tasks of one model that wait for each other share an inference and say so in their timings", async () => {
    const mlp = buildMlp({ inputSize: 8, hidden: [16], outputSize: 3, seed: 3 });
    const model = server.add("mlp-batched", mlp.bytes);
    const batching = new Runner(cache, { maxBatch: 8 });
    await batching.run({ model, inputs: { x: wireTensor("float32", [1, 8], new Float32Array(8)) } }); // fetched and loaded
    const xs = Array.from({ length: 5 }, (_, k) => Float32Array.from({ length: 8 }, (_, i) => Math.cos(k + i / 5)));
    const outs = await Promise.all(xs.map((x) => batching.run({ model, inputs: { x: wireTensor("float32", [1, 8], x) } })));
    expect(outs.map((o) => o.timings.batch)).toEqual([undefined, 4, 4, 4, 4]);
    outs.forEach((o, k) => {
      expect(o.outputs.y!.dims).toEqual([1, 3]);
      expect(maxAbsDiff(f32(o.outputs.y!), mlp.forward(xs[k]!, 1))).toBeLessThan(1e-5);
    });
    expect(batching.batcher.stats).toMatchObject({ batches: 1, batchedTasks: 4 });
  });

  it("small CNN: logits match the reference", async () => {
    const cnn = buildSmallCnn({ seed: 5 });
    const model = server.add("cnn", cnn.bytes);
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.7));
    const { outputs } = await runner.run({ model, inputs: { image: wireTensor("float32", [1, 1, 8, 8], x) } });
    expect(outputs.logits!.dims).toEqual([1, 10]);
    expect(maxAbsDiff(f32(outputs.logits!), cnn.forward(x))).toBeLessThan(1e-5);
  });

  it.each(DTYPES.map((d) => [d]))("identity model for %s returns its input byte for byte", async (dtype) => {
    const model = server.add(`id-${dtype}`, buildIdentityModel(dtype, [2, 3]).bytes);
    const x = sampleTensor(dtype, [2, 3], 17);
    const { outputs } = await runner.run({ model, inputs: { x } });
    const y = outputs.y!;
    expect(y.dtype).toBe(dtype);
    expect(y.dims).toEqual([2, 3]);
    if (dtype === "string") expect(y.data).toEqual(x.data);
    else {
      expect(y.data).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(bytesOf(y)).equals(Buffer.from(bytesOf(x)))).toBe(true);
    }
  });

  it("scalars and empty tensors pass through", async () => {
    const scalar = server.add("id-scalar", buildIdentityModel("int64", []).bytes);
    const r1 = await runner.run({ model: scalar, inputs: { x: wireTensor("int64", [], BigInt64Array.of(-5n)) } });
    expect(r1.outputs.y!.dims).toEqual([]);
    expect(Array.from(decode(r1.outputs.y!) as BigInt64Array)).toEqual([-5n]);
    const empty = server.add("id-empty", buildIdentityModel("float32", ["n", 3]).bytes);
    const r2 = await runner.run({ model: empty, inputs: { x: wireTensor("float32", [0, 3], new Float32Array(0)) } });
    expect(r2.outputs.y!.dims).toEqual([0, 3]);
    expect(bytesOf(r2.outputs.y!).byteLength).toBe(0);
  });

  it("unaligned input bytes (e.g. a Buffer slice off the wire) are handled", async () => {
    const model = server.add("id-f64", buildIdentityModel("float64", [2, 3]).bytes);
    const x = sampleTensor("float64", [2, 3], 3);
    const shifted = new Uint8Array(bytesOf(x).byteLength + 1).subarray(1);
    shifted.set(bytesOf(x));
    const { outputs } = await runner.run({ model, inputs: { x: { ...x, data: shifted } } });
    expect(Array.from(decode(outputs.y!) as Float64Array)).toEqual(Array.from(decode(x) as Float64Array));
    // A Buffer at an odd offset in a larger pool (what socket.io hands over): Buffer#slice is a view.
    const pool = Buffer.alloc(bytesOf(x).byteLength + 13, 0xee);
    const inPool = pool.subarray(5, 5 + bytesOf(x).byteLength);
    inPool.set(bytesOf(x));
    const again = await runner.run({ model, inputs: { x: { ...x, data: inPool } } });
    expect(Array.from(decode(again.outputs.y!) as Float64Array)).toEqual(Array.from(decode(x) as Float64Array));
  });

  it("multi-IO model: three inputs of two dtypes, three outputs of three dtypes", async () => {
    const m = buildMultiIO();
    const model = server.add("multi", m.bytes);
    const a = Float32Array.of(1, -2, 3.5, 4, 5, 6);
    const b = Float32Array.of(0.5, 5, 3.5, -3, 2, 7);
    const c = BigInt64Array.of(7n, -1n, 0n, 123456789012n);
    const { outputs } = await runner.run({
      model,
      inputs: { a: wireTensor("float32", [2, 3], a), b: wireTensor("float32", [2, 3], b), c: wireTensor("int64", [4], c) },
    });
    const ref = m.forward({ a, b, c });
    expect(Object.keys(outputs).sort()).toEqual(["a_gt_b", "c_f64", "sum"]);
    expect(outputs.sum!.dtype).toBe("float32");
    expect(f32(outputs.sum!)).toEqual(Array.from(ref.sum));
    expect(outputs.c_f64!.dtype).toBe("float64");
    expect(Array.from(decode(outputs.c_f64!) as Float64Array)).toEqual(Array.from(ref.c_f64));
    expect(outputs.a_gt_b!.dtype).toBe("bool");
    expect(Array.from(decode(outputs.a_gt_b!) as Uint8Array)).toEqual(Array.from(ref.a_gt_b));
  });

  it("Silero VAD v5 (a real model shipped in npm) runs", async () => {
    const model = server.add("vad", new Uint8Array(readFileSync(sileroVadPath())));
    const { outputs } = await runner.run({ model, inputs: sileroVadInputs() });
    const p = f32(outputs.output!)[0]!;
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
    expect(outputs.stateN!.dims).toEqual([2, 1, 128]);
  });

  describe("errors carry codes for task:error", () => {
    it("input bytes that do not fit the dims → INPUT_INVALID", async () => {
      const model = server.add("id-f32", buildIdentityModel("float32", [2, 3]).bytes);
      const bad: WireTensor = { dtype: "float32", dims: [2, 3], data: new Uint8Array(20) };
      expect(codeOf(await runner.run({ model, inputs: { x: bad } }).catch((e) => e))).toBe("INPUT_INVALID");
    });

    it("bool bytes other than 0/1 → INPUT_INVALID", async () => {
      const model = server.add("id-bool", buildIdentityModel("bool", [2]).bytes);
      const err = await runner.run({ model, inputs: { x: { dtype: "bool", dims: [2], data: Uint8Array.of(1, 7) } } }).catch((e) => e);
      expect(codeOf(err)).toBe("INPUT_INVALID");
    });

    it("an input the model does not have → INPUT_INVALID", async () => {
      const model = server.add("id-f32", buildIdentityModel("float32", [2, 3]).bytes);
      const err = await runner.run({ model, inputs: { x: sampleTensor("float32", [2, 3]), z: sampleTensor("float32", [1]) } }).catch((e) => e);
      expect(codeOf(err)).toBe("INPUT_INVALID");
      expect((err as Error).message).toMatch(/"z" is not an input/);
    });

    it("wrong shape, wrong dtype or a missing input → RUN_FAILED with onnxruntime's reason", async () => {
      const model = server.add("id-f32", buildIdentityModel("float32", [2, 3]).bytes);
      const shape = await runner.run({ model, inputs: { x: sampleTensor("float32", [3, 2]) } }).catch((e) => e);
      expect(codeOf(shape)).toBe("RUN_FAILED");
      expect((shape as Error).message).toMatch(/dimensions/i);
      const dtype = await runner.run({ model, inputs: { x: sampleTensor("int32", [2, 3]) } }).catch((e) => e);
      expect(codeOf(dtype)).toBe("RUN_FAILED");
      const missing = await runner.run({ model, inputs: {} }).catch((e) => e);
      expect(codeOf(missing)).toBe("RUN_FAILED");
    });

    it("bytes that are not an ONNX model → MODEL_LOAD_FAILED", async () => {
      const model = server.add("junk", new TextEncoder().encode("this is not a model"));
      expect(codeOf(await runner.run({ model, inputs: {} }).catch((e) => e))).toBe("MODEL_LOAD_FAILED");
    });

    it("a model served with other bytes than its sha256 → MODEL_HASH_MISMATCH", async () => {
      const good = buildIdentityModel("int8", [1]).bytes;
      const model = server.add("tampered", good, { body: buildIdentityModel("int16", [1]).bytes });
      expect(codeOf(await runner.run({ model, inputs: {} }).catch((e) => e))).toBe("MODEL_HASH_MISMATCH");
    });

    it("an unknown model → MODEL_FETCH_FAILED", async () => {
      const model = { sha256: "0".repeat(64), url: "/api/v1/models/nope/file", sizeBytes: 10 };
      expect(codeOf(await runner.run({ model, inputs: {} }).catch((e) => e))).toBe("MODEL_FETCH_FAILED");
    });
  });

  it("the TEST-ONLY perturb fault changes float outputs and leaves others alone", async () => {
    const faulty = new Runner(cache, { fault: createFault("perturb", 1) });
    const m = buildMultiIO();
    const model = server.add("multi", m.bytes);
    const inputs = {
      a: wireTensor("float32", [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6)),
      b: wireTensor("float32", [2, 3], Float32Array.of(1, 1, 1, 1, 1, 1)),
      c: wireTensor("int64", [4], BigInt64Array.of(1n, 2n, 3n, 4n)),
    };
    const honest = await runner.run({ model, inputs });
    const cheat = await faulty.run({ model, inputs });
    const d = maxAbsDiff(f32(cheat.outputs.sum!), f32(honest.outputs.sum!));
    expect(d).toBeGreaterThan(1e-3);
    expect(Array.from(decode(cheat.outputs.c_f64!) as Float64Array)).not.toEqual(Array.from(decode(honest.outputs.c_f64!) as Float64Array));
    expect(Buffer.from(bytesOf(cheat.outputs.a_gt_b!)).equals(Buffer.from(bytesOf(honest.outputs.a_gt_b!)))).toBe(true);
  });
});
