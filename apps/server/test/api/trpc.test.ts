import { afterAll, beforeAll, expect, it } from "vitest";
import { buildIdentityModel, sampleTensor } from "@stun/testkit";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { toJsonTensor, uploadModel } from "../support/api";

/** tRPC over plain HTTP (the wire format @trpc/client speaks): the same procedures as REST. */
describeDb("tRPC at /trpc", () => {
  let net: TestNetwork;
  const call = async (method: "GET" | "POST", path: string, input?: unknown, key?: string) => {
    const url = new URL(`${net.url}/trpc/${path}`);
    if (method === "GET" && input !== undefined) url.searchParams.set("input", JSON.stringify(input));
    const res = await fetch(url, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(method === "POST" ? { "content-type": "application/json" } : {}) },
      ...(method === "POST" ? { body: JSON.stringify(input ?? {}) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 1 });
  });
  afterAll(() => net?.close());

  it("answers queries with the same data as REST", async () => {
    const me = await call("GET", "accounts.me", undefined, net.apiKey);
    expect(me.status).toBe(200);
    expect(me.body.result.data).toEqual({ accountId: net.accountId, balance: "1000000000", escrow: "0", stake: "0", storage: { usedBytes: "0", quotaBytes: "2147483648" } });
  });

  it("runs a task through mutations and queries", async () => {
    const model = buildIdentityModel("int16", [3]);
    const modelId = await uploadModel(net.url, net.apiKey, model.bytes);
    const input = sampleTensor("int16", [3], 4);
    const sub = await call("POST", "tasks.submit", { modelId, inputs: { x: toJsonTensor(input) }, verification: { mode: "none" } }, net.apiKey);
    expect(sub.status).toBe(200);
    const id = sub.body.result.data.id;
    const done = await call("GET", "tasks.get", { id, wait: 30 }, net.apiKey);
    expect(done.body.result.data).toMatchObject({ id, status: "completed", outputs: { y: { dtype: "int16", dims: [3] } } });
    expect(done.body.result.data.outputs.y.data).toBe(toJsonTensor(input).data);
  });

  it("serves the chain procedures REST has, here with on-chain settlement off", async () => {
    const status = await call("GET", "chain.status");
    expect(status.body.result.data).toEqual({ enabled: false });
    const account = await call("GET", "chain.account", undefined, net.apiKey);
    expect(account.status).toBe(404);
    expect(account.body.error.data.stunCode).toBe("NOT_FOUND");
    const withdraw = await call("POST", "chain.withdraw", { amount: "1" }, net.apiKey);
    expect(withdraw.body.error.data.stunCode).toBe("NOT_FOUND");
  });

  it("carries the stable error code in data.stunCode", async () => {
    const unauth = await call("GET", "accounts.me");
    expect(unauth.status).toBe(401);
    expect(unauth.body.error.data.stunCode).toBe("UNAUTHORIZED");
    const missing = await call("GET", "models.get", { id: "mdl_nope" }, net.apiKey);
    expect(missing.status).toBe(404);
    expect(missing.body.error.data.stunCode).toBe("MODEL_NOT_FOUND");
    const bad = await call("POST", "tasks.submit", { modelId: "x" }, net.apiKey);
    expect(bad.status).toBe(400);
    expect(bad.body.error.data.stunCode).toBe("VALIDATION_FAILED");
    expect(JSON.stringify(bad.body)).not.toMatch(/at .*\.ts:\d+/);
  });
});
