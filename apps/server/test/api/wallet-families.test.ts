import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTRPCClient, httpLink } from "@trpc/client";
import { base58 } from "@scure/base";
import { beginCell } from "@ton/core";
import { keyPairFromSeed } from "@ton/crypto";
import { WalletContractV3R1, WalletContractV3R2, WalletContractV4, WalletContractV5R1 } from "@ton/ton";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import type { AppRouter } from "../../src/trpc/routers/_app";
import { checkSiws, parseSiwsMessage } from "../../src/services/siws";
import { checkTonProof, tonWalletPublicKey } from "../../src/services/ton-proof";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api } from "../support/api";
import { createSignInMessageText, solanaWallet, tonProof, tonWallet, type SiwsInput, type SolanaWallet } from "../support/wallet-signers";

describe("TON wallet contracts", () => {
  it("reads the public key from the state_init of every wallet version the server knows (v3R1, v3R2, v4R2, v5R1)", () => {
    for (const Contract of [WalletContractV3R1, WalletContractV3R2, WalletContractV4, WalletContractV5R1]) {
      const keyPair = keyPairFromSeed(randomBytes(32));
      const w = Contract.create({ workchain: 0, publicKey: keyPair.publicKey });
      expect(tonWalletPublicKey(w.init)?.key.toString("hex")).toBe(keyPair.publicKey.toString("hex"));
    }
    // Another contract (a wallet's data under unknown code) is not a wallet.
    const w = WalletContractV4.create({ workchain: 0, publicKey: Buffer.alloc(32, 1) });
    expect(tonWalletPublicKey({ code: beginCell().storeUint(7, 8).endCell(), data: w.init.data })).toBeUndefined();
  });
});

describe("parseSiwsMessage", () => {
  it("reads the wallet-standard format with every optional field, and refuses what is not one", () => {
    const text = createSignInMessageText({
      domain: "stun.example",
      address: "11111111111111111111111111111111",
      statement: "Sign in to Stun",
      uri: "https://stun.example",
      version: "1",
      chainId: "solana:mainnet",
      nonce: "0123456789abcdef0123456789abcdef",
      issuedAt: "2026-12-04T10:00:00.000Z",
      expirationTime: "2026-12-04T10:10:00.000Z",
      notBefore: "2026-12-04T10:00:00.000Z",
      requestId: "r1",
      resources: ["https://a.example", "ipfs://b"],
    });
    expect(parseSiwsMessage(text)).toMatchObject({ domain: "stun.example", statement: "Sign in to Stun", chainId: "solana:mainnet", requestId: "r1", resources: ["https://a.example", "ipfs://b"] });
    expect(() => parseSiwsMessage(text.replace("Solana", "Ethereum"))).toThrow(/not a Sign-In With Solana message/);
    expect(() => parseSiwsMessage(`${text}\nNonce: again`)).toThrow(/Nonce appears twice/);
    expect(() => parseSiwsMessage(text.replace("Version: 1", "Version: 2"))).toThrow(/version 2 is not 1/);
    expect(() => parseSiwsMessage(text.replace(/\nNonce: .*/, ""))).toThrow(/lacks nonce/);
  });
});

/**
 * One account, wallets of three families: Sign-In With Solana (real ed25519 keys, the
 * wallet-standard message) and TonConnect ton_proof (real WalletContractV4/V5R1 state_init) next to
 * SIWE, over REST and tRPC; every wrong input answers 401 SIWS_INVALID / TON_PROOF_INVALID, or 409
 * WALLET_IN_USE for a wallet another account holds.
 */
describeDb("wallet sign-ins of three families: SIWS, ton_proof, SIWE", () => {
  let net: TestNetwork;
  let domain: string;

  beforeAll(async () => {
    net = await startTestNetwork();
    domain = new URL(net.url).host;
  });
  afterAll(() => net?.close());

  const siwsNonce = async (): Promise<string> => {
    const res = await api(net.url, "POST", "/auth/siws/nonce");
    expect(res.status).toBe(200);
    expect(res.body.nonce).toMatch(/^[0-9a-f]{32}$/);
    return res.body.nonce as string;
  };
  const tonPayload = async (): Promise<string> => {
    const res = await api(net.url, "POST", "/auth/ton-proof/payload");
    expect(res.status).toBe(200);
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.now());
    return res.body.payload as string;
  };

  const siwsMessage = (wallet: SolanaWallet, nonce: string, over: Partial<SiwsInput> = {}) =>
    createSignInMessageText({
      domain,
      address: wallet.address,
      statement: "Sign in to Stun",
      uri: net.url,
      version: "1",
      chainId: "devnet",
      nonce,
      issuedAt: new Date().toISOString(),
      expirationTime: new Date(Date.now() + 5 * 60_000).toISOString(),
      ...over,
    });

  const siwsVerify = (message: string, signature: string, publicKey: string, key?: string) =>
    api(net.url, "POST", "/auth/siws/verify", { json: { message, signature, publicKey }, ...(key ? { key } : {}) });
  const tonVerify = (body: unknown, key?: string) => api(net.url, "POST", "/auth/ton-proof/verify", { json: body, ...(key ? { key } : {}) });

  const expectCode = (res: { status: number; body: any }, status: number, code: string, reason: RegExp) => {
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toMatch(reason);
  };

  it("SIWS: the first sign-in creates the wallet's account, the next finds it; signatures in base58 and base64 both verify", async () => {
    const wallet = solanaWallet();
    const msg = siwsMessage(wallet, await siwsNonce());
    const first = await siwsVerify(msg, base58.encode(wallet.sign(msg)), wallet.address);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ walletAddress: wallet.address, family: "solana", network: "solana:devnet", created: true });
    const me = await api(net.url, "GET", "/accounts/me", { key: first.body.apiKey });
    expect(me.body.accountId).toBe(first.body.accountId);

    const msg2 = siwsMessage(wallet, await siwsNonce(), { chainId: "solana:mainnet", statement: undefined });
    const second = await siwsVerify(msg2, wallet.sign(msg2).toString("base64"), wallet.address);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ accountId: first.body.accountId, created: false, network: "solana:mainnet" });
    const listed = await api(net.url, "GET", "/accounts/me/wallets", { key: second.body.apiKey });
    // The link keeps the cluster it was made on; a later sign-in does not move it.
    expect(listed.body.wallets).toEqual([{ family: "solana", network: "solana:devnet", address: wallet.address, linkedAt: expect.any(String) }]);
    // A Solana-only account has no EVM payout address.
    expect((await net.db.prisma.account.findUnique({ where: { id: first.body.accountId } }))?.walletAddress).toBeNull();
  });

  it("SIWS refuses an EVM address, another cluster, another domain, an expired, reused or other family's nonce, an expired message, another key's signature", async () => {
    const wallet = solanaWallet();
    const evm = privateKeyToAccount(generatePrivateKey());
    // Wrong family: an EVM address as the message's address and public key.
    const asEvm = siwsMessage(wallet, await siwsNonce(), { address: evm.address });
    expectCode(await siwsVerify(asEvm, base58.encode(wallet.sign(asEvm)), evm.address), 401, "SIWS_INVALID", /is not a Solana public key/);
    // A whole SIWE message at SIWS.
    const siwe = createSiweMessage({ domain, address: evm.address, uri: net.url, version: "1", chainId: 1, nonce: await siwsNonce() });
    expectCode(await siwsVerify(siwe, base58.encode(wallet.sign(siwe)), wallet.address), 401, "SIWS_INVALID", /not a Sign-In With Solana message/);

    // Wrong chain id: an EVM chain's, and a cluster this server does not allow.
    const chain1 = siwsMessage(wallet, await siwsNonce(), { chainId: "1" });
    expectCode(await siwsVerify(chain1, base58.encode(wallet.sign(chain1)), wallet.address), 401, "SIWS_INVALID", /chain 1 is not an allowed Solana cluster/);
    const testnet = siwsMessage(wallet, await siwsNonce(), { chainId: "testnet" });
    const req = { message: testnet, signature: base58.encode(wallet.sign(testnet)), publicKey: wallet.address };
    await expect(checkSiws(net.server.app, req, { networks: ["mainnet"] })).rejects.toMatchObject({ code: "SIWS_INVALID", message: expect.stringMatching(/chain testnet is not an allowed/) });

    const other = siwsMessage(wallet, await siwsNonce(), { domain: "evil.example" });
    expectCode(await siwsVerify(other, base58.encode(wallet.sign(other)), wallet.address), 401, "SIWS_INVALID", /for evil\.example, not this server/);

    // Reused nonce (replay), a nonce never issued, a SIWE nonce, an expired nonce.
    const msg = siwsMessage(wallet, await siwsNonce());
    const sig = base58.encode(wallet.sign(msg));
    expect((await siwsVerify(msg, sig, wallet.address)).status).toBe(200);
    expectCode(await siwsVerify(msg, sig, wallet.address), 401, "SIWS_INVALID", /already used nonce/);
    const forged = siwsMessage(wallet, "0123456789abcdef0123456789abcdef");
    expectCode(await siwsVerify(forged, base58.encode(wallet.sign(forged)), wallet.address), 401, "SIWS_INVALID", /nonce/);
    const siweNonce = (await api(net.url, "POST", "/auth/siwe/nonce")).body.nonce as string;
    const crossed = siwsMessage(wallet, siweNonce);
    expectCode(await siwsVerify(crossed, base58.encode(wallet.sign(crossed)), wallet.address), 401, "SIWS_INVALID", /nonce/);
    const late = siwsMessage(wallet, await siwsNonce(), { expirationTime: new Date(Date.now() + 60 * 60_000).toISOString() });
    const lateReq = { message: late, signature: base58.encode(wallet.sign(late)), publicKey: wallet.address };
    await expect(checkSiws(net.server.app, lateReq, { now: () => Date.now() + 11 * 60_000 })).rejects.toMatchObject({ message: expect.stringMatching(/expired or already used nonce/) });

    const expired = siwsMessage(wallet, await siwsNonce(), { issuedAt: new Date(Date.now() - 120_000).toISOString(), expirationTime: new Date(Date.now() - 60_000).toISOString() });
    expectCode(await siwsVerify(expired, base58.encode(wallet.sign(expired)), wallet.address), 401, "SIWS_INVALID", /has expired/);
    const future = siwsMessage(wallet, await siwsNonce(), { issuedAt: new Date(Date.now() + 3600_000).toISOString() });
    expectCode(await siwsVerify(future, base58.encode(wallet.sign(future)), wallet.address), 401, "SIWS_INVALID", /issued in the future/);

    // Another key's signature; a message for another address than the signer's; a changed message.
    const impostor = solanaWallet();
    const m1 = siwsMessage(wallet, await siwsNonce());
    expectCode(await siwsVerify(m1, base58.encode(impostor.sign(m1)), wallet.address), 401, "SIWS_INVALID", /is not [1-9A-HJ-NP-Za-km-z]+'s signature/);
    const m2 = siwsMessage(wallet, await siwsNonce());
    expectCode(await siwsVerify(m2, base58.encode(impostor.sign(m2)), impostor.address), 401, "SIWS_INVALID", /not the signer/);
    const m3 = siwsMessage(wallet, await siwsNonce());
    expectCode(await siwsVerify(m3, base58.encode(wallet.sign(`${m3} `)), wallet.address), 401, "SIWS_INVALID", /signature/);
    const m4 = siwsMessage(wallet, await siwsNonce());
    expectCode(await siwsVerify(m4, "not-a-signature", wallet.address), 401, "SIWS_INVALID", /64 bytes/);
    const shape = await api(net.url, "POST", "/auth/siws/verify", { json: { message: m4 } });
    expect(shape.status).toBe(400);
    expect(shape.body.error.code).toBe("VALIDATION_FAILED");
  });

  it("ton_proof: a WalletContractV4 and a V5R1 wallet sign in (the first creates the account, the next finds it)", async () => {
    for (const Contract of [WalletContractV4, WalletContractV5R1]) {
      const wallet = tonWallet(Contract);
      const first = await tonVerify(tonProof(wallet, { domain, payload: await tonPayload() }));
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ walletAddress: wallet.address, family: "ton", network: "ton:-239", created: true });
      expect(wallet.address).toMatch(/^0:[0-9a-f]{64}$/);
      const second = await tonVerify(tonProof(wallet, { domain, payload: await tonPayload(), network: "-3" }));
      expect(second.body).toMatchObject({ accountId: first.body.accountId, created: false, network: "ton:-3" });
      expect((await api(net.url, "GET", "/accounts/me", { key: second.body.apiKey })).body.accountId).toBe(first.body.accountId);
    }
  });

  it("ton_proof refuses a Solana key, another network, another domain, an old proof, a reused or expired payload, another key's signature, a state_init that is not the address's", async () => {
    const wallet = tonWallet();
    // Wrong family: a Solana public key as the address.
    const sol = solanaWallet();
    expectCode(await tonVerify({ ...tonProof(wallet, { domain, payload: await tonPayload() }), address: sol.address }), 401, "TON_PROOF_INVALID", /is not a raw TON address/);
    // A user-friendly (base64) address is not the raw form either.
    expectCode(
      await tonVerify({ ...tonProof(wallet, { domain, payload: await tonPayload() }), address: "EQBvW8Z5huBkMJYdnfAEM5JqTNkuWX3diqYENkWsIL0XggGG" }),
      401,
      "TON_PROOF_INVALID",
      /raw TON address/,
    );

    expectCode(await tonVerify(tonProof(wallet, { domain, payload: await tonPayload(), network: "1" })), 401, "TON_PROOF_INVALID", /network 1 is not allowed/);
    const testnet = tonProof(wallet, { domain, payload: await tonPayload(), network: "-3" });
    await expect(checkTonProof(net.server.app, testnet, { networks: ["-239"] })).rejects.toMatchObject({ code: "TON_PROOF_INVALID", message: expect.stringMatching(/network -3 is not allowed/) });

    expectCode(await tonVerify(tonProof(wallet, { domain: "evil.example", payload: await tonPayload() })), 401, "TON_PROOF_INVALID", /for evil\.example, not this server/);
    const lying = tonProof(wallet, { domain, payload: await tonPayload() });
    lying.proof.domain.lengthBytes += 1;
    expectCode(await tonVerify(lying), 401, "TON_PROOF_INVALID", /lengthBytes/);

    const old = tonProof(wallet, { domain, payload: await tonPayload(), timestamp: Math.floor(Date.now() / 1000) - 16 * 60 });
    expectCode(await tonVerify(old), 401, "TON_PROOF_INVALID", /older than 15 minutes/);
    const ahead = tonProof(wallet, { domain, payload: await tonPayload(), timestamp: Math.floor(Date.now() / 1000) + 3600 });
    expectCode(await tonVerify(ahead), 401, "TON_PROOF_INVALID", /in the future/);

    const once = tonProof(wallet, { domain, payload: await tonPayload() });
    expect((await tonVerify(once)).status).toBe(200);
    expectCode(await tonVerify(once), 401, "TON_PROOF_INVALID", /already used payload/);
    expectCode(await tonVerify(tonProof(wallet, { domain, payload: "f".repeat(32) })), 401, "TON_PROOF_INVALID", /payload/);
    const siwsN = await siwsNonce();
    expectCode(await tonVerify(tonProof(wallet, { domain, payload: siwsN })), 401, "TON_PROOF_INVALID", /payload/);
    const stale = tonProof(wallet, { domain, payload: await tonPayload(), timestamp: Math.floor(Date.now() / 1000) + 11 * 60 });
    await expect(checkTonProof(net.server.app, stale, { now: () => Date.now() + 11 * 60_000 })).rejects.toMatchObject({ message: expect.stringMatching(/expired or already used payload/) });

    const impostor = keyPairFromSeed(randomBytes(32));
    expectCode(await tonVerify(tonProof(wallet, { domain, payload: await tonPayload(), signer: impostor })), 401, "TON_PROOF_INVALID", /signature/);
    // The impostor's own wallet's state_init, claiming the victim's address: it does not hash to it.
    const mine = tonWallet();
    const hijack = tonProof(mine, { domain, payload: await tonPayload(), address: wallet.address });
    expectCode(await tonVerify(hijack), 401, "TON_PROOF_INVALID", /state_init does not hash to/);
    expectCode(
      await tonVerify({ ...tonProof(wallet, { domain, payload: await tonPayload() }), public_key: impostor.publicKey.toString("hex") }),
      401,
      "TON_PROOF_INVALID",
      /public_key is not the key/,
    );
    expectCode(await tonVerify(tonProof(wallet, { domain, payload: await tonPayload(), stateInit: "bm90IGEgYm9j" })), 401, "TON_PROOF_INVALID", /not a base64 BOC/);
    const shape = await tonVerify({ address: wallet.address, network: "-239" });
    expect(shape.status).toBe(400);
    expect(shape.body.error.code).toBe("VALIDATION_FAILED");
  });

  it("links an EVM, a Solana and a TON wallet to one account, lists them (REST and tRPC), each signs in to it, and none can join another account (WALLET_IN_USE)", async () => {
    const owner = await api(net.url, "POST", "/accounts");
    const key = owner.body.apiKey as string;
    const evm = privateKeyToAccount(generatePrivateKey());
    const sol = solanaWallet();
    const ton = tonWallet();

    const siweNonce = (await api(net.url, "POST", "/auth/siwe/nonce")).body.nonce as string;
    const siwe = createSiweMessage({ domain, address: evm.address, uri: net.url, version: "1", chainId: 31337, nonce: siweNonce, issuedAt: new Date() });
    const e = await api(net.url, "POST", "/auth/siwe/verify", { key, json: { message: siwe, signature: await evm.signMessage({ message: siwe }) } });
    expect(e.body).toMatchObject({ accountId: owner.body.accountId, family: "evm", network: "eip155:31337", walletAddress: evm.address.toLowerCase(), created: false });
    const sm = siwsMessage(sol, await siwsNonce());
    const s = await siwsVerify(sm, base58.encode(sol.sign(sm)), sol.address, key);
    expect(s.body).toMatchObject({ accountId: owner.body.accountId, family: "solana", created: false });
    const t = await tonVerify(tonProof(ton, { domain, payload: await tonPayload() }), key);
    expect(t.body).toMatchObject({ accountId: owner.body.accountId, family: "ton", created: false });

    const expected = [
      { family: "evm", network: "eip155:31337", address: evm.address.toLowerCase(), linkedAt: expect.any(String) },
      { family: "solana", network: "solana:devnet", address: sol.address, linkedAt: expect.any(String) },
      { family: "ton", network: "ton:-239", address: ton.address, linkedAt: expect.any(String) },
    ];
    const listed = await api(net.url, "GET", "/accounts/me/wallets", { key });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ wallets: expected });
    const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${net.url}/trpc`, headers: { authorization: `Bearer ${key}` } })] });
    expect(await trpc.auth.wallets.query()).toEqual({ wallets: expected });
    // The EVM link is still the account's payout address.
    expect((await api(net.url, "GET", "/accounts/me/wallet", { key })).body).toEqual({ walletAddress: evm.address.toLowerCase() });
    expect((await api(net.url, "GET", "/accounts/me/wallets")).status).toBe(401);

    // Each wallet alone now signs in to that account.
    const sm2 = siwsMessage(sol, await siwsNonce());
    expect((await siwsVerify(sm2, base58.encode(sol.sign(sm2)), sol.address)).body).toMatchObject({ accountId: owner.body.accountId, created: false });
    expect((await tonVerify(tonProof(ton, { domain, payload: await tonPayload() }))).body).toMatchObject({ accountId: owner.body.accountId, created: false });

    // Another account cannot take any of them.
    const other = await api(net.url, "POST", "/accounts");
    const sm3 = siwsMessage(sol, await siwsNonce());
    expectCode(await siwsVerify(sm3, base58.encode(sol.sign(sm3)), sol.address, other.body.apiKey), 409, "WALLET_IN_USE", /solana wallet .* is already linked to another account/);
    expectCode(await tonVerify(tonProof(ton, { domain, payload: await tonPayload() }), other.body.apiKey), 409, "WALLET_IN_USE", /ton wallet/);
    expect((await api(net.url, "GET", "/accounts/me/wallets", { key: other.body.apiKey })).body).toEqual({ wallets: [] });

    // A second Solana wallet replaces the first on the account (one per family); the first is free again.
    const sol2 = solanaWallet();
    const sm4 = siwsMessage(sol2, await siwsNonce());
    expect((await siwsVerify(sm4, base58.encode(sol2.sign(sm4)), sol2.address, key)).status).toBe(200);
    const after = await api(net.url, "GET", "/accounts/me/wallets", { key });
    expect(after.body.wallets.map((w: { address: string }) => w.address)).toEqual([evm.address.toLowerCase(), sol2.address, ton.address]);
    const sm5 = siwsMessage(sol, await siwsNonce());
    expect((await siwsVerify(sm5, base58.encode(sol.sign(sm5)), sol.address, other.body.apiKey)).body).toMatchObject({ accountId: other.body.accountId });

    // Linking needs an admin key.
    const readKey = await api(net.url, "POST", "/accounts/me/keys", { key, json: { name: "ro", scopes: ["read"] } });
    expect(readKey.status).toBe(201);
    const sm6 = siwsMessage(sol2, await siwsNonce());
    expectCode(await siwsVerify(sm6, base58.encode(sol2.sign(sm6)), sol2.address, readKey.body.apiKey), 403, "KEY_SCOPE", /link a wallet/);
  });

  it("races: two accounts linking one wallet at once get one link (the other WALLET_IN_USE); two wallets of one family linking to one account leave one", async () => {
    const a = await api(net.url, "POST", "/accounts");
    const b = await api(net.url, "POST", "/accounts");
    const ton = tonWallet();
    const [pa, pb] = [await tonPayload(), await tonPayload()];
    const both = await Promise.all([tonVerify(tonProof(ton, { domain, payload: pa }), a.body.apiKey), tonVerify(tonProof(ton, { domain, payload: pb }), b.body.apiKey)]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(both.find((r) => r.status === 409)!.body.error.code).toBe("WALLET_IN_USE");
    const holders = await net.db.prisma.linkedWallet.findMany({ where: { family: "ton", address: ton.address } });
    expect(holders.map((h) => h.accountId)).toEqual([both.find((r) => r.status === 200)!.body.accountId]);

    const [s1, s2] = [solanaWallet(), solanaWallet()];
    const [m1, m2] = [siwsMessage(s1, await siwsNonce()), siwsMessage(s2, await siwsNonce())];
    const links = await Promise.all([siwsVerify(m1, base58.encode(s1.sign(m1)), s1.address, a.body.apiKey), siwsVerify(m2, base58.encode(s2.sign(m2)), s2.address, a.body.apiKey)]);
    for (const r of links) expect(r.status === 200 || (r.status === 409 && r.body.error.code === "CONFLICT")).toBe(true);
    const wallets = (await api(net.url, "GET", "/accounts/me/wallets", { key: a.body.apiKey })).body.wallets as { family: string; address: string }[];
    const solana = wallets.filter((w) => w.family === "solana");
    expect(solana).toHaveLength(1);
    expect([s1.address, s2.address]).toContain(solana[0]!.address);
  });

  it("SIWS and ton_proof work over tRPC too, and are in the OpenAPI document", async () => {
    const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${net.url}/trpc` })] });
    const sol = solanaWallet();
    const { nonce } = await trpc.auth.siwsNonce.mutate();
    const msg = siwsMessage(sol, nonce);
    expect(await trpc.auth.siwsVerify.mutate({ message: msg, signature: base58.encode(sol.sign(msg)), publicKey: sol.address })).toMatchObject({ family: "solana", created: true });
    await expect(trpc.auth.siwsVerify.mutate({ message: msg, signature: base58.encode(sol.sign(msg)), publicKey: sol.address })).rejects.toMatchObject({
      data: { stunCode: "SIWS_INVALID", httpStatus: 401 },
    });
    const ton = tonWallet(WalletContractV5R1);
    const { payload } = await trpc.auth.tonProofPayload.mutate();
    expect(await trpc.auth.tonProofVerify.mutate(tonProof(ton, { domain, payload }))).toMatchObject({ family: "ton", created: true });
    await expect(trpc.auth.tonProofVerify.mutate(tonProof(ton, { domain, payload }))).rejects.toMatchObject({ data: { stunCode: "TON_PROOF_INVALID", httpStatus: 401 } });

    const doc = await api(net.url, "GET", "/openapi.json");
    expect(doc.body.paths["/api/v1/auth/siws/nonce"].post.requestBody).toBeUndefined();
    expect(doc.body.paths["/api/v1/auth/ton-proof/payload"].post.requestBody).toBeUndefined();
    expect(doc.body.paths["/api/v1/auth/siws/verify"].post.requestBody.content["application/json"].schema.properties.publicKey).toBeDefined();
    expect(doc.body.paths["/api/v1/auth/ton-proof/verify"].post.requestBody.content["application/json"].schema.properties.proof).toBeDefined();
    expect(doc.body.paths["/api/v1/accounts/me/wallets"].get.security).toEqual([{ bearer: [] }]);
  });
});
