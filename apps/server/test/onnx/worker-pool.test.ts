/**
 * The ONNX worker pool with real worker processes and real onnxruntime (started through its tsx
 * bootstrap, as in the server): results equal an in-process run, and a model over the run budget
 * — too large an input, too large an output, too long, too much memory — fails with its stable
 * code while the pool keeps serving.
 */
import { afterEach, describe, expect, it } from "vitest";
import { StunError, serializeTensorMap, compareTensorMaps, type RawTensor } from "@stun/shared";
import { buildConstantBombModel, buildLargeInputModel, buildMlp, buildSlowModel } from "@stun/testkit";
import { readModelSignature } from "../../src/models/signature";
import { DEFAULT_RUN_BUDGET } from "../../src/onnx/run-budget";
import { OnnxWorkerPool, type OnnxPoolOptions } from "../../src/onnx/worker-pool";
import { calibrateModel } from "../../src/onnx/calibrate";
import { randomInputs, releaseReferenceSessions, runReference, seededRng } from "../../src/onnx/reference-run";

const pools: OnnxWorkerPool[] = [];
function pool(opts: Partial<OnnxPoolOptions> = {}): OnnxWorkerPool {
  const p = new OnnxWorkerPool({ size: 1, heapMb: 256, timeoutMs: 20_000, maxRssMb: 4096, budget: DEFAULT_RUN_BUDGET, ...opts });
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await releaseReferenceSessions();
});

/** The StunError code a call fails with; undefined when it succeeds. */
const codeOf = async (promise: Promise<unknown>): Promise<string | undefined> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err !== undefined) expect(err).toBeInstanceOf(StunError);
  return (err as StunError | undefined)?.code;
};

const mlp = buildMlp({ inputSize: 16, hidden: [32], outputSize: 4 }).bytes;

describe("OnnxWorkerPool", () => {
  it("answers the upload check and runs as the in-process code does", async () => {
    const p = pool();
    const signature = readModelSignature(mlp);
    const checked = await p.checkUpload(mlp);
    expect(checked.signature).toEqual(signature);
    expect(checked.calibration).toEqual(await calibrateModel(mlp, signature));

    const inputs = randomInputs(signature.inputs, seededRng(3));
    const outputs = await p.run(mlp, serializeTensorMap(inputs));
    expect(compareTensorMaps(outputs, await runReference(mlp, inputs)).equal).toBe(true);
    // The caller keeps its bytes: the pool sends copies.
    expect(mlp.byteLength).toBeGreaterThan(0);
  });

  it("refuses a model whose generated input is over the budget, without running it", async () => {
    const p = pool();
    expect(await codeOf(p.checkUpload(buildLargeInputModel(5000)))).toBe("MODEL_TOO_LARGE_INPUT");
    // Same shape, a smaller budget: the cap is the configured one.
    const small = pool({ budget: { maxElements: 99, maxBytes: 2 ** 30 } });
    expect(await codeOf(small.checkUpload(buildLargeInputModel(10)))).toBe("MODEL_TOO_LARGE_INPUT");
    expect((await small.checkUpload(buildLargeInputModel(9))).calibration.status).toBe("calibrated");
  });

  it("refuses a run whose outputs are over the budget (a constant-building model), and still serves after", async () => {
    // A 1100×1100 constant against a 1 Mi-element budget: the same check the default budget makes
    // of an 8000×8000 one, at a size that runs in a blink.
    const p = pool({ budget: { maxElements: 2 ** 20, maxBytes: 2 ** 30 } });
    const bomb = buildConstantBombModel(1100);
    const x = serializeTensorMap({ x: { dtype: "float32", dims: [1], data: new Uint8Array(4) } });
    expect(await codeOf(p.checkUpload(bomb))).toBe("MODEL_TOO_COSTLY");
    expect(await codeOf(p.run(bomb, x))).toBe("MODEL_TOO_COSTLY");
    expect(await codeOf(p.run(buildConstantBombModel(1000), x))).toBeUndefined();
    expect((await p.checkUpload(mlp)).calibration.status).toBe("calibrated");
  });

  it("kills a run past the time limit and serves the next job on a fresh worker", async () => {
    const p = pool({ timeoutMs: 3000 });
    const slow = buildSlowModel({ size: 1024, steps: 400 }); // ~20 s on one thread
    const x: RawTensor = { dtype: "float32", dims: slow.inputShape, data: new Uint8Array(4 * slow.size) };
    const err = await p.run(slow.bytes, serializeTensorMap({ x })).catch((e: unknown) => e as StunError);
    expect(err).toBeInstanceOf(StunError);
    expect((err as StunError).code).toBe("MODEL_TOO_COSTLY");
    expect((err as StunError).message).toMatch(/longer than the server's 3000 ms limit/);
    // Killed, not left to finish its run: by the time the next job is answered it has exited.
    const inputs = randomInputs(readModelSignature(mlp).inputs, seededRng(1));
    expect(Object.keys(await p.run(mlp, serializeTensorMap(inputs)))).toEqual(["y"]);
    expect(p.workerCount).toEqual({ live: 1, stopping: 0 });
  });

  it("stops a run whose worker's resident memory goes past the limit", async () => {
    // Outputs allowed, memory not: the 256 MB constant trips the memory limit instead.
    const p = pool({ maxRssMb: 200, budget: { maxElements: 2 ** 30, maxBytes: 2 ** 34 } });
    const err = await p.checkUpload(buildConstantBombModel(8000)).catch((e: unknown) => e as StunError);
    expect(err).toBeInstanceOf(StunError);
    expect((err as StunError).code).toBe("MODEL_TOO_COSTLY");
    expect((err as StunError).message).toMatch(/used \d+ MiB of memory \(limit 200 MiB\)/);
  });

  it("queues jobs beyond its size and answers each", async () => {
    const p = pool({ size: 2 });
    const models = [1, 2, 3, 4, 5].map((seed) => buildMlp({ inputSize: 4, hidden: [4], outputSize: 2, seed }).bytes);
    const checks = await Promise.all(models.map((m) => p.checkUpload(m)));
    expect(checks.map((c) => c.calibration.status)).toEqual(Array(5).fill("calibrated"));
    expect(p.workerCount.live).toBeLessThanOrEqual(2);
  });

  it("fails queued and new jobs with UNAVAILABLE once closed", async () => {
    const p = pool();
    const queued = codeOf(p.checkUpload(mlp));
    await p.close();
    expect(await queued).toBe("UNAVAILABLE");
    expect(await codeOf(p.checkUpload(mlp))).toBe("UNAVAILABLE");
  });
});
