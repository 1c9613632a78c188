import { afterAll, beforeAll, expect, it } from "vitest";
import { buildMlp, buildIdentityModel, sampleTensor } from "@stun/testkit";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { checkLedgerInvariants } from "../../src/ledger";
import { api, toJsonTensor, uploadModel } from "../support/api";

describeDb("REST contract and bad input", () => {
  let net: TestNetwork;
  let url: string;
  let key: string;
  let mlpId: string;
  const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3 });

  beforeAll(async () => {
    net = await startTestNetwork({ env: { BODY_LIMIT: String(256 * 1024) } });
    url = net.url;
    key = net.apiKey;
    mlpId = await uploadModel(url, key, mlp.bytes, "mlp");
  });
  afterAll(() => net?.close());

  const x = (n = 4, batch = 1) => toJsonTensor({ dtype: "float32", dims: [batch, n], data: new Uint8Array(new Float32Array(batch * n).buffer) });

  it("serves health and an OpenAPI 3.1 document of every route", async () => {
    expect(await api(url, "GET", "/health")).toEqual({ status: 200, body: { status: "ok", providers: { online: 0 } } });
    const doc = await api(url, "GET", "/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    for (const p of ["/api/v1/tasks", "/api/v1/tasks/{id}", "/api/v1/models", "/api/v1/accounts", "/api/v1/faucet", "/api/v1/accounts/me", "/api/v1/accounts/me/stake", "/api/v1/quote"]) {
      expect(doc.body.paths[p], p).toBeDefined();
    }
    // The chain adapter's routes are procedures like the others (documented, on tRPC too).
    expect(
      Object.keys(doc.body.paths)
        .filter((p) => p.startsWith("/api/v1/chain"))
        .sort(),
    ).toEqual([
      "/api/v1/chain",
      "/api/v1/chain/account",
      "/api/v1/chain/conservation",
      "/api/v1/chain/deposit-info",
      "/api/v1/chain/deposits",
      "/api/v1/chain/payouts",
      "/api/v1/chain/settlements",
      "/api/v1/chain/ton-balance",
      "/api/v1/chain/ton-deposit-message",
      "/api/v1/chain/withdrawals",
    ]);
    expect(Object.keys(doc.body.paths["/api/v1/chain/withdrawals"]).sort()).toEqual(["get", "post"]);
    expect((await api(url, "GET", "/chain")).body).toEqual({ enabled: false });
    const noChain = await api(url, "GET", "/chain/conservation");
    expect([noChain.status, noChain.body.error.code]).toEqual([404, "NOT_FOUND"]);
    expect(doc.body.paths["/api/v1/tasks"].post.requestBody.content["application/json"].schema.properties.modelId).toBeDefined();
  });

  it("creates accounts, credits the faucet in local mode and shows balances and ledger", async () => {
    const created = await api(url, "POST", "/accounts");
    expect(created.status).toBe(201);
    expect(created.body.apiKey).toMatch(/^stun_/);
    const k = created.body.apiKey;
    expect((await api(url, "GET", "/accounts/me", { key: k })).body).toEqual({
      accountId: created.body.accountId,
      balance: "0",
      escrow: "0",
      stake: "0",
      storage: { usedBytes: "0", quotaBytes: "2147483648" },
    });
    const f = await api(url, "POST", "/faucet", { key: k, json: { amount: "12345" } });
    expect(f.status).toBe(200);
    expect(f.body.balance).toBe("12345");
    const ledger = await api(url, "GET", "/accounts/me/ledger", { key: k });
    expect(ledger.body.entries).toHaveLength(1);
    expect(ledger.body.entries[0]).toMatchObject({ amount: "12345", kind: expect.any(String) });
    expect((await api(url, "POST", "/faucet", { key: k, json: { amount: "1.5" } })).body.error.code).toBe("VALIDATION_FAILED");
  });

  it("reads a model's signature and returns the same model for the same bytes", async () => {
    const res = await api(url, "GET", `/models/${mlpId}`, { key });
    expect(res.body).toMatchObject({
      id: mlpId,
      name: "mlp",
      inputs: [{ name: "x", dtype: "float32", shape: ["N", 4] }],
      outputs: [{ name: "y", dtype: "float32", shape: ["N", 3] }],
    });
    expect(res.body.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await uploadModel(url, key, mlp.bytes, "again")).toBe(mlpId);
    const file = await fetch(`${url}/api/v1/models/${mlpId}/file`, { headers: { authorization: `Bearer ${key}` } });
    expect(Buffer.from(await file.arrayBuffer()).equals(Buffer.from(mlp.bytes))).toBe(true);
  });

  it("rejects malformed ONNX with MODEL_INVALID", async () => {
    for (const bytes of [new Uint8Array([1, 2, 3, 4, 5]), mlp.bytes.slice(0, mlp.bytes.length - 50), new TextEncoder().encode("not a model")]) {
      const res = await api(url, "POST", "/models", { key, bytes });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("MODEL_INVALID");
    }
    const empty = await api(url, "POST", "/models", { key, bytes: new Uint8Array() });
    expect(empty.status).toBe(400);
  });

  it("answers missing or bad API keys with 401 UNAUTHORIZED", async () => {
    for (const k of [undefined, "stun_nope", ""]) {
      const res = await api(url, "GET", "/accounts/me", k === undefined ? {} : { key: k });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHORIZED");
    }
    const res = await api(url, "POST", "/tasks", { json: { modelId: mlpId, inputs: {} } });
    expect(res.status).toBe(401);
  });

  it("rejects bad task inputs with stable codes", async () => {
    const submit = (body: unknown) => api(url, "POST", "/tasks", { key, json: body });
    const cases: Array<[unknown, number, string]> = [
      [{ modelId: "mdl_unknown", inputs: { x: x() } }, 404, "MODEL_NOT_FOUND"],
      [{ modelId: mlpId, inputs: {} }, 400, "INPUT_MISSING"],
      [{ modelId: mlpId, inputs: { x: x(), extra: x() } }, 400, "INPUT_UNKNOWN"],
      [{ modelId: mlpId, inputs: { x: { ...x(), dtype: "float64", data: Buffer.alloc(32).toString("base64") } } }, 400, "INPUT_DTYPE_MISMATCH"],
      [{ modelId: mlpId, inputs: { x: x(5) } }, 400, "INPUT_SHAPE_MISMATCH"],
      [{ modelId: mlpId, inputs: { x: { ...x(), data: Buffer.alloc(10).toString("base64") } } }, 400, "INPUT_SIZE_MISMATCH"],
      [{ modelId: mlpId, inputs: { x: { ...x(), data: "***not base64***" } } }, 400, "TENSOR_INVALID"],
      [{ modelId: mlpId, inputs: { x: { ...x(), dims: [-1, 4] } } }, 400, "VALIDATION_FAILED"],
      [{ modelId: mlpId, inputs: { x: x() }, verification: { mode: "sometimes" } }, 400, "VALIDATION_FAILED"],
      [{ modelId: mlpId, inputs: { x: x() }, maxPrice: "-5" }, 400, "VALIDATION_FAILED"],
      [{ inputs: { x: x() } }, 400, "VALIDATION_FAILED"],
    ];
    for (const [body, status, code] of cases) {
      const res = await submit(body);
      expect({ status: res.status, code: res.body.error?.code }, JSON.stringify(body).slice(0, 200)).toEqual({ status, code });
      expect(typeof res.body.error.message).toBe("string");
    }
    const notJson = await api(url, "POST", "/tasks", { key, json: "{ not json" });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe("INVALID_JSON");
  });

  it("answers a body over the limit with 413 and keeps serving", async () => {
    const big = toJsonTensor({ dtype: "float32", dims: [100_000, 4], data: new Uint8Array(1_600_000) });
    const res = await api(url, "POST", "/tasks", { key, json: { modelId: mlpId, inputs: { x: big } } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect((await api(url, "GET", "/health")).status).toBe(200);
  });

  it("refuses a task the requester cannot pay for with 402, holding nothing", async () => {
    const poor = (await api(url, "POST", "/accounts")).body.apiKey;
    await api(url, "POST", "/faucet", { key: poor, json: { amount: "10" } });
    const res = await api(url, "POST", "/tasks", { key: poor, json: { modelId: mlpId, inputs: { x: x() }, maxPrice: "100" } });
    expect(res.status).toBe(402);
    expect(res.body.error.code).toBe("INSUFFICIENT_FUNDS");
    expect((await api(url, "GET", "/accounts/me", { key: poor })).body).toMatchObject({ balance: "10", escrow: "0" });
  });

  it("submits sent at once past what a balance covers: exactly the covered ones queue, the rest get 402, and nothing is overdrawn", async () => {
    // Sent together, the submits share group-commit batches and their holds one statement
    // (db/group-commit.ts leads), which the poor account's surplus makes the database refuse: the
    // batch then runs each hold alone, and a refused hold must fail only its own submit.
    const id = buildIdentityModel("int32", [2]);
    const modelId = await uploadModel(url, key, id.bytes);
    const poor = (await api(url, "POST", "/accounts")).body.apiKey;
    await api(url, "POST", "/faucet", { key: poor, json: { amount: "350" } });
    const richBefore = (await api(url, "GET", "/accounts/me", { key })).body;
    const body = { modelId, inputs: { x: toJsonTensor(sampleTensor("int32", [2])) }, verification: { mode: "none" }, maxPrice: "100" };
    const sent = await Promise.all(Array.from({ length: 16 }, (_, i) => api(url, "POST", "/tasks", { key: i % 2 === 0 ? poor : key, json: body })));
    const poorAnswers = sent.filter((_, i) => i % 2 === 0).map((r) => [r.status, r.body.error?.code ?? r.body.status]);
    const richAnswers = sent.filter((_, i) => i % 2 === 1).map((r) => [r.status, r.body.error?.code ?? r.body.status]);
    expect(poorAnswers.filter(([s]) => s === 202)).toHaveLength(3);
    expect(poorAnswers.filter(([s]) => s !== 202)).toEqual(Array.from({ length: 5 }, () => [402, "INSUFFICIENT_FUNDS"]));
    expect(richAnswers).toEqual(Array.from({ length: 8 }, () => [202, "queued"]));
    expect((await api(url, "GET", "/accounts/me", { key: poor })).body).toMatchObject({ balance: "50", escrow: "300" });
    const richAfter = (await api(url, "GET", "/accounts/me", { key })).body;
    expect(BigInt(richBefore.balance) - BigInt(richAfter.balance)).toBe(800n);
    expect(BigInt(richAfter.escrow) - BigInt(richBefore.escrow)).toBe(800n);
    // Each queued task holds its own escrow; the refused ones left no task behind.
    const listed = await api(url, "GET", "/tasks?limit=100", { key: poor });
    expect(listed.body.tasks).toHaveLength(3);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("queues a valid task with escrow held, and hides it from other accounts", async () => {
    const id = buildIdentityModel("int32", [2]);
    const modelId = await uploadModel(url, key, id.bytes);
    const before = (await api(url, "GET", "/accounts/me", { key })).body;
    const res = await api(url, "POST", "/tasks", {
      key,
      json: { modelId, inputs: { x: toJsonTensor(sampleTensor("int32", [2])) }, verification: { mode: "none" }, maxPrice: "70" },
    });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe("queued");
    const after = (await api(url, "GET", "/accounts/me", { key })).body;
    expect(BigInt(before.balance) - BigInt(after.balance)).toBe(70n);
    expect(BigInt(after.escrow) - BigInt(before.escrow)).toBe(70n);
    const mine = await api(url, "GET", `/tasks/${res.body.id}`, { key });
    expect(mine.body).toMatchObject({ id: res.body.id, status: "queued", verification: { mode: "none" } });
    const other = (await api(url, "POST", "/accounts")).body.apiKey;
    expect((await api(url, "GET", `/tasks/${res.body.id}`, { key: other })).status).toBe(404);
    expect((await api(url, "GET", "/nope")).status).toBe(404);
  });

  it("exposes Prometheus metrics", async () => {
    const res = await fetch(`${url}/metrics`);
    expect(await res.text()).toContain("stun_tasks_submitted_total");
  });
});
