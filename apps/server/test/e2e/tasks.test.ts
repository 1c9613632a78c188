import { afterAll, beforeAll, expect, it } from "vitest";
import fs from "node:fs";
import * as ort from "onnxruntime-node";
import { DTYPES } from "@stun/shared";
import { buildIdentityModel, buildMlp, buildMultiIO, buildSmallCnn, sampleTensor, sileroVadInputs, sileroVadPath } from "@stun/testkit";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api, float32Of, jsonTensorBytes, runTask, toJsonTensor, uploadModel } from "../support/api";
import { checkLedgerInvariants, getBalances, getLedgerBalance } from "../../src/ledger";
import { readTaskRow, taskRowStats } from "../../src/services/task-rows";

const PRICE = 100n;

describeDb("tasks end to end: real providers running onnxruntime-node", () => {
  let net: TestNetwork;
  let creatorKey: string;

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 2, providerArgs: () => ["--price", String(PRICE)] });
    const creator = await api(net.url, "POST", "/accounts");
    creatorKey = creator.body.apiKey;
  });
  afterAll(() => net?.close());

  it("runs an MLP task and settles 80/15/5 out of escrow", async () => {
    const mlp = buildMlp({ inputSize: 16, hidden: [32, 16], outputSize: 4, seed: 7 });
    const modelId = await uploadModel(net.url, creatorKey, mlp.bytes, "mlp");
    const x = Float32Array.from({ length: 2 * 16 }, (_, i) => Math.sin(i));
    const treasuryBefore = await getLedgerBalance(net.db, "system:treasury");
    // Each provider runs under an account of its own: what they earned together.
    const providersBalance = async () => {
      let sum = 0n;
      for (const p of net.providers) sum += (await getBalances(net.db, p.accountId)).balance;
      return sum;
    };
    const providerBefore = await providersBalance();
    const requesterBefore = (await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body;

    const done = await runTask(net.url, net.apiKey, {
      modelId,
      inputs: { x: toJsonTensor({ dtype: "float32", dims: [2, 16], data: new Uint8Array(x.buffer) }) },
      verification: { mode: "none" },
      maxPrice: "150",
    });
    expect(done.status).toBe("completed");
    expect(done.outputs.y.dims).toEqual([2, 4]);
    const y = float32Of(done.outputs.y);
    const expected = mlp.forward(x, 2);
    for (let i = 0; i < expected.length; i++) expect(y[i]).toBeCloseTo(expected[i]!, 4);

    expect(done.cost).toBe(String(PRICE));
    // The tolerance applied is the model's own, calibrated at upload (never below the float32 default).
    const calibration = (await net.db.prisma.model.findUnique({ where: { id: modelId } }))!.calibration as {
      status: string;
      tolerance: { abs: number; rel: number };
    };
    expect(calibration.status).toBe("calibrated");
    expect(calibration.tolerance.rel).toBeGreaterThanOrEqual(1e-3);
    expect(done.receipt).toMatchObject({
      cost: "100",
      split: { providers: "80", treasury: "15", creator: "5" },
      tolerance: { ...calibration.tolerance, argmax: false },
      qa: { kind: "user", check: "unverified", recheck: "none" },
    });
    expect(done.receipt.providers).toHaveLength(1);
    expect(done.verification).toMatchObject({ mode: "none", outcome: "single" });

    const requesterAfter = (await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body;
    expect(BigInt(requesterBefore.balance) - BigInt(requesterAfter.balance)).toBe(PRICE);
    expect(requesterAfter.escrow).toBe(requesterBefore.escrow);
    expect((await api(net.url, "GET", "/accounts/me", { key: creatorKey })).body.balance).toBe("5");
    expect((await providersBalance()) - providerBefore).toBe(80n);
    expect((await getLedgerBalance(net.db, "system:treasury")) - treasuryBefore).toBe(15n);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("long-polls a just-submitted task: its requester waits for the result, another account is refused at once", async () => {
    const mlp = buildMlp({ inputSize: 4, hidden: [4], outputSize: 2, seed: 11 });
    const modelId = await uploadModel(net.url, creatorKey, mlp.bytes, "mlp-long-poll");
    const x = new Float32Array([0.1, 0.2, 0.3, 0.4]);
    const sub = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(x.buffer) }) }, verification: { mode: "none" }, maxPrice: "150" },
    });
    expect(sub.status).toBe(202);
    // The instance heard this task submitted (services/tasks.ts skips the long-poll's first read
    // for it): a stranger's long-poll still reads, and is refused instead of waiting 60 s.
    const [stranger, own] = await Promise.all([api(net.url, "GET", `/tasks/${sub.body.id}?wait=60`, { key: creatorKey }), api(net.url, "GET", `/tasks/${sub.body.id}?wait=30`, { key: net.apiKey })]);
    expect(stranger).toEqual({ status: 404, body: { error: { code: "TASK_NOT_FOUND", message: `no task ${sub.body.id}` } } });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ id: sub.body.id, status: "completed", cost: String(PRICE) });
    // Once completed, a long-poll answers from the database at once.
    expect((await api(net.url, "GET", `/tasks/${sub.body.id}?wait=60`, { key: net.apiKey })).body).toMatchObject({ status: "completed" });
  }, 20_000);

  it("reads the tasks asked for in one turn (a batch's woken long-polls) in one statement, each as read alone", async () => {
    const mlp = buildMlp({ inputSize: 4, hidden: [4], outputSize: 2, seed: 12 });
    const modelId = await uploadModel(net.url, creatorKey, mlp.bytes, "mlp-task-rows");
    const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) });
    const [a, b] = await Promise.all([0, 1].map(() => runTask(net.url, net.apiKey, { modelId, inputs: { x }, verification: { mode: "none" }, maxPrice: "150" })));
    const app = net.server.app;
    const alone = [await readTaskRow(app, a!.id), await readTaskRow(app, b!.id)];
    const before = { ...taskRowStats(app) };
    const together = await Promise.all([readTaskRow(app, a!.id), readTaskRow(app, b!.id), readTaskRow(app, a!.id), readTaskRow(app, "tsk_nobody")]);
    expect(together).toEqual([alone[0], alone[1], alone[0], undefined]);
    expect(together[0]).toMatchObject({ id: a!.id, status: "completed", requesterId: net.accountId });
    expect((together[0] as { assignments: unknown[] }).assignments).toHaveLength(1);
    expect(taskRowStats(app)).toEqual({ statements: before.statements + 1, reads: before.reads + 4 });
  });

  it("round-trips every dtype of the codec through a task", async () => {
    for (const dtype of DTYPES) {
      const model = buildIdentityModel(dtype, [2, 3]);
      const modelId = await uploadModel(net.url, net.apiKey, model.bytes, `id-${dtype}`);
      const input = sampleTensor(dtype, [2, 3], 11);
      const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x: toJsonTensor(input) }, verification: { mode: "none" } });
      expect(done.status, dtype).toBe("completed");
      expect(done.outputs.y.dtype).toBe(dtype);
      // The receipt names the tolerance applied: the dtype's default for floats, exact otherwise.
      expect(done.receipt.tolerance.abs > 0, dtype).toBe(["float32", "float16", "float64"].includes(dtype));
      expect(done.outputs.y.dims).toEqual([2, 3]);
      if (dtype === "string") expect(done.outputs.y.data).toEqual(input.data);
      else expect(jsonTensorBytes(done.outputs.y).equals(Buffer.from(input.data as Uint8Array)), dtype).toBe(true);
    }
  });

  it("runs a model with several inputs and outputs of different dtypes", async () => {
    const m = buildMultiIO();
    const modelId = await uploadModel(net.url, net.apiKey, m.bytes, "multi-io");
    const model = (await api(net.url, "GET", `/models/${modelId}`, { key: net.apiKey })).body;
    expect(model.inputs.length).toBeGreaterThanOrEqual(2);
    expect(model.outputs.length).toBeGreaterThanOrEqual(2);
    const inputs = Object.fromEntries(
      model.inputs.map((i: { name: string; dtype: any; shape: (number | string)[] }, k: number) => [
        i.name,
        toJsonTensor(
          sampleTensor(
            i.dtype,
            i.shape.map((d) => (typeof d === "number" ? d : 2)),
            k + 1,
          ),
        ),
      ]),
    );
    const done = await runTask(net.url, net.apiKey, { modelId, inputs, verification: { mode: "none" } });
    expect(done.status).toBe("completed");
    // The same model on bare onnxruntime-node gives the same bytes.
    const session = await ort.InferenceSession.create(m.bytes);
    const feeds = Object.fromEntries(
      Object.entries(inputs).map(([name, t]: [string, any]) => {
        const b = new Uint8Array(jsonTensorBytes(t)).buffer;
        const data = t.dtype === "int64" ? new BigInt64Array(b) : t.dtype === "float32" ? new Float32Array(b) : new Int32Array(b);
        return [name, new ort.Tensor(t.dtype, data, t.dims)];
      }),
    );
    const ref = await session.run(feeds);
    for (const out of model.outputs) {
      const r = ref[out.name]!;
      expect(done.outputs[out.name].dims).toEqual([...r.dims]);
      const data = r.data as ArrayBufferView;
      expect(jsonTensorBytes(done.outputs[out.name]).equals(Buffer.from(data.buffer, data.byteOffset, data.byteLength))).toBe(true);
    }
  });

  it("runs Silero VAD v5 (a real model shipped in npm) and matches bare onnxruntime-node", async () => {
    const bytes = fs.readFileSync(sileroVadPath());
    const modelId = await uploadModel(net.url, net.apiKey, bytes, "silero-vad-v5");
    const inputs = sileroVadInputs({ seed: 5 });
    const done = await runTask(net.url, net.apiKey, {
      modelId,
      inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, toJsonTensor(v)])),
      verification: { mode: "none" },
    });
    expect(done.status).toBe("completed");
    const session = await ort.InferenceSession.create(bytes);
    const ref = await session.run({
      input: new ort.Tensor("float32", new Float32Array((inputs.input.data as Uint8Array).slice().buffer), inputs.input.dims),
      state: new ort.Tensor("float32", new Float32Array(256), [2, 1, 128]),
      sr: new ort.Tensor("int64", BigInt64Array.of(16000n), []),
    });
    const prob = float32Of(done.outputs.output)[0]!;
    expect(prob).toBeCloseTo((ref.output!.data as Float32Array)[0]!, 5);
    expect(prob).toBeGreaterThanOrEqual(0);
    expect(prob).toBeLessThanOrEqual(1);
  });

  it("verifies a redundant task on two providers and pays both", async () => {
    const cnn = buildSmallCnn({ seed: 3 });
    const modelId = await uploadModel(net.url, net.apiKey, cnn.bytes, "cnn");
    const model = (await api(net.url, "GET", `/models/${modelId}`, { key: net.apiKey })).body;
    const input = model.inputs[0];
    const dims = input.shape.map((d: number | string) => (typeof d === "number" ? d : 1));
    const done = await runTask(net.url, net.apiKey, {
      modelId,
      inputs: { [input.name]: toJsonTensor(sampleTensor("float32", dims, 9)) },
      verification: { mode: "redundant", replicas: 2 },
    });
    expect(done.status).toBe("completed");
    expect(done.verification).toMatchObject({ mode: "redundant", replicas: 2, outcome: "accepted" });
    const accepted = done.verification.executions.filter((e: { verdict: string }) => e.verdict === "accepted");
    expect(new Set(accepted.map((e: { providerId: string }) => e.providerId)).size).toBe(2);
    expect(done.cost).toBe(String(2n * PRICE));
    expect(done.receipt.providers).toHaveLength(2);
    expect(done.receipt.split).toEqual({ providers: "160", treasury: "30", creator: "10" });
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("lists providers, tasks and network stats", async () => {
    const providers = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers;
    expect(providers).toHaveLength(2);
    expect(providers[0]).toMatchObject({ kind: "native", backend: "cpu", price: "100" });
    const tasks = (await api(net.url, "GET", "/tasks?limit=5", { key: net.apiKey })).body.tasks;
    expect(tasks.length).toBe(5);
    const stats = (await api(net.url, "GET", "/stats", { key: net.apiKey })).body;
    expect(stats.providersOnline).toBe(2);
    expect(stats.tasks.completed).toBeGreaterThanOrEqual(16);
    expect(BigInt(stats.volume)).toBeGreaterThan(0n);
  });
});
