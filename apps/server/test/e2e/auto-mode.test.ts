import { afterAll, beforeAll, expect, it } from "vitest";
import { buildMlp } from "@stun/testkit";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api, runTask, toJsonTensor, uploadModel } from "../support/api";

describeDb("verification mode auto (the default)", () => {
  let net: TestNetwork;
  let modelId: string;
  const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) });

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 1 });
    modelId = await uploadModel(net.url, net.apiKey, buildMlp({ inputSize: 4, hidden: [4], outputSize: 2 }).bytes);
  });
  afterAll(() => net?.close());

  it("runs alone on the only provider online instead of waiting for a second one", async () => {
    const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x } });
    expect(done.status).toBe("completed");
    expect(done.verification).toMatchObject({ mode: "auto", replicas: 1, outcome: "single" });
    // An unchecked single run does not move reputation.
    const provider = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers[0];
    expect(provider.reputation).toBe(0.5);
  });

  it("replicates on untrusted providers once a second one is online, and reputation rises", async () => {
    await net.addProvider();
    const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x } });
    expect(done.status).toBe("completed");
    expect(done.verification).toMatchObject({ mode: "auto", replicas: 2, outcome: "accepted" });
    expect(done.verification.executions).toHaveLength(2);
    const providers = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers;
    for (const p of providers) expect(p.reputation).toBeGreaterThan(0.5);
  });
});
