// Dynamic batching on real onnxruntime sessions: tasks of one model that wait for each other run as
// one inference, each gets exactly its own rows back, and a model whose rows mix is never batched.
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GraphBuilder, attr, buildMlp, buildSoftmaxModel } from "@stun/testkit";
import { ProviderError } from "@stun/provider-core";
import { InferenceBatcher, isBatchable, stackKey } from "../src/batching";

const run = (session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) => session.run(feeds);
const f32 = (t: ort.Tensor) => Array.from(t.data as Float32Array);
const input = (rows: number, seed: number, width = 16) =>
  new ort.Tensor(
    "float32",
    Float32Array.from({ length: rows * width }, (_, i) => Math.sin(seed * 31 + i / 3)),
    [rows, width],
  );

/** y = x − mean(x over the batch): a symbolic batch dimension whose rows influence each other. */
function batchMixingModel(): Uint8Array {
  const g = new GraphBuilder("batch_mixing");
  g.input("x", "float32", ["N", 16]);
  const mean = g.op("ReduceMean", ["x"], { axes: attr.ints([0]), keepdims: attr.int(1) });
  g.op("Sub", ["x", mean], {}, "y");
  g.output("y", "float32", ["N", 16]);
  return g.build();
}

let mlp: ort.InferenceSession;
const mlpModel = buildMlp({ inputSize: 16, hidden: [32], outputSize: 4, seed: 5 });

beforeAll(async () => {
  mlp = await ort.InferenceSession.create(mlpModel.bytes);
});
afterAll(async () => {
  await mlp?.release();
});

describe("batchability", () => {
  it("needs a symbolic first dimension on every input and output", async () => {
    expect(isBatchable(mlp)).toBe(true);
    const fixed = await ort.InferenceSession.create(buildSoftmaxModel()); // x: [1, 4]
    try {
      expect(isBatchable(fixed)).toBe(false);
    } finally {
      await fixed.release();
    }
  });

  it("stacks only tasks that agree on dtype and every dimension after the first", () => {
    const a = stackKey({ x: input(1, 1) });
    const b = stackKey({ x: input(3, 2) });
    expect(a?.rows).toBe(1);
    expect(b?.rows).toBe(3);
    expect(a?.key).toBe(b?.key);
    expect(stackKey({ x: input(1, 1, 8) })?.key).not.toBe(a?.key);
    expect(stackKey({ x: new ort.Tensor("float64", new Float64Array(16), [1, 16]) })?.key).not.toBe(a?.key);
    expect(stackKey({ x: new ort.Tensor("string", ["a"], [1]) })).toBeUndefined();
    expect(stackKey({ x: new ort.Tensor("float32", new Float32Array(0), [0, 16]) })).toBeUndefined();
  });
});

describe("InferenceBatcher", () => {
  it("tasks that wait for a running inference share the next one; each gets its own rows, equal to running alone", async () => {
    const batcher = new InferenceBatcher(ort.Tensor, run, 16);
    const inputs = Array.from({ length: 9 }, (_, i) => input(1 + (i % 3), i));
    const together = await Promise.all(inputs.map((x) => batcher.run(mlp, { x })));
    // The first ran at once, alone; the eight that queued behind it ran as one inference.
    expect(together.map((r) => r.batch)).toEqual([1, 8, 8, 8, 8, 8, 8, 8, 8]);
    expect(batcher.stats).toMatchObject({ batches: 1, batchedTasks: 8, refusedModels: 0 });
    for (const [i, x] of inputs.entries()) {
      const got = together[i]!.results.y!;
      expect(got.dims).toEqual([x.dims[0], 4]);
      const expected = mlpModel.forward(x.data as Float32Array, x.dims[0]!);
      f32(got).forEach((v, j) => expect(Math.abs(v - expected[j]!)).toBeLessThan(1e-5));
      const alone = (await mlp.run({ x })).y!;
      expect(f32(got)).toEqual(f32(alone));
    }
  });

  it("never takes more than maxBatch tasks into one inference", async () => {
    const batcher = new InferenceBatcher(ort.Tensor, run, 3);
    const out = await Promise.all(Array.from({ length: 7 }, (_, i) => batcher.run(mlp, { x: input(1, i) })));
    expect(out.map((r) => r.batch)).toEqual([1, 3, 3, 3, 3, 3, 3]);
  });

  it("maxBatch 1 runs every task alone", async () => {
    const batcher = new InferenceBatcher(ort.Tensor, run, 1);
    const out = await Promise.all(Array.from({ length: 4 }, (_, i) => batcher.run(mlp, { x: input(1, i) })));
    expect(out.map((r) => r.batch)).toEqual([1, 1, 1, 1]);
    expect(batcher.stats.batches).toBe(0);
  });

  it("a task whose input does not fit the model fails alone; the tasks queued with it are answered", async () => {
    const batcher = new InferenceBatcher(ort.Tensor, (s, f) => s.run(f).catch((e) => Promise.reject(new ProviderError("RUN_FAILED", String(e)))), 8);
    const good = [0, 1, 2].map((i) => input(1, i));
    const runs = [batcher.run(mlp, { x: good[0]! }), batcher.run(mlp, { x: input(1, 9, 5) }), batcher.run(mlp, { x: good[1]! }), batcher.run(mlp, { x: good[2]! })];
    const settled = await Promise.allSettled(runs);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(ProviderError);
    for (const [i, at] of [0, 2, 3].entries()) {
      const r = (settled[at] as PromiseFulfilledResult<Awaited<(typeof runs)[0]>>).value;
      expect(f32(r.results.y!)).toEqual(f32((await mlp.run({ x: good[i]! })).y!));
    }
  });

  it("a model whose rows influence each other is caught on its first batch and never batched again", async () => {
    const mixing = await ort.InferenceSession.create(batchMixingModel());
    try {
      expect(isBatchable(mixing)).toBe(true); // its signature alone would allow it
      const batcher = new InferenceBatcher(ort.Tensor, run, 8);
      const inputs = Array.from({ length: 4 }, (_, i) => input(2, i));
      const out = await Promise.all(inputs.map((x) => batcher.run(mixing, { x })));
      expect(out.map((r) => r.batch)).toEqual([1, 1, 1, 1]);
      expect(batcher.stats).toMatchObject({ batches: 0, refusedModels: 1 });
      for (const [i, x] of inputs.entries()) expect(f32(out[i]!.results.y!)).toEqual(f32((await mixing.run({ x })).y!));
      const later = await Promise.all(inputs.map((x) => batcher.run(mixing, { x })));
      expect(later.map((r) => r.batch)).toEqual([1, 1, 1, 1]);
      expect(batcher.stats.refusedModels).toBe(1);
    } finally {
      await mixing.release();
    }
  });
});
