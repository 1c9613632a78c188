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

  it("with no provider of another operator registered, the server's reference run checks the lone result", async () => {
    const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x } });
    expect(done.status).toBe("completed");
    expect(done.verification).toMatchObject({ mode: "auto", replicas: 1, outcome: "accepted" });
    expect(done.receipt.qa).toEqual({ kind: "user", check: "referee", recheck: "none" });
    // A checked result is evidence: the pair's streak and the provider's reputation move.
    const provider = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers[0];
    expect(provider.reputation).toBeGreaterThan(0);
    expect(provider.trust).toEqual({ trusted: false, streak: 1, checked: 1, invalid: 0 });
  });

  it("replicates on untrusted providers once a provider of another operator is online, and reputation rises", async () => {
    await net.addProvider();
    const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x } });
    expect(done.status).toBe("completed");
    expect(done.verification).toMatchObject({ mode: "auto", replicas: 2, outcome: "accepted" });
    expect(done.verification.executions).toHaveLength(2);
    expect(done.receipt.qa).toEqual({ kind: "user", check: "replicated", recheck: "none" });
    const providers = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers;
    const streaks = providers.map((p: { trust: { streak: number; checked: number; invalid: number }; reputation: number }) => {
      expect(p.reputation).toBeGreaterThan(0);
      expect(p.trust.invalid).toBe(0);
      return p.trust.streak;
    });
    expect(streaks.sort()).toEqual([1, 2]);
  });
});

describeDb("auto never delivers a new provider's result unchecked", () => {
  const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(new Float32Array([1, 0, 1, 0]).buffer) });

  it("without a referee or another operator, waits for a checker and fails CHECKER_UNAVAILABLE at the deadline, refunded", async () => {
    // REFEREE_MAX_BYTES=0: the server referees no model (as for models too large for it).
    const net = await startTestNetwork({ providers: 1, env: { REFEREE_MAX_BYTES: "0" } });
    try {
      const modelId = await uploadModel(net.url, net.apiKey, buildMlp({ inputSize: 4, hidden: [4], outputSize: 2 }).bytes);
      const before = (await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body;
      const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x }, deadlineSeconds: 3 });
      expect(done).toMatchObject({ status: "expired", error: { code: "CHECKER_UNAVAILABLE" } });
      expect(done.verification.executions).toHaveLength(1);
      const after = (await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body;
      expect(after).toMatchObject({ balance: before.balance, escrow: before.escrow });
      // Two replicas of one operator never check each other: a second provider of the same account changes nothing.
      await net.addProvider({ name: "same-operator", account: net.providers[0]! });
      const again = await runTask(net.url, net.apiKey, { modelId, inputs: { x }, deadlineSeconds: 3 });
      expect(again).toMatchObject({ status: "expired", error: { code: "CHECKER_UNAVAILABLE" } });
      // Asked for explicitly, it runs alone and unchecked, and the receipt says so.
      const single = await runTask(net.url, net.apiKey, { modelId, inputs: { x }, verification: { mode: "auto", allowSingle: true } });
      expect(single.status).toBe("completed");
      expect(single.receipt.qa).toEqual({ kind: "user", check: "single", recheck: "none" });
      expect(single.verification).toMatchObject({ replicas: 1, outcome: "single" });
    } finally {
      await net.close();
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
