import { afterAll, beforeAll, expect, it } from "vitest";
import { buildMlp } from "@stun/testkit";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, runTask, toJsonTensor, uploadModel } from "../support/api";

/** network.activity (tRPC) and GET /api/v1/activity (REST): the dashboard's recent-activity figures. */
describeDb("network.activity", () => {
  let net: TestNetwork;
  let modelId: string;
  const mlp = buildMlp({ inputSize: 4, hidden: [4], outputSize: 2 });
  const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) });

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 1 });
    modelId = await uploadModel(net.url, net.apiKey, mlp.bytes, "mlp");
  });
  afterAll(() => net?.close());

  it("is empty on a quiet network, one bucket per minute", async () => {
    const res = await api(net.url, "GET", "/activity?minutes=10", { key: net.apiKey });
    expect(res.status).toBe(200);
    expect(res.body.minutes).toBe(10);
    expect(res.body.perMinute).toHaveLength(10);
    expect(res.body.perMinute.every((b: { submitted: number }) => b.submitted === 0)).toBe(true);
    expect(res.body.latencyMs).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
    expect(res.body).toMatchObject({ checks: {}, verdicts: {}, failures: {} });
    const buckets = res.body.perMinute.map((b: { at: string }) => Date.parse(b.at));
    expect(buckets[1] - buckets[0]).toBe(60_000);
    expect(buckets[9]).toBeLessThanOrEqual(Date.now());
    expect(Date.now() - buckets[9]).toBeLessThan(60_000);
  });

  it("counts submitted, completed and expired tasks, latency percentiles, QA checks and verdicts", async () => {
    const done = [];
    for (let i = 0; i < 3; i++) done.push(await runTask(net.url, net.apiKey, { modelId, inputs: { x }, verification: { mode: "none" } }));
    expect(done.map((t) => t.status)).toEqual(["completed", "completed", "completed"]);
    // A task no provider can take (browser kind) expires at its 1 s deadline.
    const sub = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: { x }, requirements: { kind: "browser" }, deadlineSeconds: 1 },
    });
    expect(sub.status).toBe(202);
    await eventually(async () => (await api(net.url, "GET", `/tasks/${sub.body.id}`, { key: net.apiKey })).body.status === "expired", 20_000, "expiry");

    const call = await fetch(`${net.url}/trpc/network.activity?input=${encodeURIComponent(JSON.stringify({}))}`, {
      headers: { authorization: `Bearer ${net.apiKey}` },
    });
    expect(call.status).toBe(200);
    const a = ((await call.json()) as { result: { data: any } }).result.data;
    expect(a.minutes).toBe(60);
    expect(a.perMinute).toHaveLength(60);
    const sum = (k: string) => a.perMinute.reduce((s: number, b: Record<string, number>) => s + b[k]!, 0);
    expect(sum("submitted")).toBe(4);
    expect(sum("completed")).toBe(3);
    expect(sum("failed")).toBe(1);
    expect(a.latencyMs.count).toBe(3);
    expect(a.latencyMs.p50).toBeGreaterThan(0);
    expect(a.latencyMs.p50).toBeLessThanOrEqual(a.latencyMs.p90);
    expect(a.latencyMs.p90).toBeLessThanOrEqual(a.latencyMs.p99);
    expect(a.latencyMs.p99).toBeLessThanOrEqual(a.latencyMs.max);
    expect(a.checks).toEqual({ unverified: 3 });
    expect(a.verdicts).toEqual({ accepted: 3 });
    expect(a.failures).toEqual({ DEADLINE_EXCEEDED: 1 });
  });

  it("validates its window and needs an API key", async () => {
    expect((await api(net.url, "GET", "/activity?minutes=2", { key: net.apiKey })).body.error.code).toBe("VALIDATION_FAILED");
    expect((await api(net.url, "GET", "/activity")).status).toBe(401);
    const doc = await api(net.url, "GET", "/openapi.json");
    expect(doc.body.paths["/api/v1/activity"].get.parameters.map((p: { name: string }) => p.name)).toEqual(["minutes"]);
  });
});
