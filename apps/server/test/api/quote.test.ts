/**
 * GET /api/v1/quote (docs/PRICING.md) on a real server and database: the operator's default before
 * any provider or clearing, the connected providers' median ask before any clearing, then the
 * index of what accepted executions paid; the total per verification mode; a submit without
 * maxPrice gets the quote plus QUOTE_MARGIN_BPS; bad input gets stable codes.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildIdentityModel } from "@stun/testkit";
import { PROVIDER_EVENTS, type WireTensorMap } from "@stun/shared";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, runTask, toJsonTensor, uploadModel } from "../support/api";
import { startScriptedProvider, type ScriptedProvider } from "../support/scripted-provider";
import { MAX_TIE_BREAKERS } from "../../src/tasks/verification";

describeDb("GET /api/v1/quote", () => {
  let net: TestNetwork;
  let modelId: string;
  let scripted: ScriptedProvider | undefined;
  const model = buildIdentityModel("float32", [1, 4]);
  const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) });

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 0, env: { QUOTE_MIN_SAMPLES: "3", QUOTE_MARGIN_BPS: "5000", DEFAULT_MAX_PRICE: "1000" } });
    modelId = await uploadModel(net.url, net.apiKey, model.bytes, "identity");
  });
  afterAll(async () => {
    scripted?.close();
    await net?.close();
  });

  const quote = (query: string) => api(net.url, "GET", `/quote?${query}`, { key: net.apiKey });

  it("quotes the operator's default before any provider or clearing, with no expected wait", async () => {
    const res = await quote(`modelId=${modelId}&mode=none`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      modelId,
      mode: "none",
      units: "1",
      modelClass: 1,
      source: "default",
      pricePerExecution: "1000",
      executions: 1,
      total: "1000",
      defaultMaxPrice: "1000",
      samples: 0,
      freeSlots: 0,
      expectedWaitMs: null,
    });
    expect(res.body.zk).toBeUndefined();
  });

  it("refuses bad input with stable codes", async () => {
    const unknown = await quote("modelId=mdl_doesnotexist&mode=none");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("MODEL_NOT_FOUND");
    for (const q of [
      `modelId=${modelId}&mode=bogus`,
      `modelId=${modelId}&mode=redundant&replicas=9`,
      `modelId=${modelId}&mode=redundant&replicas=two`,
      "mode=none",
      `modelId=${modelId}&backend=abacus`,
    ]) {
      const res = await quote(q);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code, q).toBe("VALIDATION_FAILED");
    }
    expect((await api(net.url, "GET", `/quote?modelId=${modelId}`)).status).toBe(401);
  });

  it("follows the providers' ask, then what accepted tasks paid; a submit without maxPrice gets the quote plus the margin", async () => {
    const account = await net.addProviderAccount();
    scripted = await startScriptedProvider({ url: net.url, apiKey: account.apiKey, name: "ask-7", price: "7", slots: 1, answer: (i: WireTensorMap) => ({ y: i.x! }) });
    const asks = (await quote(`modelId=${modelId}&mode=none`)).body;
    expect(asks).toMatchObject({ source: "asks", pricePerExecution: "7", freeSlots: 1, expectedWaitMs: 0, samples: 0, defaultMaxPrice: "1000" });

    for (let i = 0; i < 3; i++) {
      const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x }, maxPrice: "10", verification: { mode: "none" } });
      expect(done.status).toBe("completed");
      expect(done.cost).toBe("7");
    }
    const settled = (await quote(`modelId=${modelId}&mode=none`)).body;
    // 7 × 1.5 = 10.5, rounded up.
    expect(settled).toMatchObject({ source: "index", samples: 3, pricePerUnit: "7", pricePerExecution: "7", total: "7", defaultMaxPrice: "11" });
    const redundant = (await quote(`modelId=${modelId}&mode=redundant&replicas=3`)).body;
    expect(redundant.executions).toBe(3 + MAX_TIE_BREAKERS);
    expect(redundant.total).toBe(String(7 * (3 + MAX_TIE_BREAKERS)));

    const res = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: { x }, verification: { mode: "none" } } });
    expect(res.status).toBe(202);
    const row = await net.db.prisma.task.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(row.maxPrice).toBe(11n);
  });

  it("provider:price reports the index and reprices a connected provider per unit; the next task pays the new price", async () => {
    const ask = (update: Record<string, string>) => scripted!.socket.timeout(10_000).emitWithAck(PROVIDER_EVENTS.price, update);
    // Let the task submitted without maxPrice finish: its clearing joins the index too.
    await eventually(async () => (await net.db.prisma.task.count({ where: { status: { not: "completed" } } })) === 0);
    const seen = await ask({});
    expect(seen).toMatchObject({ ok: true, price: "7", pricePerUnit: "0", index: { perUnit: "7" } });
    expect(seen.index.samples).toBeGreaterThanOrEqual(3);
    expect(await ask({ price: "0", pricePerUnit: "3" })).toMatchObject({ ok: true, price: "0", pricePerUnit: "3" });
    expect(await ask({ pricePerUnit: "-1" })).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
    const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x }, maxPrice: "10", verification: { mode: "none" } });
    expect(done.cost).toBe("3"); // 3 per unit × 1 unit
    expect((await quote(`modelId=${modelId}&mode=none`)).body.source).toBe("index");
  });

  it("a native provider started with --price-follow-index reprices per unit to the index, within its floor", async () => {
    const seen = await scripted!.socket.timeout(10_000).emitWithAck(PROVIDER_EVENTS.price, {});
    const index = BigInt(seen.index.perUnit);
    expect(index).toBeGreaterThan(2n);
    await net.addProvider({ name: "follower", args: ["--price-per-unit", "2", "--price-follow-index", "--price-floor", "2", "--price-follow-s", "1"] });
    const follower = await eventually(async () => net.server.app.providers.list().find((p) => p.name === "follower" && p.pricePerUnit === index));
    expect(follower.price).toBe(0n);
    // The durable record (GET /providers reads the database) has the new quote too.
    const listed = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers.find((p: { name: string }) => p.name === "follower");
    expect(listed).toMatchObject({ price: "0", pricePerUnit: String(index) });
  });
});
