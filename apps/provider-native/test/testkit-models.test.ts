// The models @stun/testkit builds load and run in onnxruntime-node and agree with their pure-JS references.
import { describe, expect, it } from "vitest";
import ort from "onnxruntime-node";
import { DTYPES, type WireTensor } from "@stun/shared";
import { buildIdentityModel, buildMlp, buildMultiIO, buildSlowModel, buildSmallCnn, sampleTensor, sileroVadInputs, sileroVadPath, onnx } from "@stun/testkit";
import { decode, maxAbsDiff } from "./support/tensors";

/** A wire tensor as an ort.Tensor (the bytes copied into an aligned typed array by the test support's decoder). */
const ortTensor = (t: WireTensor): ort.Tensor => new ort.Tensor(t.dtype, decode(t) as never, t.dims);

describe("testkit models in onnxruntime-node", () => {
  it.each([1, 4])("MLP 784-512-256-10 (batch %i) matches forward within 1e-5", async (batch) => {
    const mlp = buildMlp({ inputSize: 784, hidden: [512, 256], outputSize: 10, seed: 42 });
    const session = await ort.InferenceSession.create(mlp.bytes);
    const x = Float32Array.from({ length: 784 * batch }, (_, i) => Math.sin(i * 0.37));
    const out = await session.run({ [mlp.inputName]: new ort.Tensor("float32", x, [batch, 784]) });
    const y = out[mlp.outputName]!;
    expect(y.dims).toEqual([batch, 10]);
    expect(maxAbsDiff(y.data as Float32Array, mlp.forward(x, batch))).toBeLessThan(1e-5);
  });

  it("MLP with a fixed batch and the same seed is byte-for-byte deterministic", () => {
    const a = buildMlp({ inputSize: 8, hidden: [4], outputSize: 2, seed: 5, batch: 2 });
    const b = buildMlp({ inputSize: 8, hidden: [4], outputSize: 2, seed: 5, batch: 2 });
    const c = buildMlp({ inputSize: 8, hidden: [4], outputSize: 2, seed: 6, batch: 2 });
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(Buffer.from(a.bytes).equals(Buffer.from(c.bytes))).toBe(false);
    expect(a.inputShape).toEqual([2, 8]);
  });

  it("small CNN matches forward within 1e-5", async () => {
    const cnn = buildSmallCnn({ seed: 3 });
    const session = await ort.InferenceSession.create(cnn.bytes);
    for (let k = 0; k < 3; k++) {
      const x = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i * 0.3 + k));
      const out = await session.run({ image: new ort.Tensor("float32", x, [1, 1, 8, 8]) });
      expect(out.logits!.dims).toEqual([1, 10]);
      expect(maxAbsDiff(out.logits!.data as Float32Array, cnn.forward(x))).toBeLessThan(1e-5);
    }
  });

  it.each(DTYPES.map((d) => [d]))("identity model for %s round-trips its input", async (dtype) => {
    const m = buildIdentityModel(dtype, [2, 3]);
    const session = await ort.InferenceSession.create(m.bytes);
    const t = sampleTensor(dtype, [2, 3], 9);
    const out = await session.run({ x: ortTensor(t) });
    const y = out.y!;
    expect(y.type).toBe(dtype);
    expect(y.dims).toEqual([2, 3]);
    if (dtype === "string") expect(y.data).toEqual(t.data);
    else {
      const d = y.data as ArrayBufferView;
      expect(Buffer.from(d.buffer, d.byteOffset, d.byteLength).equals(Buffer.from(t.data as Uint8Array))).toBe(true);
    }
  });

  it("multi-IO model: three outputs of three dtypes", async () => {
    const m = buildMultiIO();
    const session = await ort.InferenceSession.create(m.bytes);
    expect(session.inputNames).toEqual(["a", "b", "c"]);
    expect(session.outputNames).toEqual(["sum", "c_f64", "a_gt_b"]);
    const inputs = { a: Float32Array.of(1, 2, 3, 4, 5, 6.5), b: Float32Array.of(6, 5, 4, 3, 2, 1), c: BigInt64Array.of(1n, -2n, 3n, 1n << 40n) };
    const out = await session.run({
      a: new ort.Tensor("float32", inputs.a, [2, 3]),
      b: new ort.Tensor("float32", inputs.b, [2, 3]),
      c: new ort.Tensor("int64", inputs.c, [4]),
    });
    const ref = m.forward(inputs);
    expect(out.sum!.type).toBe("float32");
    expect(Array.from(out.sum!.data as Float32Array)).toEqual(Array.from(ref.sum));
    expect(out.c_f64!.type).toBe("float64");
    expect(Array.from(out.c_f64!.data as Float64Array)).toEqual(Array.from(ref.c_f64));
    expect(out.a_gt_b!.type).toBe("bool");
    expect(Array.from(out.a_gt_b!.data as Uint8Array)).toEqual(Array.from(ref.a_gt_b));
  });

  it("slow model: its work follows the target (one 512×512 MatMul per step), and it runs", async () => {
    const m = buildSlowModel(120);
    expect(m.steps).toBe(20);
    // The cost is structural (no wall-clock assertion): count the MatMuls in the graph.
    const graph = onnx.ModelProto.decode(m.bytes).graph!;
    expect(graph.node!.filter((n) => n.opType === "MatMul")).toHaveLength(20);
    const session = await ort.InferenceSession.create(m.bytes);
    const out = await session.run({ x: new ort.Tensor("float32", new Float32Array(m.size).fill(0.1), [1, m.size]) });
    expect(out.y!.dims).toEqual([1, m.size]);
    expect(Array.from(out.y!.data as Float32Array).every(Number.isFinite)).toBe(true);
  });

  it("Silero VAD v5 from @ricky0123/vad-web runs on sileroVadInputs()", async () => {
    const session = await ort.InferenceSession.create(sileroVadPath());
    expect(session.inputNames).toEqual(["input", "state", "sr"]);
    const inputs = sileroVadInputs();
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(inputs)) feeds[name] = ortTensor(t);
    const out = await session.run(feeds);
    const p = (out.output!.data as Float32Array)[0]!;
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
    expect(out.stateN!.dims).toEqual([2, 1, 128]);
  });
});
