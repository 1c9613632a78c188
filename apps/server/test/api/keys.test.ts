import { afterAll, beforeAll, expect, it } from "vitest";
import { createTRPCClient, httpLink } from "@trpc/client";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { buildMlp } from "@stun/testkit";
import type { AppRouter } from "../../src/trpc/routers/_app";
import { createDatabase } from "../../src/db/database";
import { parseConfig } from "../../src/env";
import { startServer } from "../../src/server";
import { describeDb, testDbKind } from "../support/database";
import { eventually, spawnProvider, startTestNetwork, type TestNetwork } from "../support/network";
import { api, toJsonTensor } from "../support/api";

/**
 * API keys attacked through the real server (REST, tRPC, socket.io): scopes are enforced, revoked
 * and expired keys are refused at once (no 30 s cache window), a key cannot mint a broader one,
 * revocation disconnects the provider sockets a key opened, and wallet sign-ins do not pile up keys.
 */
describeDb("API keys: scopes, revocation, rotation, wallet sessions", () => {
  let net: TestNetwork;
  let model: ReturnType<typeof buildMlp>;
  let modelId: string;

  beforeAll(async () => {
    net = await startTestNetwork({ env: { SIWE_SESSION_MAX: "3" } });
    model = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 11 });
    const up = await api(net.url, "POST", "/models", { key: net.apiKey, bytes: model.bytes });
    expect(up.status).toBe(201);
    modelId = up.body.id;
  });
  afterAll(() => net?.close());

  const create = (key: string, body: Record<string, unknown>) => api(net.url, "POST", "/accounts/me/keys", { key, json: body });
  const newKey = async (scopes: string[], name = `k-${scopes.join("-")}`, by = net.apiKey): Promise<{ apiKey: string; id: string }> => {
    const res = await create(by, { name, scopes });
    expect(res.status).toBe(201);
    return { apiKey: res.body.apiKey, id: res.body.key.id };
  };
  const submit = (key: string) =>
    api(net.url, "POST", "/tasks", {
      key,
      json: { modelId, inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) }) }, verification: { mode: "none" } },
    });
  const expectCode = (res: { status: number; body: any }, status: number, code: string) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.error.code).toBe(code);
  };

  it("creates a named key shown once, lists keys without secrets, and the account's first key is admin", async () => {
    const res = await create(net.apiKey, { name: "ci runner", scopes: ["requester", "read", "requester"], expiresInSeconds: 3600 });
    expect(res.status).toBe(201);
    expect(res.body.apiKey).toMatch(/^stun_/);
    expect(res.body.key).toMatchObject({ name: "ci runner", scopes: ["requester", "read"], kind: "api", status: "active", revokedAt: null });
    expect(Date.parse(res.body.key.expiresAt) - Date.now()).toBeGreaterThan(3590_000);
    expect(res.body.apiKey.startsWith(res.body.key.prefix)).toBe(true);

    const list = await api(net.url, "GET", "/accounts/me/keys", { key: res.body.apiKey });
    expect(list.status).toBe(200);
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(res.body.apiKey);
    expect(text).not.toContain(net.apiKey);
    expect(text).not.toMatch(/"hash"/);
    const first = list.body.keys.find((k: any) => k.kind === "account");
    expect(first).toMatchObject({ name: "default", scopes: ["admin"], status: "active", expiresAt: null });
    // lastUsedAt is written (coarsely) when a key is looked up.
    expect(first.lastUsedAt).not.toBeNull();
    expect(list.body.keys.find((k: any) => k.id === res.body.key.id).lastUsedAt).not.toBeNull();
  });

  it("a read-only key reads but cannot submit, upload, stake, unstake, use the faucet, withdraw, link a wallet or manage keys (403 KEY_SCOPE)", async () => {
    const { apiKey: read } = await newKey(["read"]);
    expect((await api(net.url, "GET", "/accounts/me", { key: read })).status).toBe(200);
    expect((await api(net.url, "GET", "/tasks", { key: read })).status).toBe(200);
    expect((await api(net.url, "GET", `/models/${modelId}`, { key: read })).status).toBe(200);
    expect((await api(net.url, "GET", "/accounts/me/keys", { key: read })).status).toBe(200);

    expectCode(await submit(read), 403, "KEY_SCOPE");
    expectCode(await api(net.url, "POST", "/models", { key: read, bytes: model.bytes }), 403, "KEY_SCOPE");
    expectCode(await api(net.url, "POST", "/accounts/me/stake", { key: read, json: { amount: "1" } }), 403, "KEY_SCOPE");
    expectCode(await api(net.url, "POST", "/accounts/me/unstake", { key: read, json: { amount: "1" } }), 403, "KEY_SCOPE");
    expectCode(await api(net.url, "POST", "/faucet", { key: read, json: { amount: "1" } }), 403, "KEY_SCOPE");
    expectCode(await api(net.url, "POST", "/chain/withdrawals", { key: read, json: { amount: "1" } }), 403, "KEY_SCOPE");
    expectCode(await create(read, { name: "x", scopes: ["read"] }), 403, "KEY_SCOPE");
    expectCode(await api(net.url, "POST", "/auth/siwe/verify", { key: read, json: { message: "x", signature: "0x00" } }), 403, "KEY_SCOPE");
    // tRPC enforces the same table.
    const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${net.url}/trpc`, headers: { authorization: `Bearer ${read}` } })] });
    await expect(trpc.accounts.stake.mutate({ amount: "1" })).rejects.toMatchObject({ data: { stunCode: "KEY_SCOPE", httpStatus: 403 } });
    expect((await trpc.accounts.me.query()).accountId).toBe(net.accountId);
  });

  it("a requester key submits and uploads but cannot stake or connect as a provider; a provider key stakes and connects but cannot submit", async () => {
    const { apiKey: requester } = await newKey(["requester"]);
    expect((await submit(requester)).status).toBe(202);
    expect((await api(net.url, "POST", "/models", { key: requester, bytes: model.bytes })).status).toBe(201);
    expectCode(await api(net.url, "POST", "/accounts/me/stake", { key: requester, json: { amount: "1" } }), 403, "KEY_SCOPE");
    await expect(spawnProvider(net.url, requester, "wrong-scope")).rejects.toThrow(/KEY_SCOPE/);

    const { apiKey: provider } = await newKey(["provider"]);
    expectCode(await submit(provider), 403, "KEY_SCOPE");
    expectCode(await api(net.url, "POST", "/models", { key: provider, bytes: model.bytes }), 403, "KEY_SCOPE");
    expect((await api(net.url, "POST", "/accounts/me/stake", { key: provider, json: { amount: "1" } })).status).toBe(200);
    expect((await api(net.url, "POST", "/accounts/me/unstake", { key: provider, json: { amount: "1" } })).status).toBe(200);
  });

  it("a key cannot mint a broader key, nor revoke or rotate one broader than itself, nor touch another account's keys", async () => {
    const { apiKey: requester } = await newKey(["requester"]);
    expectCode(await create(requester, { name: "up", scopes: ["admin"] }), 403, "KEY_SCOPE");
    expectCode(await create(requester, { name: "up", scopes: ["provider"] }), 403, "KEY_SCOPE");
    expectCode(await create(requester, { name: "up", scopes: ["requester", "provider"] }), 403, "KEY_SCOPE");
    const narrower = await create(requester, { name: "narrower", scopes: ["read"] });
    expect(narrower.status).toBe(201);
    expect(narrower.body.key.scopes).toEqual(["read"]);

    const admin = (await api(net.url, "GET", "/accounts/me/keys", { key: net.apiKey })).body.keys.find((k: any) => k.kind === "account");
    expectCode(await api(net.url, "POST", `/accounts/me/keys/${admin.id}/revoke`, { key: requester }), 403, "KEY_SCOPE");
    expectCode(await api(net.url, "POST", `/accounts/me/keys/${admin.id}/rotate`, { key: requester, json: {} }), 403, "KEY_SCOPE");
    // Another account's key is not found, whatever the caller's scopes.
    expectCode(await api(net.url, "POST", `/accounts/me/keys/${admin.id}/revoke`, { key: net.providerApiKey }), 404, "NOT_FOUND");
    expect((await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).status).toBe(200);

    // A non-admin key that expires cannot make one that outlives it.
    const short = await create(net.apiKey, { name: "short", scopes: ["requester"], expiresInSeconds: 600 });
    expectCode(await create(short.body.apiKey, { name: "forever", scopes: ["read"] }), 403, "KEY_SCOPE");
    expectCode(await create(short.body.apiKey, { name: "longer", scopes: ["read"], expiresInSeconds: 7200 }), 403, "KEY_SCOPE");
    expect((await create(short.body.apiKey, { name: "shorter", scopes: ["read"], expiresInSeconds: 300 })).status).toBe(201);
    // Nor renew itself past its expiry by rotation: the new key expires when the caller does.
    const renewed = await api(net.url, "POST", `/accounts/me/keys/${short.body.key.id}/rotate`, { key: short.body.apiKey, json: {} });
    expect(renewed.status).toBe(201);
    expect(renewed.body.key.expiresAt).toBe(short.body.key.expiresAt);
  });

  it("a revoked key is refused at once (KEY_REVOKED), though this instance had just cached it", async () => {
    const { apiKey, id } = await newKey(["requester"]);
    expect((await api(net.url, "GET", "/accounts/me", { key: apiKey })).status).toBe(200); // cached now
    const revoked = await api(net.url, "POST", `/accounts/me/keys/${id}/revoke`, { key: net.apiKey });
    expect(revoked.status).toBe(200);
    expect(revoked.body.key).toMatchObject({ id, status: "revoked" });
    expectCode(await api(net.url, "GET", "/accounts/me", { key: apiKey }), 401, "KEY_REVOKED");
    expectCode(await submit(apiKey), 401, "KEY_REVOKED");
    const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${net.url}/trpc`, headers: { authorization: `Bearer ${apiKey}` } })] });
    await expect(trpc.accounts.me.query()).rejects.toMatchObject({ data: { stunCode: "KEY_REVOKED", httpStatus: 401 } });
    // A key may revoke itself; revoking twice is harmless.
    const self = await newKey(["read", "requester"]);
    expect((await api(net.url, "POST", `/accounts/me/keys/${self.id}/revoke`, { key: self.apiKey })).status).toBe(200);
    expectCode(await api(net.url, "GET", "/accounts/me", { key: self.apiKey }), 401, "KEY_REVOKED");
    expect((await api(net.url, "POST", `/accounts/me/keys/${self.id}/revoke`, { key: net.apiKey })).body.key.status).toBe("revoked");
  });

  it("an expired key is refused (KEY_EXPIRED)", async () => {
    const { apiKey, id } = await newKey(["requester"]);
    await net.db.prisma.apiKey.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expectCode(await api(net.url, "GET", "/accounts/me", { key: apiKey }), 401, "KEY_EXPIRED");
    const listed = (await api(net.url, "GET", "/accounts/me/keys", { key: net.apiKey })).body.keys.find((k: any) => k.id === id);
    expect(listed.status).toBe("expired");
  });

  it("rotation answers a new key with the same name and scopes; the old one is revoked at once, or expires after the grace period", async () => {
    const res = await create(net.apiKey, { name: "deploy", scopes: ["requester"], expiresInSeconds: 86_400 });
    const old = { apiKey: res.body.apiKey as string, id: res.body.key.id as string };
    expect((await api(net.url, "GET", "/accounts/me", { key: old.apiKey })).status).toBe(200);
    const rotated = await api(net.url, "POST", `/accounts/me/keys/${old.id}/rotate`, { key: net.apiKey, json: {} });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key).toMatchObject({ name: "deploy", scopes: ["requester"], status: "active" });
    expect(Date.parse(rotated.body.key.expiresAt) - Date.now()).toBeGreaterThan(86_300_000);
    expectCode(await api(net.url, "GET", "/accounts/me", { key: old.apiKey }), 401, "KEY_REVOKED");
    expect((await submit(rotated.body.apiKey)).status).toBe(202);
    expectCode(await api(net.url, "POST", `/accounts/me/keys/${old.id}/rotate`, { key: net.apiKey, json: {} }), 409, "CONFLICT");

    const graced = await api(net.url, "POST", `/accounts/me/keys/${rotated.body.key.id}/rotate`, { key: net.apiKey, json: { graceSeconds: 1 } });
    expect(graced.status).toBe(201);
    expect((await api(net.url, "GET", "/accounts/me", { key: rotated.body.apiKey })).status).toBe(200); // still in its grace
    await new Promise((r) => setTimeout(r, 1100));
    expectCode(await api(net.url, "GET", "/accounts/me", { key: rotated.body.apiKey }), 401, "KEY_EXPIRED");
    expect((await api(net.url, "GET", "/accounts/me", { key: graced.body.apiKey })).status).toBe(200);
  });

  it("revoking a provider's key disconnects its socket at once, and it cannot come back", async () => {
    const { apiKey, id } = await newKey(["provider"], "gpu-box");
    const p = await spawnProvider(net.url, apiKey, "revoked-box");
    try {
      expect((await api(net.url, "POST", `/accounts/me/keys/${id}/revoke`, { key: net.apiKey })).status).toBe(200);
      await p.waitForLine((l) => l.msg === "fatal" || /closed the connection/.test(JSON.stringify(l)), 10_000).catch(() => undefined);
      await eventually(async () => p.child.exitCode !== null, 10_000, "the provider to exit");
      await eventually(async () => !(await net.db.prisma.provider.findUnique({ where: { id: p.providerId }, select: { online: true } }))?.online, 10_000, "the provider to be offline");
      await expect(spawnProvider(net.url, apiKey, "revoked-again")).rejects.toThrow(/KEY_REVOKED/);
    } finally {
      await p.kill();
    }
  });

  it("wallet sign-ins issue expiring admin session keys and keep at most SIWE_SESSION_MAX of them live", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { nonce } = (await api(net.url, "POST", "/auth/siwe/nonce")).body;
      const message = createSiweMessage({ domain: new URL(net.url).host, address: wallet.address, uri: net.url, version: "1", chainId: 1, nonce });
      const res = await api(net.url, "POST", "/auth/siwe/verify", { json: { message, signature: await wallet.signMessage({ message }) } });
      expect(res.status).toBe(200);
      keys.push(res.body.apiKey);
      expect((await api(net.url, "GET", "/accounts/me", { key: res.body.apiKey })).status).toBe(200); // each is cached on use
    }
    const listed = (await api(net.url, "GET", "/accounts/me/keys", { key: keys[4]! })).body.keys;
    const live = listed.filter((k: any) => k.kind === "siwe" && k.status === "active");
    expect(live).toHaveLength(3);
    for (const k of live) {
      expect(k.scopes).toEqual(["admin"]);
      expect(Math.abs(Date.parse(k.expiresAt) - (Date.now() + 7 * 24 * 3600_000))).toBeLessThan(120_000);
    }
    expect(listed.filter((k: any) => k.kind === "siwe" && k.status === "revoked")).toHaveLength(2);
    for (const old of keys.slice(0, 2)) expectCode(await api(net.url, "GET", "/accounts/me", { key: old }), 401, "KEY_REVOKED");
    for (const kept of keys.slice(2)) expect((await api(net.url, "GET", "/accounts/me", { key: kept })).status).toBe(200);
  });

  it.runIf(testDbKind === "postgres")("on two instances sharing PostgreSQL and Redis: a key revoked through one is refused at once by the other, and its socket there is closed", async () => {
    const REDIS_URL = "redis://127.0.0.1:6379";
    const REDIS_PREFIX = `stun-keys-${process.pid}-${Date.now().toString(36)}`;
    const multi = await startTestNetwork({ env: { REDIS_URL, REDIS_PREFIX, INSTANCE_ID: "keys-a" } });
    const dbB = await createDatabase({ url: multi.db.url! });
    const b = await startServer(parseConfig({ PORT: "0", DATA_DIR: multi.dataDir, LOG_LEVEL: "warn", STUN_FSYNC: "false", REDIS_URL, REDIS_PREFIX, INSTANCE_ID: "keys-b" }), { db: dbB });
    try {
      const made = await api(multi.url, "POST", "/accounts/me/keys", { key: multi.apiKey, json: { name: "both", scopes: ["requester"] } });
      const key = made.body.apiKey as string;
      expect((await api(b.url, "GET", "/accounts/me", { key })).status).toBe(200); // B caches it
      expect((await api(multi.url, "GET", "/accounts/me", { key })).status).toBe(200);
      expect((await api(multi.url, "POST", `/accounts/me/keys/${made.body.key.id}/revoke`, { key: multi.apiKey })).status).toBe(200);
      expectCode(await api(b.url, "GET", "/accounts/me", { key }), 401, "KEY_REVOKED");

      const prov = await api(multi.url, "POST", "/accounts/me/keys", { key: multi.providerApiKey, json: { name: "box", scopes: ["provider"] } });
      const p = await spawnProvider(b.url, prov.body.apiKey, "on-b");
      try {
        expect((await api(multi.url, "POST", `/accounts/me/keys/${prov.body.key.id}/revoke`, { key: multi.providerApiKey })).status).toBe(200);
        await eventually(async () => p.child.exitCode !== null, 10_000, "the provider on B to exit");
      } finally {
        await p.kill();
      }
    } finally {
      await b.close();
      await dbB.close();
      await multi.close();
    }
  });
});
