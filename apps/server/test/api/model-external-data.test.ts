/**
 * Issue #12: a model whose initializer names a relative file through ONNX external data made
 * onnxruntime read that file from the server's working directory (and a provider's), and the
 * upload's answer told whether the file existed and how long it was. These tests perform the attack
 * over REST against the real server.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildFileReadingModel } from "@stun/testkit";
import { runReference } from "../../src/onnx/reference-run";
import { newId } from "../../src/ids";
import { api, toJsonTensor } from "../support/api";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";

describeDb("models with external data (issue #12)", () => {
  let net: TestNetwork;
  beforeAll(async () => {
    net = await startTestNetwork();
  });
  afterAll(() => net?.close());

  const upload = (bytes: Uint8Array) => api(net.url, "POST", "/models", { key: net.apiKey, bytes });

  it("the test model is a real attack: bare onnxruntime returns package.json's bytes from its working directory", async () => {
    const model = buildFileReadingModel("package.json", 16);
    const session = await ort.InferenceSession.create(model.bytes);
    try {
      const out = await session.run({ x: new ort.Tensor("float32", new Float32Array([1]), [1]) });
      const onDisk = readFileSync(path.join(process.cwd(), "package.json")).subarray(0, 16);
      expect(Buffer.from(out.leak!.data as Uint8Array).equals(onDisk)).toBe(true);
    } finally {
      await session.release();
    }
  });

  it("refuses the upload with 400 MODEL_EXTERNAL_DATA naming the tensor and the file, and stores nothing", async () => {
    const before = await net.db.prisma.model.count();
    const res = await upload(buildFileReadingModel("package.json", 16).bytes);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { code: "MODEL_EXTERNAL_DATA", message: expect.stringContaining('external file (location "package.json") at graph.initializer[0] "stolen"') },
    });
    expect(await net.db.prisma.model.count()).toBe(before);
  });

  it("answers the same whether the file exists, is shorter than asked, or is missing (no existence or length oracle)", async () => {
    const name = `stun-leak-probe-${process.pid}.bin`;
    const file = path.join(process.cwd(), name);
    const fits = buildFileReadingModel(name, 8).bytes;
    const tooLong = buildFileReadingModel(name, 4096).bytes;
    writeFileSync(file, "secret!!");
    let whileThere;
    try {
      whileThere = [await upload(fits), await upload(tooLong)];
    } finally {
      rmSync(file, { force: true });
    }
    const whileMissing = [await upload(fits), await upload(tooLong)];
    for (const res of [...whileThere, ...whileMissing]) expect(res).toMatchObject({ status: 400, body: { error: { code: "MODEL_EXTERNAL_DATA" } } });
    expect(whileMissing).toEqual(whileThere);
  });

  it("a reference run (calibration, referee, canaries) refuses a stored model with external data before onnxruntime loads it", async () => {
    const x = { dtype: "float32" as const, dims: [1], data: new Uint8Array(4) };
    await expect(runReference(buildFileReadingModel("package.json", 16).bytes, { x })).rejects.toMatchObject({ code: "MODEL_EXTERNAL_DATA" });
  });

  it("a real provider refuses a model stored before the check (bypassing upload): task:error MODEL_EXTERNAL_DATA, nothing read", async () => {
    const provider = await net.addProvider({ name: "ext-guard" });
    // As if uploaded by a server without the check: blob and row written directly.
    const attack = buildFileReadingModel("package.json", 16);
    const sha256 = await net.server.app.blobs.put(attack.bytes);
    const model = await net.db.prisma.model.create({
      data: {
        id: newId("mdl"),
        sha256,
        name: "reader",
        ownerId: net.accountId,
        sizeBytes: attack.bytes.byteLength,
        inputs: [{ name: "x", dtype: "float32", shape: [1] }],
        outputs: [
          { name: "y", dtype: "float32", shape: [1] },
          { name: "leak", dtype: "uint8", shape: [16] },
        ],
      },
    });
    const x = toJsonTensor({ dtype: "float32", dims: [1], data: new Uint8Array(4) });
    const sub = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId: model.id, inputs: { x }, verification: { mode: "none" } } });
    expect(sub.status).toBe(202);
    const failed = await eventually(
      () => net.db.prisma.assignment.findFirst({ where: { taskId: sub.body.id, providerId: provider.providerId, errorCode: "MODEL_EXTERNAL_DATA" } }),
      30_000,
      "the provider's MODEL_EXTERNAL_DATA",
    );
    expect(failed.status).toBe("failed");
    expect(await net.db.prisma.assignment.count({ where: { taskId: sub.body.id, outputSha256: { not: null } } })).toBe(0);
  });
});
