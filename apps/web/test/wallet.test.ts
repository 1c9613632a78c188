import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startAnvil, type Anvil } from "@stun/contracts/anvil";
import { launchBrowser, type TestBrowser } from "./support/browser";
import { ARTIFACTS, startWebNetwork, type TestNetwork } from "./support/network";
import { installTestWallet, type TestWallet } from "./support/wallet";

/**
 * Wallets in the web app, in real Chromium with a test EIP-1193 wallet (support/wallet.ts: a viem
 * local account in the test process behind `window.ethereum`): connect, Sign-In with Ethereum, the
 * wallet page's states. Every page's console stays free of errors.
 */
describe("web app: wallet on a server without a chain", () => {
  let net: TestNetwork;
  let anvil: Anvil;
  let browser: TestBrowser;
  let page: Page;
  let wallet: TestWallet;

  beforeAll(async () => {
    anvil = await startAnvil({ accounts: 2 });
    net = await startWebNetwork();
    browser = await launchBrowser();
    wallet = await installTestWallet(browser.context, { account: privateKeyToAccount(generatePrivateKey()), rpcUrl: anvil.rpcUrl, chainId: anvil.chain.id });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await net?.close();
    await anvil?.stop();
  });

  it("without a browser wallet, says so (sign-in and wallet page)", async () => {
    const plain = await launchBrowser();
    try {
      const p = await plain.newPage();
      await p.goto(`${net.url}/signin`);
      await p.getByTestId("no-wallet").waitFor();
      await p.goto(`${net.url}/wallet`);
      await p.getByTestId("no-wallet").waitFor();
      await p.getByTestId("chain-off").waitFor();
      expect(plain.errors()).toEqual([]);
    } finally {
      await plain.close();
    }
  });

  it("connects the injected wallet from the nav and signs in with Ethereum, creating the wallet's account", async () => {
    await page.goto(`${net.url}/signin`);
    const card = page.locator("section", { has: page.getByRole("heading", { name: "Sign in with Ethereum" }) });
    await card.getByRole("button", { name: "Connect wallet", exact: true }).click();
    const address = wallet.account.address;
    await expect.poll(() => page.getByTestId("nav-wallet").textContent()).toBe(`${address.slice(0, 6)}…${address.slice(-4)}`);
    await card.getByRole("button", { name: "Sign in with Ethereum", exact: true }).click();
    await page.waitForURL(/\/models$/);

    // The wallet signed one EIP-4361 message for this origin.
    expect(wallet.signedMessages).toHaveLength(1);
    const host = new URL(net.url).host;
    expect(wallet.signedMessages[0]).toContain(`${host} wants you to sign in with your Ethereum account:\n${address}`);
    expect(wallet.signedMessages[0]).toContain("Sign in to Stun with this wallet.");

    const key = await page.evaluate(() => localStorage.getItem("stun.apiKey"));
    expect(key).toMatch(/^stun_/);
    const row = await net.db.prisma.account.findUnique({ where: { walletAddress: address.toLowerCase() } });
    expect(row).not.toBeNull();
    await expect.poll(() => page.getByTestId("nav-balance").textContent()).toBe("0");
    expect(browser.errors()).toEqual([]);
  });

  it("shows the wallet, its link to the account, and that on-chain settlement is off", async () => {
    await page.goto(`${net.url}/wallet`);
    await expect.poll(() => page.getByTestId("wallet-address").textContent()).toBe(wallet.account.address);
    await page.getByTestId("wallet-linked").waitFor();
    await page.getByTestId("chain-off").waitFor();
    expect(await page.getByTestId("wallet-chain").textContent()).toBe(`chain ${anvil.chain.id}`);
    await page.screenshot({ path: path.join(ARTIFACTS, "wallet-no-chain.png"), fullPage: true });

    await page.goto(`${net.url}/account`);
    await expect.poll(() => page.getByTestId("account-wallet").textContent()).toBe(wallet.account.address.toLowerCase());
    expect(browser.errors()).toEqual([]);
  });

  it("links the wallet to an account signed in with an API key", async () => {
    // Sign in with the funded requester's key, then link this wallet? It is linked elsewhere already:
    // the server refuses (WALLET_IN_USE) and the page says so.
    await page.evaluate((k) => localStorage.setItem("stun.apiKey", k), net.apiKey);
    await page.goto(`${net.url}/wallet`);
    await browser.allowErrors(/status of 409/, async () => {
      await page.getByRole("button", { name: "Link this wallet", exact: true }).click();
      const alert = page.getByRole("alert").filter({ hasText: "Sign-in with Ethereum failed" });
      await alert.waitFor();
      expect(await alert.textContent()).toContain("WALLET_IN_USE");
    });

    // A second wallet links fine.
    const other = await launchBrowser();
    try {
      const otherWallet = await installTestWallet(other.context, { account: privateKeyToAccount(generatePrivateKey()), rpcUrl: anvil.rpcUrl, chainId: anvil.chain.id });
      const p = await other.newPage();
      await p.goto(`${net.url}/`);
      await p.evaluate((k) => localStorage.setItem("stun.apiKey", k), net.apiKey);
      await p.goto(`${net.url}/wallet`);
      await p.getByRole("main").getByRole("button", { name: "Connect wallet", exact: true }).click();
      await p.getByRole("button", { name: "Link this wallet", exact: true }).click();
      await p.getByTestId("wallet-linked").waitFor();
      expect(otherWallet.signedMessages[0]).toContain("Link this wallet to my Stun account.");
      const row = await net.db.prisma.account.findUnique({ where: { id: net.accountId } });
      expect(row?.walletAddress).toBe(otherWallet.account.address.toLowerCase());
      // Still the funded account, under a new key.
      await expect.poll(() => p.getByTestId("ledger-balance").count()).toBe(0);
      await expect.poll(() => p.getByTestId("nav-balance").textContent()).toBe("1,000,000,000");
      expect(other.errors()).toEqual([]);
    } finally {
      await other.close();
    }
    expect(browser.errors()).toEqual([]);
  });
});
