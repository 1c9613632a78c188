import http from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { io as connect, type Socket } from "socket.io-client";
import { buildMlp } from "@stun/testkit";
import { INT64_MAX, MAX_AMOUNT, PROTOCOL_VERSION, PROVIDER_EVENTS, PROVIDER_NAMESPACE } from "@stun/shared";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api, uploadModel } from "../support/api";
import { postSlowly } from "../support/slow-upload";
import { maxExecutions } from "../../src/services/tasks";
import { checkLedgerInvariants, mint } from "../../src/ledger";

const MiB = 1024 * 1024;
/** The Stun error code of an answer: REST's `error.code`, tRPC's `error.data.stunCode` (tRPC clients parse its own shape). */
const stunCode = (path: string, body: { error?: { code?: unknown; data?: { stunCode?: string } } } | undefined) => (path.startsWith("/trpc") ? body?.error?.data?.stunCode : body?.error?.code);
const nested = Buffer.alloc(64 * 1024, "[");
const padding = Buffer.alloc(64 * 1024, " ");

/** Security issue #12: requests that cost the server far more than they cost the sender. */
describeDb("denial of service for free (issue #12)", () => {
  let net: TestNetwork;
  let url: string;
  let key: string;
  let mlpId: string;

  beforeAll(async () => {
    net = await startTestNetwork();
    url = net.url;
    key = net.apiKey;
    mlpId = await uploadModel(url, key, buildMlp({ inputSize: 4, hidden: [8], outputSize: 3 }).bytes, "mlp");
  });
  afterAll(() => net?.close());

  const health = async () => (await fetch(`${url}/api/v1/health`)).status;

  it("answers 16 MB of nested `[` to unauthenticated routes with 400/413 while /health keeps answering", async () => {
    const routes = ["/api/v1/accounts", "/api/v1/auth/siwe/nonce", "/api/v1/auth/siwe/verify", "/trpc/accounts.create", "/trpc/auth.siweVerify"];
    const attacks = routes.flatMap((path) => [
      postSlowly(url, path, { chunk: nested, total: 16 * MiB }).then((r) => ({ path, declared: false, ...r })),
      postSlowly(url, path, { chunk: nested, total: 16 * MiB, declare: true }).then((r) => ({ path, declared: true, ...r })),
    ]);
    const healthWhileAttacked = await Promise.all([health(), health(), health()]);
    expect(healthWhileAttacked).toEqual([200, 200, 200]);
    for (const a of await Promise.all(attacks)) {
      // A declared length over the limit is refused before a byte is read; an undeclared one as
      // soon as it nests too deep.
      const want = a.declared ? { status: 413, code: "PAYLOAD_TOO_LARGE" } : { status: 400, code: "BODY_TOO_DEEP" };
      expect({ path: a.path, status: a.status, code: stunCode(a.path, a.body) }).toEqual({ path: a.path, ...want });
      expect(a.bodyFinished, a.path).toBe(false);
    }
    expect(await health()).toBe(200);
  });

  it("answers a body that is not JSON with 400 and keeps the connection: the next request reuses it", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; connection: string | undefined; reused: boolean; body: { error?: { code?: string } } }>((resolve, reject) => {
        const req = http.request(`${url}${path}`, { method, agent, headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) } }, (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection, reused: req.reusedSocket, body: JSON.parse(text) }));
        });
        req.on("error", reject);
        req.end(body);
      });
    try {
      const kinds = ['{"modelId": ', "   ", "{ not json"];
      const answers = [];
      for (const body of kinds) answers.push(await send("POST", "/api/v1/tasks", body));
      answers.push(await send("GET", "/api/v1/accounts/me"));
      expect(answers.map((a) => [a.status, a.body.error?.code ?? null, a.connection])).toEqual([
        [400, "INVALID_JSON", "keep-alive"],
        [400, "INVALID_JSON", "keep-alive"],
        [400, "INVALID_JSON", "keep-alive"],
        [200, null, "keep-alive"],
      ]);
      // One connection for all four: each request after the first went out on the same socket.
      expect(answers.map((a) => a.reused)).toEqual([false, true, true, true]);
    } finally {
      agent.destroy();
    }
  });

  it("holds bodies without tensors to JSON_BODY_LIMIT, even flat ones, and task submits to BODY_LIMIT", async () => {
    const flat = (bytes: number) => JSON.stringify({ amount: "1", pad: "x".repeat(bytes) });
    for (const path of ["/faucet", "/accounts/me/stake", "/auth/siwe/verify"]) {
      const res = await api(url, "POST", path, { key, json: flat(100 * 1024) });
      expect([path, res.status, res.body.error?.code]).toEqual([path, 413, "PAYLOAD_TOO_LARGE"]);
    }
    // 1 MiB to the task route is read (then refused for what it says, not for its size).
    const submit = await api(url, "POST", "/tasks", { key, json: { modelId: mlpId, inputs: { x: { dtype: "float32", dims: [1, 4], data: "A".repeat(MiB) } } } });
    expect(submit.status).toBe(400);
    expect(submit.body.error.code).not.toBe("PAYLOAD_TOO_LARGE");
    // Deep nesting is refused there too, after 65 bytes, for a caller with a key.
    const deep = await postSlowly(url, "/api/v1/tasks", { chunk: nested, total: 16 * MiB, headers: { authorization: `Bearer ${key}` } });
    expect([deep.status, deep.body.error.code, deep.bodyFinished]).toEqual([400, "BODY_TOO_DEEP", false]);
    const trpcDeep = await postSlowly(url, "/trpc/tasks.submit", { chunk: nested, total: 16 * MiB, headers: { authorization: `Bearer ${key}` } });
    expect([trpcDeep.status, stunCode("/trpc", trpcDeep.body)]).toEqual([400, "BODY_TOO_DEEP"]);
    // Nesting below the limit is ordinary JSON: a real submit still goes through.
    expect((await api(url, "POST", "/faucet", { key, json: { amount: "5" } })).status).toBe(200);
  });

  it("answers an upload without a key with 401 while the body is still being sent (200 MB models, 16 MB tasks)", async () => {
    const cases = [
      { path: "/api/v1/models", total: 200 * MiB, type: "application/octet-stream" },
      { path: "/api/v1/tasks", total: 16 * MiB, type: "application/json" },
      { path: "/trpc/tasks.submit", total: 16 * MiB, type: "application/json" },
      { path: "/api/v1/models", total: 200 * MiB, type: "application/octet-stream", auth: "Bearer stun_not_a_key" },
    ];
    for (const c of cases) {
      const headers: Record<string, string> = { "content-type": c.type, ...(c.auth ? { authorization: c.auth } : {}) };
      const res = await postSlowly(url, c.path, { chunk: padding, total: c.total, declare: true, headers });
      expect([c.path, res.status, stunCode(c.path, res.body)]).toEqual([c.path, 401, "UNAUTHORIZED"]);
      expect(res.bodyFinished, c.path).toBe(false);
      expect(res.sentBytes, c.path).toBeLessThan(c.total / 2);
    }
    expect(await health()).toBe(200);
  });

  it("refuses a provider registration with a 4 MiB user agent, and GET /providers stays small", async () => {
    const socket: Socket = connect(`${url}${PROVIDER_NAMESPACE}`, { auth: { apiKey: net.providerApiKey, protocolVersion: PROTOCOL_VERSION }, transports: ["websocket"] });
    try {
      const register = (specs: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        socket.timeout(20_000).emitWithAck(PROVIDER_EVENTS.register, { name: "ua", kind: "native", backend: "cpu", price: "1", specs: { cores: 2, memoryMb: 1024, ...specs }, ...extra });
      const huge = await register({ userAgent: "A".repeat(4 * MiB) });
      expect(huge.ok).toBe(false);
      expect(huge.error.code).toBe("VALIDATION_FAILED");
      expect(huge.error.message).toMatch(/specs\.userAgent/);
      expect(huge.error.message.length).toBeLessThan(2000);
      for (const bad of [{ gpus: Array.from({ length: 1000 }, () => ({ name: "g", vramMb: 1 })) }, { cpuModel: "c".repeat(10_000) }, { cores: 1e12 }]) {
        expect((await register(bad)).error?.code).toBe("VALIDATION_FAILED");
      }
      // Prices outside the ledger's range, including the reported 1e30.
      for (const price of [`1${"0".repeat(30)}`, (MAX_AMOUNT + 1n).toString(), "1e30"]) {
        expect((await register({}, { price })).error?.code, price).toBe("VALIDATION_FAILED");
      }
      const ok = await register({ userAgent: "Mozilla/5.0 (X11; Linux x86_64)" });
      expect(ok.ok).toBe(true);
      const list = await fetch(`${url}/api/v1/providers`, { headers: { authorization: `Bearer ${key}` } });
      const text = await list.text();
      expect(list.status).toBe(200);
      expect(text.length).toBeLessThan(16 * 1024);
      expect(JSON.parse(text).providers.find((p: { name: string }) => p.name === "ua").specs.userAgent).toBe("Mozilla/5.0 (X11; Linux x86_64)");
    } finally {
      socket.disconnect();
    }
  });

  it("answers amounts and cursors outside int64 with 400, over REST and tRPC", async () => {
    const submit = (maxPrice: string) => ({ modelId: mlpId, inputs: { x: { dtype: "float32", dims: [1, 4], data: Buffer.alloc(16).toString("base64") } }, maxPrice });
    // The reported values: maxPrice × 3 executions overflowed int64 (500 INTERNAL).
    for (const maxPrice of ["3074457345618258603", "9223372036854775807", "9".repeat(30)]) {
      const res = await api(url, "POST", "/tasks", { key, json: submit(maxPrice) });
      expect([maxPrice, res.status, res.body.error.code]).toEqual([maxPrice, 400, "VALIDATION_FAILED"]);
      const t = await fetch(`${url}/trpc/tasks.submit`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify(submit(maxPrice)) });
      expect(t.status).toBe(400);
      expect(((await t.json()) as { error: { data: { stunCode: string } } }).error.data.stunCode).toBe("VALIDATION_FAILED");
    }
    for (const before of ["9".repeat(30), "9223372036854775808", "0", "-1"]) {
      const res = await api(url, "GET", `/accounts/me/ledger?before=${before}`, { key });
      expect([before, res.status, res.body.error?.code]).toEqual([before, 400, "VALIDATION_FAILED"]);
    }
    expect((await api(url, "GET", `/accounts/me/ledger?before=${INT64_MAX}`, { key })).status).toBe(200);
    for (const path of ["/faucet", "/accounts/me/stake", "/accounts/me/unstake"]) {
      const res = await api(url, "POST", path, { key, json: { amount: INT64_MAX.toString() } });
      expect([path, res.status, res.body.error?.code]).toEqual([path, 400, "VALIDATION_FAILED"]);
    }
    // A balance that would leave int64 is refused (it was a 500), and the ledger is unchanged.
    const { body: fresh } = await api(url, "POST", "/accounts");
    const nearlyFull = INT64_MAX - 10n;
    await net.server.app.db.prisma.$transaction((tx) => mint(tx, fresh.accountId, nearlyFull));
    const over = await api(url, "POST", "/faucet", { key: fresh.apiKey, json: { amount: "11" } });
    expect([over.status, over.body.error.code]).toEqual([400, "AMOUNT_OUT_OF_RANGE"]);
    expect((await api(url, "POST", "/faucet", { key: fresh.apiKey, json: { amount: "10" } })).body.balance).toBe(INT64_MAX.toString());
    const stake = await api(url, "POST", "/accounts/me/stake", { key: fresh.apiKey, json: { amount: MAX_AMOUNT.toString() } });
    expect([stake.status, stake.body.stake]).toEqual([200, MAX_AMOUNT.toString()]);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
    // A maxPrice of MAX_AMOUNT on the most executions a task can hold stays inside int64.
    expect(MAX_AMOUNT * BigInt(maxExecutions({ mode: "redundant", replicas: 5 } as never))).toBeLessThanOrEqual(INT64_MAX);
    const most = await api(url, "POST", "/tasks", { key: fresh.apiKey, json: { ...submit(MAX_AMOUNT.toString()), verification: { mode: "redundant", replicas: 5 } } });
    expect([most.status, most.body.error?.code]).toEqual([202, undefined]);
  });
});
