import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { type Hex, verifyTypedData } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildMlp } from "@stun/testkit";
import { mockERC20Abi } from "@stun/contracts";
import { startAnvil, type Anvil } from "@stun/contracts/anvil";
import { type LocalChain, startLocalChain } from "../../server/src/chain";
import { api, runTask, toJsonTensor, uploadModel } from "../../server/test/support/api";
import { launchBrowser, type TestBrowser } from "./support/browser";
import { ARTIFACTS, eventually, startWebNetwork, type TestNetwork } from "./support/network";
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

/**
 * The whole wallet path on a server that settles on a chain (CHAIN=local: a real anvil with the
 * Stun contracts, from the chain adapter's startLocalChain) with a real native provider: the test
 * wallet holds a funded demo key; it signs in with Ethereum, deposits mUSD from the browser
 * (approve + deposit, signed in the wallet and sent raw to anvil), the on-chain balances and the
 * Stun balance (credited by the server's deposit scanner) update on the page, and a task paid from
 * the deposit shows its settlement transaction.
 */
describe("web app: wallet on a server with a chain (CHAIN=local)", () => {
  let chain: LocalChain;
  let net: TestNetwork;
  let browser: TestBrowser;
  let page: Page;
  let wallet: TestWallet;

  beforeAll(async () => {
    chain = await startLocalChain({ demoAccounts: 1 });
    net = await startWebNetwork({ providers: 1, env: { ...chain.env, CHAIN_POLL_MS: "200" } });
    browser = await launchBrowser();
    wallet = await installTestWallet(browser.context, { account: privateKeyToAccount(chain.demoAccounts[0]!.privateKey), rpcUrl: chain.rpcUrl, chainId: chain.chainId });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await net?.close();
    await chain?.stop();
  });

  const usd = (who: Hex) => chain.anvil.publicClient.readContract({ address: chain.addresses.token, abi: mockERC20Abi, functionName: "balanceOf", args: [who] });

  it("the test wallet signs typed data (eth_signTypedData_v4) as viem verifies it", async () => {
    await page.goto(`${net.url}/`);
    const typed = {
      domain: { name: "Stun test", version: "1", chainId: chain.chainId, verifyingContract: chain.addresses.marketplace },
      types: {
        Hello: [
          { name: "who", type: "address" },
          { name: "n", type: "uint256" },
        ],
      },
      primaryType: "Hello" as const,
      message: { who: wallet.account.address, n: 42n },
    };
    const json = JSON.stringify({
      ...typed,
      types: {
        EIP712Domain: [
          { name: "name", type: "string" },
          { name: "version", type: "string" },
          { name: "chainId", type: "uint256" },
          { name: "verifyingContract", type: "address" },
        ],
        ...typed.types,
      },
      message: { who: wallet.account.address, n: "42" },
    });
    const signature = (await page.evaluate(
      async ([address, data]) => {
        const eth = (window as unknown as { ethereum: { request(a: { method: string; params: unknown[] }): Promise<unknown> } }).ethereum;
        await eth.request({ method: "eth_requestAccounts", params: [] });
        return eth.request({ method: "eth_signTypedData_v4", params: [address, data] });
      },
      [wallet.account.address, json] as const,
    )) as Hex;
    expect(await verifyTypedData({ ...typed, address: wallet.account.address, signature })).toBe(true);
  });

  it("signs in with Ethereum, shows the chain and the wallet's balances (ETH, STUN, mUSD)", async () => {
    await page.goto(`${net.url}/signin`);
    const card = page.locator("section", { has: page.getByRole("heading", { name: "Sign in with Ethereum" }) });
    // The wallet is already authorized (above): wagmi may reconnect by itself; otherwise connect.
    const signInButton = card.getByRole("button", { name: "Sign in with Ethereum", exact: true });
    const connect = card.getByRole("button", { name: "Connect wallet", exact: true });
    await expect.poll(async () => (await signInButton.isVisible()) || (await connect.isVisible())).toBe(true);
    if (await connect.isVisible()) await connect.click();
    await signInButton.click();
    await page.waitForURL(/\/models$/);
    expect(wallet.signedMessages.at(-1)).toContain("Chain ID: 31337");

    await page.goto(`${net.url}/wallet`);
    await expect.poll(() => page.getByTestId("wallet-address").textContent()).toBe(wallet.account.address);
    expect(await page.getByTestId("wallet-chain").textContent()).toBe("Anvil (local) (31337)");
    await expect.poll(() => page.getByTestId("onchain-mUSD").textContent()).toBe("10,000");
    await expect.poll(() => page.getByTestId("onchain-STUN").textContent()).toBe("10,000");
    expect(Number((await page.getByTestId("onchain-ETH").textContent())!.replace(/,/g, ""))).toBeGreaterThan(999_000);
    await expect.poll(() => page.getByTestId("ledger-balance").textContent()).toBe("0");
    expect(browser.errors()).toEqual([]);
  });

  it("deposits mUSD from the browser (approve + deposit); the server credits the Stun balance", async () => {
    const before = wallet.sentTransactions.length;
    await page.getByLabel("Amount (mUSD)").fill("25");
    await page.getByRole("button", { name: "Deposit", exact: true }).click();
    await page.getByText("Deposit confirmed on chain").waitFor({ timeout: 30_000 });
    // Two transactions from the wallet: approve, then deposit.
    expect(wallet.sentTransactions.length - before).toBe(2);
    expect(await usd(wallet.account.address)).toBe(9_975_000_000n);
    await expect.poll(() => page.getByTestId("onchain-mUSD").textContent(), { timeout: 15_000 }).toBe("9,975");
    // 25 mUSD = 25,000,000 base units, credited by the deposit scanner.
    await expect.poll(() => page.getByTestId("ledger-balance").textContent(), { timeout: 20_000 }).toBe("25,000,000");
    await expect.poll(() => page.getByTestId("deposit-status").first().textContent()).toBe("credited");
    const depositTx = wallet.sentTransactions.at(-1)!;
    expect(await page.locator(`[data-hash="${depositTx}"]`).count()).toBeGreaterThan(0);
    expect(await page.getByTestId("deposit-available").textContent()).toBe("25 mUSD");
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "wallet.png"), fullPage: true });
    expect(browser.errors()).toEqual([]);
  });

  it("a task paid from the deposit is settled on chain, and the page links its transaction", async () => {
    const key = (await page.evaluate(() => localStorage.getItem("stun.apiKey")))!;
    const mlp = buildMlp({ inputSize: 4, hidden: [4], outputSize: 2, seed: 5 });
    const modelId = await uploadModel(net.url, key, mlp.bytes);
    const x = new Float32Array([1, 2, 3, 4]);
    const done = await runTask(net.url, key, { modelId, inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(x.buffer) }) }, verification: { mode: "none" } });
    expect(done.status).toBe("completed");
    const settled = await eventually(
      async () => {
        const row = await net.db.prisma.chainSettlement.findUnique({ where: { taskId: done.id } });
        return row?.txHash && ["submitted", "confirmed", "released"].includes(row.status) ? row : undefined;
      },
      30_000,
      "the task's on-chain settlement",
    );
    const receipt = await chain.anvil.publicClient.getTransactionReceipt({ hash: settled.txHash as Hex });
    expect(receipt.status).toBe("success");

    // The page refetches settlements every 3 s: the row may first show while the settlement is still
    // pending (no transaction yet), so wait for the transaction's link itself.
    const row = page.getByTestId("settlement-row").filter({ hasText: done.id });
    await row.locator(`[data-hash="${settled.txHash}"]`).waitFor({ timeout: 15_000 });
    expect(await row.locator(`[data-hash="${settled.txHash}"]`).count()).toBe(1);
    await expect.poll(() => page.getByTestId("ledger-balance").textContent()).toBe(formatCount(25_000_000n - BigInt(done.cost)));
    expect((await api(net.url, "GET", "/accounts/me", { key })).body.balance).toBe(String(25_000_000n - BigInt(done.cost)));
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "wallet-settled.png"), fullPage: true });
    // The README's copy changes only when missing or asked for, so test runs leave git clean.
    const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../docs/screenshots");
    if (process.env.STUN_UPDATE_SCREENSHOTS === "1" || !existsSync(path.join(docs, "wallet.png"))) {
      mkdirSync(docs, { recursive: true });
      copyFileSync(path.join(ARTIFACTS, "wallet-settled.png"), path.join(docs, "wallet.png"));
    }
    expect(browser.errors()).toEqual([]);
  });
});

const formatCount = (n: bigint): string => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
