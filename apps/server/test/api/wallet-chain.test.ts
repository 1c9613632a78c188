import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { type LocalChain, startLocalChain } from "../../src/chain";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api } from "../support/api";

/**
 * What the wallet parts of the web app read from a server with a chain (CHAIN=local on a real
 * anvil): /web-config.json's `chain`, Sign-In with Ethereum limited to the server's chain id, and
 * chain.settlements (the caller's ChainSettlement rows with their transaction hashes).
 */
describeDb("wallet APIs on a server with a chain", () => {
  let chain: LocalChain;
  let net: TestNetwork;
  let webDir: string;

  beforeAll(async () => {
    webDir = mkdtempSync(path.join(os.tmpdir(), "stun-web-"));
    writeFileSync(path.join(webDir, "index.html"), "<!doctype html><title>stun</title>");
    chain = await startLocalChain({ demoAccounts: 1 });
    // The adapter polls once at start, then not within the test: it leaves the rows written below alone.
    net = await startTestNetwork({ env: { ...chain.env, WEB_DIR: webDir, CHAIN_POLL_MS: "3600000" } });
  });
  afterAll(async () => {
    await net?.close();
    await chain?.stop();
    if (webDir) rmSync(webDir, { recursive: true, force: true });
  });

  it("/web-config.json describes the chain: id, browser RPC URL, marketplace, ledger token (mUSD), STUN", async () => {
    const cfg = (await (await fetch(`${net.url}/web-config.json`)).json()) as Record<string, any>;
    expect(cfg.chain).toMatchObject({
      network: "local",
      chainId: 31337,
      name: "Anvil (local)",
      rpcUrl: chain.rpcUrl,
      marketplace: chain.addresses.marketplace,
      ledgerToken: chain.addresses.token,
      stakeToken: { address: chain.addresses.stunToken, symbol: "STUN", decimals: 18 },
      stunToken: { address: chain.addresses.stunToken, symbol: "STUN", decimals: 18 },
      tokens: [{ address: chain.addresses.token, symbol: "mUSD", decimals: 6 }],
    });
    expect(cfg.chain.explorerUrl).toBeUndefined();
  });

  it("Sign-In with Ethereum accepts only the server's chain id", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const domain = new URL(net.url).host;
    const signIn = async (chainId: number) => {
      const { nonce } = (await api(net.url, "POST", "/auth/siwe/nonce")).body as { nonce: string };
      const message = createSiweMessage({ domain, address: wallet.address, uri: net.url, version: "1", chainId, nonce });
      return api(net.url, "POST", "/auth/siwe/verify", { json: { message, signature: await wallet.signMessage({ message }) } });
    };
    const other = await signIn(1);
    expect(other.status).toBe(401);
    expect(other.body.error).toMatchObject({ code: "SIWE_INVALID", message: expect.stringContaining("chain 1 is not allowed here (31337)") });
    const ok = await signIn(31337);
    expect(ok.status).toBe(200);
    expect(ok.body.walletAddress).toBe(wallet.address.toLowerCase());
  });

  it("chain.settlements lists the caller's on-chain settlements with their transaction hashes (not ledger-only ones, not others')", async () => {
    const other = (await api(net.url, "POST", "/accounts")).body as { accountId: string; apiKey: string };
    const db = net.db.prisma;
    const base = { chainId: 31337, entry: {}, amount: 100n };
    const tx = `0x${"ab".repeat(32)}`;
    await db.chainSettlement.create({ data: { ...base, taskId: "tsk_settle_1", requesterId: net.accountId, status: "submitted", txHash: tx, batchId: "b1", createdAt: new Date(Date.now() - 2000) } });
    await db.chainSettlement.create({
      data: { ...base, taskId: "tsk_settle_2", requesterId: net.accountId, status: "confirmed", txHash: tx, batchId: "b1", entry: { releaseAt: "1900000000" }, confirmedAt: new Date() },
    });
    await db.chainSettlement.create({ data: { ...base, taskId: "tsk_settle_3", requesterId: net.accountId, status: "offchain" } });
    await db.chainSettlement.create({ data: { ...base, taskId: "tsk_settle_4", requesterId: other.accountId, status: "pending" } });

    const res = await api(net.url, "GET", "/chain/settlements", { key: net.apiKey });
    expect(res.status).toBe(200);
    expect(res.body.settlements.map((s: { taskId: string }) => s.taskId)).toEqual(["tsk_settle_2", "tsk_settle_1"]);
    expect(res.body.settlements[0]).toMatchObject({ status: "confirmed", amount: "100", txHash: tx, batchId: "b1", releaseAt: new Date(1_900_000_000_000).toISOString() });
    expect(res.body.settlements[1]).toMatchObject({ status: "submitted", txHash: tx, releaseAt: null, confirmedAt: null });
    expect((await api(net.url, "GET", "/chain/settlements?limit=1", { key: net.apiKey })).body.settlements).toHaveLength(1);
    expect((await api(net.url, "GET", "/chain/settlements", { key: other.apiKey })).body.settlements.map((s: { taskId: string }) => s.taskId)).toEqual(["tsk_settle_4"]);
    expect((await api(net.url, "GET", "/chain/settlements")).status).toBe(401);
  });
});
