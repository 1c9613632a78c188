import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTRPCClient, httpLink } from "@trpc/client";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { parseConfig } from "../../src/env";
import type { AppRouter } from "../../src/trpc/routers/_app";
import { checkSiwe, siweDomains } from "../../src/services/wallets";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api } from "../support/api";

describe("siweDomains", () => {
  it("defaults to HOST:PORT, with the loopback names for a loopback or unspecified HOST; SIWE_DOMAINS replaces it", () => {
    expect(siweDomains(parseConfig({ PORT: "4000" }))).toEqual(["localhost:4000", "127.0.0.1:4000", "[::1]:4000"]);
    expect(siweDomains(parseConfig({ PORT: "4000", HOST: "0.0.0.0" }))).toEqual(["localhost:4000", "127.0.0.1:4000", "[::1]:4000"]);
    expect(siweDomains(parseConfig({ PORT: "8080", HOST: "10.0.0.5" }))).toEqual(["10.0.0.5:8080"]);
    expect(siweDomains(parseConfig({ SIWE_DOMAINS: "Stun.Example, stun.example:8443" }))).toEqual(["stun.example", "stun.example:8443"]);
  });
});

/**
 * Sign-In with Ethereum over REST and tRPC, with a viem local account signing real EIP-4361
 * messages: sign-in creates (then finds) the wallet's account, linking with an API key, and every
 * way a message can be wrong answers 401 SIWE_INVALID (nonces are single-use).
 */
describeDb("auth.siweNonce / auth.siweVerify", () => {
  let net: TestNetwork;
  let domain: string;

  beforeAll(async () => {
    net = await startTestNetwork();
    domain = new URL(net.url).host;
  });
  afterAll(() => net?.close());

  const nonce = async (): Promise<string> => {
    const res = await api(net.url, "POST", "/auth/siwe/nonce");
    expect(res.status).toBe(200);
    expect(res.body.nonce).toMatch(/^[a-zA-Z0-9]{32}$/);
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.now());
    return res.body.nonce as string;
  };

  const message = (account: PrivateKeyAccount, n: string, over: Partial<Parameters<typeof createSiweMessage>[0]> = {}) =>
    createSiweMessage({
      domain,
      address: account.address,
      statement: "Sign in to Stun",
      uri: net.url,
      version: "1",
      chainId: 31337,
      nonce: n,
      issuedAt: new Date(),
      expirationTime: new Date(Date.now() + 5 * 60_000),
      ...over,
    });

  const verify = (msg: string, signature: string, key?: string) => api(net.url, "POST", "/auth/siwe/verify", { json: { message: msg, signature }, ...(key ? { key } : {}) });

  const expectInvalid = (res: { status: number; body: any }, reason: RegExp) => {
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("SIWE_INVALID");
    expect(res.body.error.message).toMatch(reason);
  };

  it("first sign-in creates the wallet's account, the next finds it; each answers a working new API key", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const msg = message(wallet, await nonce());
    const first = await verify(msg, await wallet.signMessage({ message: msg }));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ walletAddress: wallet.address.toLowerCase(), created: true });
    expect(first.body.apiKey).toMatch(/^stun_/);
    const me = await api(net.url, "GET", "/accounts/me", { key: first.body.apiKey });
    expect(me.body).toEqual({ accountId: first.body.accountId, balance: "0", escrow: "0", stake: "0", storage: { usedBytes: "0", quotaBytes: "2147483648" } });
    const row = await net.db.prisma.account.findUnique({ where: { id: first.body.accountId } });
    expect(row?.walletAddress).toBe(wallet.address.toLowerCase());

    const msg2 = message(wallet, await nonce());
    const second = await verify(msg2, await wallet.signMessage({ message: msg2 }));
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ accountId: first.body.accountId, created: false });
    expect(second.body.apiKey).not.toBe(first.body.apiKey);
    expect((await api(net.url, "GET", "/accounts/me", { key: second.body.apiKey })).status).toBe(200);
    // Both sessions' keys keep working.
    expect((await api(net.url, "GET", "/accounts/me", { key: first.body.apiKey })).status).toBe(200);
  });

  it("refuses a nonce the server never issued, and a used one (replay)", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const forged = message(wallet, "abcdefgh12345678abcdefgh12345678");
    expectInvalid(await verify(forged, await wallet.signMessage({ message: forged })), /nonce/);

    const msg = message(wallet, await nonce());
    const signature = await wallet.signMessage({ message: msg });
    expect((await verify(msg, signature)).status).toBe(200);
    expectInvalid(await verify(msg, signature), /already used nonce/);
  });

  it("refuses a message for another domain, an expired one, one not yet valid, and another chain's when chains are limited", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const other = message(wallet, await nonce(), { domain: "evil.example" });
    expectInvalid(await verify(other, await wallet.signMessage({ message: other })), /for evil\.example, not this server/);

    const expired = message(wallet, await nonce(), { issuedAt: new Date(Date.now() - 120_000), expirationTime: new Date(Date.now() - 60_000) });
    expectInvalid(await verify(expired, await wallet.signMessage({ message: expired })), /expired or not yet valid/);

    const early = message(wallet, await nonce(), { notBefore: new Date(Date.now() + 60_000) });
    expectInvalid(await verify(early, await wallet.signMessage({ message: early })), /expired or not yet valid/);

    // A nonce spent by a failed attempt stays spent: the same nonce with a corrected message fails too.
    const n = await nonce();
    const bad = message(wallet, n, { domain: "evil.example" });
    expectInvalid(await verify(bad, await wallet.signMessage({ message: bad })), /not this server/);
    const good = message(wallet, n);
    expectInvalid(await verify(good, await wallet.signMessage({ message: good })), /already used nonce/);

    // A server with a chain accepts only its chain id.
    const onChain = message(wallet, await nonce(), { chainId: 1 });
    const req = { message: onChain, signature: await wallet.signMessage({ message: onChain }) };
    await expect(checkSiwe(net.server.app, req, { chainIds: [31337] })).rejects.toMatchObject({ code: "SIWE_INVALID", message: expect.stringMatching(/chain 1 is not allowed/) });
  });

  it("refuses a signature by another key, a signature of another message, and garbage", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const impostor = privateKeyToAccount(generatePrivateKey());
    const msg = message(wallet, await nonce());
    expectInvalid(await verify(msg, await impostor.signMessage({ message: msg })), /not 0x[0-9a-fA-F]{40}'s signature/);

    const msg2 = message(wallet, await nonce());
    expectInvalid(await verify(msg2, await wallet.signMessage({ message: `${msg2}\n` })), /signature/);

    const msg3 = message(wallet, await nonce());
    expectInvalid(await verify(msg3, `0x${"11".repeat(65)}`), /signature/);

    expectInvalid(await verify("hello, not a SIWE message", await wallet.signMessage({ message: "hello" })), /EIP-4361/);
    const badShape = await verify(msg3, "not hex");
    expect(badShape.status).toBe(400);
    expect(badShape.body.error.code).toBe("VALIDATION_FAILED");
  });

  it("with an API key, links the wallet to that account; a wallet linked elsewhere is WALLET_IN_USE", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const msg = message(wallet, await nonce());
    const linked = await verify(msg, await wallet.signMessage({ message: msg }), net.apiKey);
    expect(linked.status).toBe(200);
    expect(linked.body).toMatchObject({ accountId: net.accountId, walletAddress: wallet.address.toLowerCase(), created: false });
    // The new key is the same (funded) account's.
    expect((await api(net.url, "GET", "/accounts/me", { key: linked.body.apiKey })).body.accountId).toBe(net.accountId);

    expect((await api(net.url, "GET", "/accounts/me/wallet", { key: net.apiKey })).body).toEqual({ walletAddress: wallet.address.toLowerCase() });

    // Signing in with the wallet alone now reaches that account.
    const msg2 = message(wallet, await nonce());
    const signedIn = await verify(msg2, await wallet.signMessage({ message: msg2 }));
    expect(signedIn.body).toMatchObject({ accountId: net.accountId, created: false });

    // Another account cannot take the wallet over.
    const other = await api(net.url, "POST", "/accounts");
    const msg3 = message(wallet, await nonce());
    const taken = await verify(msg3, await wallet.signMessage({ message: msg3 }), other.body.apiKey);
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe("WALLET_IN_USE");
    expect((await net.db.prisma.account.findUnique({ where: { id: other.body.accountId } }))?.walletAddress).toBeNull();
    expect((await api(net.url, "GET", "/accounts/me/wallet", { key: other.body.apiKey })).body).toEqual({ walletAddress: null });
  });

  it("works the same over tRPC (the web app's client), and is in the OpenAPI document", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${net.url}/trpc` })] });
    const { nonce: n } = await trpc.auth.siweNonce.mutate();
    const msg = message(wallet, n);
    const out = await trpc.auth.siweVerify.mutate({ message: msg, signature: await wallet.signMessage({ message: msg }) });
    expect(out).toMatchObject({ walletAddress: wallet.address.toLowerCase(), created: true });
    await expect(trpc.auth.siweVerify.mutate({ message: msg, signature: await wallet.signMessage({ message: msg }) })).rejects.toMatchObject({
      data: { stunCode: "SIWE_INVALID", httpStatus: 401 },
    });

    // No chain on this server: no on-chain settlements to list.
    const noChain = await api(net.url, "GET", "/chain/settlements", { key: net.apiKey });
    expect(noChain.status).toBe(404);
    expect(noChain.body.error.code).toBe("NOT_FOUND");

    const doc = await api(net.url, "GET", "/openapi.json");
    expect(doc.body.paths["/api/v1/auth/siwe/nonce"].post.security).toBeUndefined();
    expect(doc.body.paths["/api/v1/auth/siwe/verify"].post.requestBody.content["application/json"].schema.properties.signature).toBeDefined();
  });
});
