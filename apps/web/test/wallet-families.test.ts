import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { tonWallet } from "../../server/test/support/wallet-signers";
import { launchBrowser, type TestBrowser } from "./support/browser";
import { ARTIFACTS, startWebNetwork, type TestNetwork } from "./support/network";
import { type SolanaTestWallet, type TonTestWallet, installSolanaTestWallet, installTonTestWallet, stubNonLocalRequests } from "./support/wallet-families";

/**
 * Solana and TON wallets in the web app, in real Chromium: a Wallet Standard Solana wallet and a
 * TonConnect injected (JS bridge) wallet with real ed25519 keys (support/wallet-families.ts).
 * Sign-In With Solana and TonConnect sign-in create an account; linking a Solana (signMessage fallback) and a TON wallet
 * (ton_proof) to a signed-in account; the wallet page lists every linked wallet with its family and
 * network; the server's codes (WALLET_IN_USE, SIWS_INVALID, TON_PROOF_INVALID) show in the page.
 * Every request off this machine is stubbed (TonConnect must not need the internet) and the pages'
 * consoles stay free of errors.
 */
describe("web app: Solana and TON wallets", () => {
  let net: TestNetwork;
  // Browser A: a fresh user whose Solana wallet (with solana:signIn) signs in, then links a TON wallet.
  let a: TestBrowser;
  let pageA: Page;
  let solanaA: SolanaTestWallet;
  let tonA: TonTestWallet;
  let stubbedA: string[];
  // Browser B: the network's funded requester (API key) links a Solana wallet that has only signMessage.
  let b: TestBrowser;
  let pageB: Page;
  let solanaB: SolanaTestWallet;
  const sharedTon = tonWallet();

  const host = () => new URL(net.url).host;
  const linkedRows = (p: Page) => p.getByTestId("linked-wallet");
  const familyRow = (p: Page, family: string) => p.locator(`[data-testid="linked-wallet"][data-family="${family}"]`);

  beforeAll(async () => {
    // One cluster and one TON network accepted, so a wallet on another one is refused.
    net = await startWebNetwork({ providers: 0, env: { SIWS_NETWORKS: "mainnet", TON_NETWORKS: "-239" } });
    a = await launchBrowser();
    stubbedA = await stubNonLocalRequests(a.context);
    solanaA = await installSolanaTestWallet(a.context, { name: "Stun Test Solana" });
    tonA = await installTonTestWallet(a.context, { wallet: sharedTon });
    pageA = await a.newPage();
    b = await launchBrowser();
    await stubNonLocalRequests(b.context);
    solanaB = await installSolanaTestWallet(b.context, { name: "Stun Message Signer", signIn: false });
    await installTonTestWallet(b.context, { wallet: sharedTon });
    pageB = await b.newPage();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await net?.close();
  });

  it("signs in with Solana (solana:signIn), creating the wallet's account, and shows it on the wallet page", async () => {
    await pageA.goto(`${net.url}/signin?next=/wallet`);
    const solana = pageA.getByRole("region", { name: "Sign in with Solana" });
    await solana.getByRole("button", { name: "Sign in with Stun Test Solana" }).click();
    await pageA.waitForURL((u) => u.pathname === "/wallet");

    expect(solanaA.signedMessages).toHaveLength(1);
    expect(solanaA.signedMessages[0]).toContain(`${host()} wants you to sign in with your Solana account:\n${solanaA.address}`);
    expect(solanaA.signedMessages[0]).toContain("Chain ID: mainnet");
    expect(await pageA.evaluate(() => localStorage.getItem("stun.apiKey"))).toMatch(/^stun_/);
    const row = await net.db.prisma.linkedWallet.findUnique({ where: { family_address: { family: "solana", address: solanaA.address } } });
    expect(row?.network).toBe("solana:mainnet");

    await expect.poll(() => familyRow(pageA, "solana").getByTestId("linked-wallet-address").textContent()).toBe(solanaA.address);
    expect(await familyRow(pageA, "solana").getByTestId("linked-wallet-network").textContent()).toBe("solana:mainnet");
    expect(a.errors()).toEqual([]);
  });

  it("links a TON wallet with TonConnect ton_proof (injected JS bridge), proving this server's domain", async () => {
    const ton = pageA.getByRole("region", { name: "Link a TON wallet" });
    await ton.getByRole("button", { name: "Link Tonkeeper" }).click();
    await expect.poll(() => familyRow(pageA, "ton").getByTestId("linked-wallet-address").textContent(), { timeout: 15_000 }).toBe(sharedTon.address);
    expect(await familyRow(pageA, "ton").getByTestId("linked-wallet-network").textContent()).toBe("ton:-239 (mainnet)");
    // The wallet read the manifest this server serves and proved its host.
    expect(tonA.proofs).toHaveLength(1);
    expect(tonA.proofs[0]!.domain).toBe(host());
    const solanaRow = await net.db.prisma.linkedWallet.findUnique({ where: { family_address: { family: "solana", address: solanaA.address } } });
    const tonRow = await net.db.prisma.linkedWallet.findUnique({ where: { family_address: { family: "ton", address: sharedTon.address } } });
    expect(tonRow?.accountId).toBe(solanaRow?.accountId);
    expect(a.errors()).toEqual([]);
  });

  it("lists the EVM, Solana and TON wallets of the account, in that order, with their networks", async () => {
    // An Ethereum wallet linked through the API (the EVM flow in the page is wallet.test.ts's).
    const key = (await pageA.evaluate(() => localStorage.getItem("stun.apiKey")))!;
    const evm = privateKeyToAccount(generatePrivateKey());
    const post = async (path: string, body?: unknown) => {
      const res = await fetch(`${net.url}/api/v1${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(res.status).toBe(200);
      return res.json() as Promise<Record<string, string>>;
    };
    const { nonce } = await post("/auth/siwe/nonce");
    const message = createSiweMessage({ domain: host(), address: evm.address, uri: net.url, version: "1", chainId: 1, nonce: nonce!, issuedAt: new Date() });
    const linked = await post("/auth/siwe/verify", { message, signature: await evm.signMessage({ message }) });
    await pageA.evaluate((k) => localStorage.setItem("stun.apiKey", k), linked.apiKey!);

    await pageA.reload();
    await expect.poll(() => linkedRows(pageA).evaluateAll((rows) => rows.map((r) => r.getAttribute("data-family")))).toEqual(["evm", "solana", "ton"]);
    expect(await familyRow(pageA, "evm").getByTestId("linked-wallet-address").textContent()).toBe(evm.address.toLowerCase());
    expect(await familyRow(pageA, "evm").getByTestId("linked-wallet-network").textContent()).toBe("eip155:1");
    expect(await familyRow(pageA, "solana").getByTestId("linked-wallet-address").textContent()).toBe(solanaA.address);
    expect(await familyRow(pageA, "ton").getByTestId("linked-wallet-address").textContent()).toBe(sharedTon.address);
    await pageA.locator("#linked-wallets").screenshot({ path: path.join(ARTIFACTS, "wallet-families.png") });
    // This server runs neither rail: the page says so per family.
    expect(await pageA.getByTestId("rail-off-solana").textContent()).toBe("Solana deposits are not configured on this server.");
    expect(await pageA.getByTestId("rail-off-ton").textContent()).toBe("TON deposits are not configured on this server.");
    expect(a.errors()).toEqual([]);
  });

  it("links a Solana wallet without solana:signIn (signMessage of the SIWS text) to an API-key account", async () => {
    await pageB.goto(`${net.url}/signin?next=/wallet`);
    await pageB.getByLabel("API key").fill(net.apiKey);
    await pageB.getByRole("button", { name: "Sign in", exact: true }).click();
    await pageB.waitForURL((u) => u.pathname === "/wallet");
    await pageB.getByTestId("no-linked-wallets").waitFor();
    const link = pageB.getByRole("region", { name: "Link a Solana wallet" });
    await link.getByRole("button", { name: "Link Stun Message Signer" }).click();
    await familyRow(pageB, "solana").or(link.getByRole("alert")).first().waitFor();
    expect(await link.getByRole("alert").count(), (await link.getByRole("alert").allTextContents()).join()).toBe(0);
    await expect.poll(() => familyRow(pageB, "solana").getByTestId("linked-wallet-address").textContent()).toBe(solanaB.address);
    expect(solanaB.signedMessages).toHaveLength(1);
    expect(solanaB.signedMessages[0]).toMatch(
      new RegExp(`^${host().replace(/[.]/g, "\\.")} wants you to sign in with your Solana account:\\n${solanaB.address}\\n\\nLink this wallet to my Stun account\\.\\n\\nURI: `),
    );
    const me = (await (await fetch(`${net.url}/api/v1/accounts/me`, { headers: { authorization: `Bearer ${net.apiKey}` } })).json()) as { accountId: string };
    const row = await net.db.prisma.linkedWallet.findUnique({ where: { family_address: { family: "solana", address: solanaB.address } } });
    expect(row?.accountId).toBe(me.accountId);
    expect(b.errors()).toEqual([]);
  });

  it("a TON wallet linked to another account shows WALLET_IN_USE", async () => {
    await b.allowErrors(/status of 409/, async () => {
      await pageB.getByRole("region", { name: "Link a TON wallet" }).getByRole("button", { name: "Link Tonkeeper" }).click();
      const alert = pageB.getByRole("region", { name: "Link a TON wallet" }).getByRole("alert");
      await expect.poll(() => alert.textContent(), { timeout: 15_000 }).toContain("WALLET_IN_USE");
    });
    expect(await familyRow(pageB, "ton").count()).toBe(0);
    expect(b.errors()).toEqual([]);
  });

  it("a Solana wallet on another cluster shows SIWS_INVALID; a TON wallet on testnet shows TON_PROOF_INVALID", async () => {
    const c = await launchBrowser();
    try {
      await stubNonLocalRequests(c.context);
      await installSolanaTestWallet(c.context, { name: "Devnet Solana", forceChainId: "devnet" });
      await installTonTestWallet(c.context, { wallet: tonWallet(), network: "-3" });
      const page = await c.newPage();
      await page.goto(`${net.url}/signin`);
      await c.allowErrors(/status of 401/, async () => {
        const solana = page.getByRole("region", { name: "Sign in with Solana" });
        await solana.getByRole("button", { name: "Sign in with Devnet Solana" }).click();
        await expect.poll(() => solana.getByRole("alert").textContent()).toContain("SIWS_INVALID");
        expect(await solana.getByRole("alert").textContent()).toMatch(/devnet/);
        const ton = page.getByRole("region", { name: "Sign in with TON" });
        await ton.getByRole("button", { name: "Sign in with Tonkeeper" }).click();
        await expect.poll(() => ton.getByRole("alert").textContent(), { timeout: 15_000 }).toContain("TON_PROOF_INVALID");
      });
      expect(page.url()).toMatch(/\/signin$/);
      expect(await page.evaluate(() => localStorage.getItem("stun.apiKey"))).toBeNull();
      expect(c.errors()).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it("signs in with TON (TonConnect ton_proof), creating the wallet's account, and shows it on the wallet page", async () => {
    const c = await launchBrowser();
    try {
      await stubNonLocalRequests(c.context);
      const wallet = tonWallet();
      const ton = await installTonTestWallet(c.context, { wallet });
      const page = await c.newPage();
      await page.goto(`${net.url}/signin?next=/wallet`);
      await page.getByRole("region", { name: "Sign in with TON" }).getByRole("button", { name: "Sign in with Tonkeeper" }).click();
      await page.waitForURL((u) => u.pathname === "/wallet", { timeout: 15_000 });

      expect(ton.proofs).toHaveLength(1);
      expect(ton.proofs[0]!.domain).toBe(host());
      expect(await page.evaluate(() => localStorage.getItem("stun.apiKey"))).toMatch(/^stun_/);
      const row = await net.db.prisma.linkedWallet.findUnique({ where: { family_address: { family: "ton", address: wallet.address } } });
      expect(row?.network).toBe("ton:-239");
      // A new account of its own: not browser A's, which linked another TON wallet.
      const solanaRow = await net.db.prisma.linkedWallet.findUnique({ where: { family_address: { family: "solana", address: solanaA.address } } });
      expect(row?.accountId).not.toBe(solanaRow?.accountId);
      await expect.poll(() => familyRow(page, "ton").getByTestId("linked-wallet-address").textContent()).toBe(wallet.address);
      expect(c.errors()).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it("the pages asked nothing of the internet (the stub saw no request; TonConnect read the local wallets list)", () => {
    expect(stubbedA).toEqual([]);
  });
});
