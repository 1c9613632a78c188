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
import { runReference } from "../../src/qa/reference-run";
import { api } from "../support/api";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";

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
});
