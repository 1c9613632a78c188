import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_TOLERANCES, compareTensorMaps, toTypedArray, type RawTensor } from "@stun/shared";
import { GraphBuilder, buildIdentityModel, buildMlp, buildMultiIO, buildSmallCnn, mulberry32, sileroVadInputs, sileroVadPath, uniformF32 } from "@stun/testkit";
import { readModelSignature } from "../../src/models/signature";
import { MAX_REL_TOLERANCE, SAME_BACKEND_FACTOR, calibrateModel } from "../../src/onnx/calibrate";
import { compareOptionsFor, type Calibration } from "../../src/models/calibration";
import { REFERENCE_SESSION_CACHE_SIZE, randomInputs, releaseReferenceSessions, runReference, seededRng } from "../../src/onnx/reference-run";

const calibrate = (bytes: Uint8Array): Promise<Calibration> => calibrateModel(bytes, readModelSignature(bytes));

/** A deep chain h = Tanh(h·W) with large weights: chaotic, so low-bit input noise grows layer by layer. */
function buildSensitiveModel(): Uint8Array {
  const size = 16;
  const rand = mulberry32(99);
  const g = new GraphBuilder("sensitive");
  let h = g.input("x", "float32", [1, size]);
  const w = g.initializer("W", "float32", [size, size], uniformF32(rand, size * size, 4 / Math.sqrt(size)));
  for (let i = 0; i < 20; i++) h = g.op("Tanh", [g.op("MatMul", [h, w])]);
  g.op("Identity", [h], {}, "y");
  g.output("y", "float32", [1, size]);
  return g.build();
}

/** Reshapes an [N] input to [3]: random inputs have N = 1, so every run fails. */
function buildAlwaysFailing(): Uint8Array {
  const g = new GraphBuilder("always_failing");
  g.input("x", "float32", ["N"]);
  const shape = g.initializer("shape", "int64", [1], BigInt64Array.of(3n));
  g.op("Reshape", ["x", shape], {}, "y");
  g.output("y", "float32", [3]);
  return g.build();
}

/** A fresh, uncached onnxruntime session: the known answer must match an independent run. */
async function freshRun(bytes: Uint8Array, inputs: Record<string, RawTensor>): Promise<Record<string, RawTensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, raw] of Object.entries(inputs)) {
      const t = toTypedArray(raw, name);
      feeds[name] = new ort.Tensor(t.dtype, t.data as never, t.dims);
    }
    const results = await session.run(feeds);
    const out: Record<string, RawTensor> = {};
    for (const name of session.outputNames) {
      const t = results[name]!;
      const d = t.data as ArrayBufferView;
      out[name] = { dtype: t.type as RawTensor["dtype"], dims: [...t.dims], data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice() };
    }
    return out;
  } finally {
    await session.release();
  }
}

afterAll(() => releaseReferenceSessions());

describe("calibrateModel", () => {
  it("calibrates a small MLP and CNN: tolerance at least the default, finite drift, cross-backend quorums", async () => {
    for (const bytes of [buildMlp({ inputSize: 16, hidden: [32, 32], outputSize: 8 }).bytes, buildSmallCnn().bytes]) {
      const c = await calibrate(bytes);
      expect(c.status).toBe("calibrated");
      expect(c.tolerance.abs).toBeGreaterThanOrEqual(DEFAULT_TOLERANCES.float32.abs);
      expect(c.tolerance.rel).toBeGreaterThanOrEqual(DEFAULT_TOLERANCES.float32.rel);
      expect(Number.isFinite(c.drift)).toBe(true);
      expect(c.drift).toBeGreaterThan(0);
      expect(c.sameBackendQuorum).toBe(false);
      expect(JSON.parse(JSON.stringify(c))).toEqual(c);
    }
  });

  it("is reproducible for the same seed", async () => {
    const { bytes } = buildMlp({ inputSize: 8, hidden: [16], outputSize: 4 });
    expect(await calibrate(bytes)).toEqual(await calibrate(bytes));
  });

  it("gives integer outputs an exact tolerance and zero drift", async () => {
    for (const dtype of ["int32", "int64", "uint8", "bool"] as const) {
      const c = await calibrate(buildIdentityModel(dtype, ["N", 4]).bytes);
      expect(c).toEqual({ status: "calibrated", tolerance: { abs: 0, rel: 0 }, drift: 0, sameBackendQuorum: false });
    }
  });

  it("keeps the dtype default for float16 and float64 outputs that only carry their inputs' rounding", async () => {
    for (const dtype of ["float16", "float64"] as const) {
      const c = await calibrate(buildIdentityModel(dtype, ["N", 16]).bytes);
      expect(c.status).toBe("calibrated");
      expect(c.tolerance).toEqual(DEFAULT_TOLERANCES[dtype]);
      expect(c.sameBackendQuorum).toBe(false);
    }
  });

  it("measures only the float outputs of a mixed model", async () => {
    const c = await calibrate(buildMultiIO().bytes);
    expect(c.status).toBe("calibrated");
    expect(c.sameBackendQuorum).toBe(false);
    // float64 c_f64 is a cast of int64 input: no drift; float32 sum = a + b drifts like its inputs.
    expect(c.tolerance.rel).toBeGreaterThanOrEqual(DEFAULT_TOLERANCES.float32.rel);
  });

  it("raises the tolerance of a sensitive model and keeps its quorums inside one backend class", async () => {
    const sensitive = await calibrate(buildSensitiveModel());
    const mlp = await calibrate(buildMlp({ inputSize: 16, hidden: [32, 32], outputSize: 8 }).bytes);
    expect(sensitive.status).toBe("calibrated");
    expect(sensitive.tolerance.rel).toBeGreaterThan(SAME_BACKEND_FACTOR * DEFAULT_TOLERANCES.float32.rel);
    expect(sensitive.tolerance.rel).toBeLessThanOrEqual(MAX_REL_TOLERANCE);
    expect(sensitive.tolerance.rel).toBeGreaterThan(mlp.tolerance.rel);
    expect(sensitive.sameBackendQuorum).toBe(true);
    expect(mlp.sameBackendQuorum).toBe(false);
  });

  it("fails cleanly for Silero VAD on random inputs, and calibrates it on valid examples", async () => {
    const bytes = new Uint8Array(readFileSync(sileroVadPath()));
    const random = await calibrate(bytes);
    // One sample of audio (the symbolic length becomes 1) and a random `sr` are not inputs Silero takes.
    expect(random).toMatchObject({ status: "failed", tolerance: DEFAULT_TOLERANCES.float32, drift: 0, sameBackendQuorum: true });
    expect(random.reason).toMatch(/does not run on random inputs/);

    const examples = [1, 2, 3, 4].map((seed) => sileroVadInputs({ seed }) as Record<string, RawTensor>);
    const c = await calibrateModel(bytes, readModelSignature(bytes), { examples });
    expect(c.status).toBe("calibrated");
    expect(c.drift).toBeGreaterThan(0);
    expect(c.tolerance.rel).toBeGreaterThanOrEqual(DEFAULT_TOLERANCES.float32.rel);
  });

  it("fails cleanly, with the default tolerance, for a model that cannot run on random inputs", async () => {
    const c = await calibrate(buildAlwaysFailing());
    expect(c.status).toBe("failed");
    expect(c.reason).toMatch(/does not run on random inputs/);
    expect(c.tolerance).toEqual(DEFAULT_TOLERANCES.float32);
    // Unknown drift: replicas must share a backend class.
    expect(c.sameBackendQuorum).toBe(true);
  });
});

describe("randomInputs", () => {
  it("matches the signature: unknown dims are 1, values in range", () => {
    const inputs = randomInputs(
      [
        { name: "f", dtype: "float32", shape: ["N", 3, -1] },
        { name: "i", dtype: "int64", shape: [5] },
        { name: "b", dtype: "bool", shape: [4] },
        { name: "s", dtype: "string", shape: [2] },
        { name: "h", dtype: "float16", shape: [2] },
      ],
      seededRng(5),
    );
    expect(inputs.f!.dims).toEqual([1, 3, 1]);
    const f = toTypedArray(inputs.f!).data as Float32Array;
    expect([...f].every((v) => v >= -1 && v <= 1)).toBe(true);
    const i = toTypedArray(inputs.i!).data as BigInt64Array;
    expect([...i].every((v) => v >= 0n && v <= 3n)).toBe(true);
    expect((inputs.b!.data as Uint8Array).every((v) => v <= 1)).toBe(true);
    expect(inputs.s!.data).toHaveLength(2);
    expect(inputs.h!.data).toHaveLength(4);
  });
});

describe("compareOptionsFor", () => {
  it("uses the defaults without a calibration, and never goes below a dtype's default", () => {
    expect(compareOptionsFor(null, true)).toEqual({ argmax: true });
    const failed: Calibration = { status: "failed", tolerance: { abs: 1, rel: 1 }, drift: 0, sameBackendQuorum: false, reason: "x" };
    expect(compareOptionsFor(failed)).toEqual({ argmax: false });
    const opts = compareOptionsFor({ status: "calibrated", tolerance: { abs: 4e-4, rel: 4e-3 }, drift: 1e-3, sameBackendQuorum: false });
    expect(opts.tolerance).toMatchObject({ float32: { abs: 4e-4, rel: 4e-3 }, float16: DEFAULT_TOLERANCES.float16 });
  });
});

describe("runReference", () => {
  it("answers as a fresh onnxruntime session does, within the model's calibrated tolerance", async () => {
    for (const bytes of [buildMlp({ inputSize: 16, hidden: [32], outputSize: 8 }).bytes, buildSmallCnn().bytes, buildMultiIO().bytes]) {
      const signature = readModelSignature(bytes);
      const inputs = randomInputs(signature.inputs, seededRng(42));
      const answer = await runReference(bytes, inputs);
      const fresh = await freshRun(bytes, inputs);
      expect(compareTensorMaps(fresh, answer, compareOptionsFor(await calibrateModel(bytes, signature))).equal).toBe(true);
    }
  });

  it("keeps working past the session cache's size, with runs in flight while sessions are evicted", async () => {
    const models = Array.from({ length: REFERENCE_SESSION_CACHE_SIZE + 4 }, (_, i) => buildMlp({ inputSize: 4, hidden: [4], outputSize: 2, seed: i + 1 }).bytes);
    const inputs = models.map((bytes) => randomInputs(readModelSignature(bytes).inputs, seededRng(7)));
    const answers = await Promise.all(models.map((bytes, i) => runReference(bytes, inputs[i]!)));
    const again = await Promise.all(models.map((bytes, i) => freshRun(bytes, inputs[i]!)));
    answers.forEach((a, i) => expect(compareTensorMaps(again[i]!, a).equal).toBe(true));
  });
});
