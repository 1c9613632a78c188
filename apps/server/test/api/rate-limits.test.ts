import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { io as connectSocket } from "socket.io-client";
import { PROVIDER_NAMESPACE } from "@stun/shared";
import { parseConfig } from "../../src/env";
import { startServer, type RunningServer } from "../../src/server";
import { createAccount } from "../../src/services/accounts";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";

const REDIS_URL = "redis://127.0.0.1:6379";

interface Reply {
  status: number;
  retryAfter: string | null;
  body: any;
}

/** One raw request, optionally claiming to come from `from` (X-Forwarded-For) and with a bearer key. */
async function call(url: string, path: string, opts: { from?: string; key?: string; method?: string; json?: unknown } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.from) headers["x-forwarded-for"] = opts.from;
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.json !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${url}${path}`, { method: opts.method ?? "GET", headers, body: opts.json === undefined ? undefined : JSON.stringify(opts.json) });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.json() };
}

/** `n` calls one after another; their statuses. */
async function statuses(n: number, fn: (i: number) => Promise<Reply>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await fn(i)).status);
  return out;
}

function expectRateLimited(r: Reply, windowSeconds: number): void {
  expect(r.status).toBe(429);
  expect(r.body.error.code).toBe("RATE_LIMITED");
  expect(r.body.error.message).toMatch(/too many/);
  const after = Number(r.retryAfter);
  expect(after).toBeGreaterThanOrEqual(1);
  expect(after).toBeLessThanOrEqual(windowSeconds);
  expect(r.body.error.details.retryAfterSeconds).toBe(after);
}

/** tRPC's refusal: its own error shape, which tRPC clients read (`data.stunCode`), and Retry-After. */
function expectTrpcRateLimited(r: Reply): void {
  expect(r.status).toBe(429);
  expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(r.body.error).toMatchObject({ code: -32029, data: { code: "TOO_MANY_REQUESTS", httpStatus: 429, stunCode: "RATE_LIMITED" } });
}

/** Tries a provider socket.io connection; resolves with the connect_error message, or "connected". */
function tryProviderConnect(url: string, from: string): Promise<{ message: string; data?: any }> {
  return new Promise((resolve) => {
    const socket = connectSocket(`${url}${PROVIDER_NAMESPACE}`, {
      transports: ["websocket"],
      reconnection: false,
      extraHeaders: { "x-forwarded-for": from },
      auth: { apiKey: "stun_not-a-real-key", protocolVersion: 1 },
    });
    socket.on("connect", () => {
      socket.close();
      resolve({ message: "connected" });
    });
    socket.on("connect_error", (err: Error & { data?: unknown }) => {
      socket.close();
      resolve({ message: err.message, data: err.data });
    });
  });
}

/**
 * Per-address and per-key limits on one server (in-process counters). TRUST_PROXY=true lets the
 * test speak from many addresses through X-Forwarded-For; each case uses its own addresses.
 */
describeDb("rate limits (in memory)", () => {
  let net: TestNetwork;
  beforeAll(async () => {
    net = await startTestNetwork({
      env: {
        TRUST_PROXY: "true",
        RATE_LIMIT_PER_IP: "20",
        RATE_LIMIT_PER_KEY: "5",
        RATE_LIMIT_SIWE_NONCES: "3",
        RATE_LIMIT_PROVIDER_CONNECTS: "2",
      },
    });
  });
  afterAll(() => net?.close());

  it("limits one API key across REST and tRPC with 429 RATE_LIMITED + Retry-After; another key is unaffected", async () => {
    const from = "10.0.1.1";
    expect(await statuses(5, () => call(net.url, "/api/v1/accounts/me", { from, key: net.apiKey }))).toEqual([200, 200, 200, 200, 200]);
    expectRateLimited(await call(net.url, "/api/v1/accounts/me", { from: "10.0.1.2", key: net.apiKey }), 60);
    expectTrpcRateLimited(await call(net.url, "/trpc/accounts.me", { from: "10.0.1.3", key: net.apiKey }));
    // Same address, another key: still served.
    expect((await call(net.url, "/api/v1/accounts/me", { from, key: net.providerApiKey })).status).toBe(200);
  });

  it("limits one address, whatever the key; another address and /health are unaffected", async () => {
    const from = "10.0.2.1";
    const keys = await Promise.all(Array.from({ length: 5 }, () => createAccount(net.server.app).then((a) => a.apiKey)));
    // 20 requests spread over 5 keys (4 each, under the per-key limit) fill the address's 20.
    expect(await statuses(20, (i) => call(net.url, "/api/v1/accounts/me", { from, key: keys[i % 5] }))).toEqual(Array(20).fill(200));
    expectRateLimited(await call(net.url, "/api/v1/openapi.json", { from }), 60);
    expectTrpcRateLimited(await call(net.url, "/trpc/network.stats", { from }));
    expect((await call(net.url, "/api/v1/health", { from })).status).toBe(200);
    expect((await call(net.url, "/api/v1/openapi.json", { from: "10.0.2.2" })).status).toBe(200);
  });

  it("gives each address only RATE_LIMIT_SIWE_NONCES sign-in nonces (REST and tRPC), so one address cannot fill the nonce store", async () => {
    const from = "10.0.3.1";
    expect(await statuses(3, () => call(net.url, "/api/v1/auth/siwe/nonce", { from, method: "POST" }))).toEqual([200, 200, 200]);
    expectRateLimited(await call(net.url, "/api/v1/auth/siwe/nonce", { from, method: "POST" }), 600);
    // The limit is on nonces, not requests: the procedure refuses inside tRPC too, with Retry-After.
    const trpc = await call(net.url, "/trpc/auth.siweNonce", { from, method: "POST", json: {} });
    expectTrpcRateLimited(trpc);
    expect(Number(trpc.retryAfter)).toBeGreaterThan(60);
    expect((await call(net.url, "/api/v1/auth/siwe/nonce", { from: "10.0.3.2", method: "POST" })).status).toBe(200);
  });

  it("limits provider socket.io connection attempts per address before checking the key", async () => {
    const from = "10.0.4.1";
    expect((await tryProviderConnect(net.url, from)).message).toMatch(/^UNAUTHORIZED/);
    expect((await tryProviderConnect(net.url, from)).message).toMatch(/^UNAUTHORIZED/);
    const refused = await tryProviderConnect(net.url, from);
    expect(refused.message).toMatch(/^RATE_LIMITED: too many provider connection attempts/);
    expect(refused.data.code).toBe("RATE_LIMITED");
    expect(refused.data.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((await tryProviderConnect(net.url, "10.0.4.2")).message).toMatch(/^UNAUTHORIZED/);
  });
});

/**
 * Two instances sharing one Redis share their counters: a key or an address cannot get twice its
 * limit by alternating instances. Without TRUST_PROXY, X-Forwarded-For is not believed.
 */
describeDb("rate limits shared by two instances through Redis", () => {
  let net: TestNetwork;
  let b: RunningServer;
  beforeAll(async () => {
    const env = {
      REDIS_URL,
      // Counters of this test only: other suites on the same Redis count 127.0.0.1 too.
      RATE_LIMIT_REDIS_PREFIX: `stun-test:${randomUUID()}:`,
      RATE_LIMIT_PER_IP: "10",
      RATE_LIMIT_PER_KEY: "4",
    };
    net = await startTestNetwork({ env: { ...env, INSTANCE_ID: "limits-a" } });
    b = await startServer(parseConfig({ PORT: "0", DATA_DIR: net.dataDir, LOG_LEVEL: "warn", STUN_FSYNC: "false", INSTANCE_ID: "limits-b", ...env }), {
      db: net.db,
    });
  });
  afterAll(async () => {
    await b?.close();
    await net?.close();
  });

  it("counts one key and one address across both instances", async () => {
    const both = [net.url, b.url];
    expect(await statuses(4, (i) => call(both[i % 2]!, "/api/v1/accounts/me", { key: net.apiKey }))).toEqual([200, 200, 200, 200]);
    const perKey = await call(b.url, "/api/v1/accounts/me", { key: net.apiKey });
    expectRateLimited(perKey, 60);
    expect(perKey.body.error.message).toMatch(/API key/);
    // The address has spent 5 of its 10; a spoofed X-Forwarded-For changes nothing.
    expect(await statuses(5, (i) => call(both[i % 2]!, "/api/v1/openapi.json", { from: `192.0.2.${i}` }))).toEqual(Array(5).fill(200));
    const perIp = await call(net.url, "/api/v1/openapi.json", { from: "192.0.2.99" });
    expectRateLimited(perIp, 60);
    expect(perIp.body.error.message).toMatch(/address/);
  });
});
