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
    expect(done.receipt.qa).toEqual({ kind: "user", check: "single", recheck: "none" });
    // An unchecked single run is no evidence: reputation (a lower confidence bound) stays at 0.
    const provider = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers[0];
    expect(provider.reputation).toBe(0);
    expect(provider.trust).toEqual({ trusted: false, streak: 0, checked: 0, invalid: 0 });
  });

  it("replicates on untrusted providers once a second one is online, and reputation rises", async () => {
    await net.addProvider();
    const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x } });
    expect(done.status).toBe("completed");
    expect(done.verification).toMatchObject({ mode: "auto", replicas: 2, outcome: "accepted" });
    expect(done.verification.executions).toHaveLength(2);
    expect(done.receipt.qa).toEqual({ kind: "user", check: "replicated", recheck: "none" });
    const providers = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers;
    for (const p of providers) {
      expect(p.reputation).toBeGreaterThan(0);
      expect(p.trust).toMatchObject({ streak: 1, checked: 1, invalid: 0 });
    }
  });
});

describeDb("adaptive replication: trusted pairs run alone, audited at random", () => {
  const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(new Float32Array([4, 3, 2, 1]).buffer) });

  async function runUntilTrusted(auditProbability: string) {
    // Audit probability pinned (start = floor) so each case is deterministic.
    const net = await startTestNetwork({
      providers: 2,
      env: { TRUST_AFTER: "2", AUDIT_START: auditProbability, AUDIT_FLOOR: auditProbability },
    });
    const modelId = await uploadModel(net.url, net.apiKey, buildMlp({ inputSize: 4, hidden: [4], outputSize: 2 }).bytes);
    // Two replicated tasks: both pairs are checked valid twice and become trusted.
    for (let i = 0; i < 2; i++) {
      const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x } });
      expect(done.receipt.qa.check).toBe("replicated");
    }
    const providers = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers;
    for (const p of providers) expect(p.trust).toMatchObject({ trusted: true, streak: 2 });
    return { net, modelId };
  }

  it("a trusted pair runs alone when not drawn for an audit, and its result joins its solo window", async () => {
    const { net, modelId } = await runUntilTrusted("0");
    try {
      const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x } });
      expect(done.verification).toMatchObject({ replicas: 1, outcome: "single" });
      expect(done.verification.executions).toHaveLength(1);
      expect(done.receipt.qa).toEqual({ kind: "user", check: "solo", recheck: "none" });
      const a = await net.db.prisma.assignment.findFirst({ where: { taskId: done.id } });
      expect(a).toMatchObject({ solo: true, verdict: "accepted" });
      const trust = await net.db.prisma.providerTrust.findMany({ where: { providerId: a!.providerId } });
      expect(trust[0]).toMatchObject({ streak: 2, solo: 1 });
    } finally {
      await net.close();
    }
  });

  it("an audited execution of a trusted pair is replicated and raises its streak", async () => {
    const { net, modelId } = await runUntilTrusted("1");
    try {
      const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x } });
      expect(done.verification.executions).toHaveLength(2);
      expect(done.receipt.qa).toEqual({ kind: "user", check: "audit", recheck: "none" });
      const providers = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers;
      for (const p of providers) expect(p.trust).toMatchObject({ trusted: true, streak: 3, checked: 3 });
    } finally {
      await net.close();
    }
  });
});
