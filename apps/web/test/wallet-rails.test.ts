import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { PublicKey, Transaction } from "@solana/web3.js";
import { base58 } from "@scure/base";
import { Address, Cell } from "@ton/core";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { forwardPayloadAccount } from "@stun/contracts-ton";
import { recordDeposits } from "../../server/src/chains/external-deposits";
import { mint } from "../../server/src/ledger";
import { tonWallet } from "../../server/test/support/wallet-signers";
import { type ChainStandIn, type RailsSetup, railsEnv, readJettonTransfer, startChainStandIn } from "../../server/test/support/chain-stand-ins";
import { launchBrowser, type TestBrowser } from "./support/browser";
import { ARTIFACTS, startWebNetwork, type TestNetwork } from "./support/network";
import { type SolanaTestWallet, type TonTestWallet, installSolanaTestWallet, installTonTestWallet, stubNonLocalRequests } from "./support/wallet-families";

const TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
const ATA_PROGRAM = new PublicKey("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
const MEMO_PROGRAMS = ["MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"];

/**
 * The wallet page's Solana and TON part, in real Chromium against a server whose Solana and TON
 * rails are configured (their RPC / toncenter is a stand-in in the test process: no validator or
 * TON node runs here): every linked wallet with its family, network and date; per family the
 * deposit instructions naming the account; a deposit signed by the injected wallet (the test
 * decodes what it signed: an SPL transfer to the deposit account with the account as memo; a
 * jetton transfer to the marketplace with the account's tag as forward payload); payouts queued to
 * the linked wallet; WALLET_NOT_LINKED and a bad amount refused.
 */
describe("web app: Solana and TON deposits and payouts", () => {
  let standIn: ChainStandIn;
  let rails: RailsSetup;
  let net: TestNetwork;
  let a: TestBrowser;
  let page: Page;
  let solana: SolanaTestWallet;
  let ton: TonTestWallet;
  let stubbed: string[];
  let accountId: string;
  const tonUser = tonWallet();
  const tonUserJettonWallet = new Address(0, Buffer.alloc(32, 0x42));

  const rail = (family: string) => page.locator(`#rail-${family}`);
  const familyRow = (family: string) => page.locator(`[data-testid="linked-wallet"][data-family="${family}"]`);

  beforeAll(async () => {
    standIn = await startChainStandIn();
    rails = railsEnv(standIn);
    standIn.jettonWallets.set(Address.parse(tonUser.address).toRawString(), { address: tonUserJettonWallet.toRawString(), balance: 3_000_000n });
    net = await startWebNetwork({ providers: 0, env: { ...rails.env, SIWS_NETWORKS: "mainnet", TON_NETWORKS: "-239" } });
    a = await launchBrowser();
    stubbed = await stubNonLocalRequests(a.context);
    solana = await installSolanaTestWallet(a.context, { name: "Stun Test Solana" });
    ton = await installTonTestWallet(a.context, { wallet: tonUser });
    page = await a.newPage();
  });
  afterAll(async () => {
    await a?.close();
    await net?.close();
    await standIn?.close();
  });

  it("lists the EVM, Solana and TON wallets linked to the account with network and date", async () => {
    await page.goto(`${net.url}/signin?next=/wallet`);
    await page.getByRole("region", { name: "Sign in with Solana" }).getByRole("button", { name: "Sign in with Stun Test Solana" }).click();
    await page.waitForURL((u) => u.pathname === "/wallet");
    await page.getByRole("region", { name: "Link a TON wallet" }).getByRole("button", { name: "Link Tonkeeper" }).click();
    await familyRow("ton").waitFor({ timeout: 15_000 });
    // An Ethereum wallet linked through the API (the page's EVM flow is wallet.test.ts's).
    const key = (await page.evaluate(() => localStorage.getItem("stun.apiKey")))!;
    const evm = privateKeyToAccount(generatePrivateKey());
    const post = async (p: string, body?: unknown) => {
      const res = await fetch(`${net.url}/api/v1${p}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(res.status).toBe(200);
      return res.json() as Promise<Record<string, string>>;
    };
    const { nonce } = await post("/auth/siwe/nonce");
    const message = createSiweMessage({ domain: new URL(net.url).host, address: evm.address, uri: net.url, version: "1", chainId: 1, nonce: nonce!, issuedAt: new Date() });
    const linked = await post("/auth/siwe/verify", { message, signature: await evm.signMessage({ message }) });
    await page.evaluate((k) => localStorage.setItem("stun.apiKey", k), linked.apiKey!);
    await page.reload();

    await expect.poll(() => page.getByTestId("linked-wallet").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-family")))).toEqual(["evm", "solana", "ton"]);
    const rows = await net.db.prisma.linkedWallet.findMany({ where: { address: { in: [evm.address.toLowerCase(), solana.address, tonUser.address] } } });
    expect(new Set(rows.map((r) => r.accountId)).size).toBe(1);
    accountId = rows[0]!.accountId;
    for (const r of rows) {
      const row = familyRow(r.family);
      expect(await row.getByTestId("linked-wallet-address").textContent()).toBe(r.address);
      expect(await row.getByTestId("linked-wallet-date").getAttribute("datetime")).toBe(r.linkedAt.toISOString());
      expect(await row.getByTestId("linked-wallet-date").textContent()).toBe(`linked ${r.linkedAt.toISOString().slice(0, 10)}`);
    }
    expect(a.errors()).toEqual([]);
  });

  it("shows per family where to deposit and the memo / forward payload naming the account", async () => {
    await rail("solana").getByTestId("solana-memo").waitFor();
    expect(await rail("solana").getByTestId("solana-memo").textContent()).toBe(accountId);
    const [ata] = PublicKey.findProgramAddressSync([new PublicKey(rails.solanaDepositOwner).toBytes(), new PublicKey(TOKEN_PROGRAM).toBytes(), new PublicKey(rails.solanaMint).toBytes()], ATA_PROGRAM);
    expect(await rail("solana").getByTestId("solana-deposit-account").textContent()).toBe(ata.toBase58());
    expect(await rail("solana").getByTestId("solana-mint").textContent()).toBe(rails.solanaMint);
    expect(Address.parse((await rail("ton").getByTestId("ton-marketplace").textContent())!).equals(rails.tonMarketplace)).toBe(true);
    expect(Address.parse((await rail("ton").getByTestId("ton-jetton-master").textContent())!).equals(rails.tonJettonMaster)).toBe(true);
    expect(forwardPayloadAccount(Cell.fromBase64((await rail("ton").getByTestId("ton-forward-payload").textContent())!).beginParse())).toBe(accountId);
    await rail("solana").screenshot({ path: path.join(ARTIFACTS, "wallet-rail-solana.png") });
    expect(a.errors()).toEqual([]);
  });

  it("Solana: the wallet's token balance; Deposit: the wallet signs an SPL transfer to the deposit account with the account id as memo, sent to the RPC", async () => {
    // The connected wallet's token balance, read from the RPC (its associated token account).
    const [walletAta] = PublicKey.findProgramAddressSync([new PublicKey(solana.address).toBytes(), new PublicKey(TOKEN_PROGRAM).toBytes(), new PublicKey(rails.solanaMint).toBytes()], ATA_PROGRAM);
    standIn.solanaTokenBalances.set(walletAta.toBase58(), 7_000_000n);
    await rail("solana").getByRole("button", { name: "Show Stun Test Solana's balance" }).click();
    await expect.poll(() => rail("solana").getByTestId("solana-wallet-balance").textContent()).toBe("7,000,000");

    const form = page.getByTestId("solana-deposit-form");
    await form.getByLabel("Deposit amount (base units)").fill("1500000");
    await form.getByRole("button", { name: "Deposit with Stun Test Solana" }).click();
    await form.getByRole("status").or(form.getByRole("alert")).first().waitFor({ timeout: 15_000 });
    expect(await form.getByRole("alert").count(), (await form.getByRole("alert").allTextContents()).join()).toBe(0);

    expect(solana.signedTransactions).toHaveLength(1);
    expect(standIn.solanaSent).toEqual(solana.signedTransactions);
    const tx = Transaction.from(Buffer.from(solana.signedTransactions[0]!, "base64"));
    expect(tx.verifySignatures()).toBe(true);
    expect(tx.feePayer?.toBase58()).toBe(solana.address);
    const transfer = tx.instructions.find((i) => i.programId.toBase58() === TOKEN_PROGRAM)!;
    expect(transfer.data[0]).toBe(12); // TransferChecked: source, mint, destination, owner; amount, decimals
    expect(transfer.data.readBigUInt64LE(1)).toBe(1_500_000n);
    expect(transfer.data[9]).toBe(6);
    expect(transfer.keys[0]!.pubkey.toBase58()).toBe(walletAta.toBase58());
    expect(transfer.keys[1]!.pubkey.toBase58()).toBe(rails.solanaMint);
    expect(transfer.keys[2]!.pubkey.toBase58()).toBe(await rail("solana").getByTestId("solana-deposit-account").textContent());
    expect(transfer.keys[3]!.pubkey.toBase58()).toBe(solana.address);
    const memo = tx.instructions.find((i) => MEMO_PROGRAMS.includes(i.programId.toBase58()))!;
    expect(memo.data.toString("utf8")).toBe(accountId);
    expect(await form.getByRole("status").textContent()).toContain(base58.encode(tx.signatures[0]!.signature!));
    expect(a.errors()).toEqual([]);
  });

  it("TON: the wallet's jetton balance; Deposit: the wallet sends a jetton transfer to the marketplace whose forward payload names the account", async () => {
    // The wallet's jetton balance, read through the server's TON API once the wallet connected.
    await rail("ton").getByRole("button", { name: "Show the TON wallet's balance" }).click();
    await expect.poll(() => rail("ton").getByTestId("ton-wallet-balance").textContent()).toBe("3,000,000");

    const form = page.getByTestId("ton-deposit-form");
    await form.getByLabel("Deposit amount (jetton base units)").fill("2500000");
    await form.getByRole("button", { name: "Deposit with a TON wallet" }).click();
    await form.getByRole("status").or(form.getByRole("alert")).first().waitFor({ timeout: 15_000 });
    expect(await form.getByRole("alert").count(), (await form.getByRole("alert").allTextContents()).join()).toBe(0);

    expect(ton.sent).toHaveLength(1);
    const [message] = ton.sent[0]!.messages;
    expect(Address.parse(message!.address).equals(tonUserJettonWallet)).toBe(true);
    const transfer = readJettonTransfer(message!.payload!);
    expect(transfer).toMatchObject({ op: 0x0f8a7ea5, amount: 2_500_000n, account: accountId });
    expect(transfer.destination.equals(rails.tonMarketplace)).toBe(true);
    expect(transfer.responseDestination.equals(Address.parse(tonUser.address))).toBe(true);
    expect(a.errors()).toEqual([]);
  });

  it("a payout to the linked Solana wallet is queued and listed with its status", async () => {
    await net.db.prisma.$transaction((tx) => mint(tx, accountId, 10_000n));
    const form = page.getByTestId("payout-form-solana");
    expect(await page.getByTestId("payout-target-solana").textContent()).toContain(solana.address);
    await form.getByLabel("Payout amount (base units)").fill("1200");
    await form.getByRole("button", { name: "Request payout" }).click();
    await form.getByRole("status").or(form.getByRole("alert")).first().waitFor();
    expect(await form.getByRole("alert").count(), (await form.getByRole("alert").allTextContents()).join()).toBe(0);
    const row = rail("solana").getByTestId("payout-row-solana");
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.getByTestId("payout-amount").textContent()).toBe("1,200");
    expect(await row.getByTestId("payout-status").textContent()).toBe("pending");
    const payouts = await net.db.prisma.externalPayout.findMany({ where: { accountId } });
    expect(payouts.map((p) => [p.family, p.toAddress, p.amount.toString(), p.status])).toEqual([["solana", solana.address, "1200", "pending"]]);
    expect(a.errors()).toEqual([]);
  });

  it("a payout to the linked TON wallet is queued and listed with its status", async () => {
    const balanceOf = async () => (await net.db.prisma.account.findUniqueOrThrow({ where: { id: accountId } })).balance;
    const before = await balanceOf();
    const linked = await net.db.prisma.linkedWallet.findFirstOrThrow({ where: { accountId, family: "ton" } });
    const form = page.getByTestId("payout-form-ton");
    expect(await page.getByTestId("payout-target-ton").textContent()).toContain(tonUser.address);
    await form.getByLabel("Payout amount (base units)").fill("700");
    await form.getByRole("button", { name: "Request payout" }).click();
    await form.getByRole("status").or(form.getByRole("alert")).first().waitFor();
    expect(await form.getByRole("alert").count(), (await form.getByRole("alert").allTextContents()).join()).toBe(0);
    const row = rail("ton").getByTestId("payout-row-ton");
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.getByTestId("payout-amount").textContent()).toBe("700");
    expect(await row.getByTestId("payout-status").textContent()).toBe("pending");
    const payout = await net.db.prisma.externalPayout.findFirst({ where: { accountId, family: "ton" } });
    expect([payout?.toAddress, payout?.amount.toString(), payout?.status]).toEqual([linked.address, "700", "pending"]);
    // The account's one balance pays every family's payouts.
    expect(await balanceOf()).toBe(before - 700n);
    expect(a.errors()).toEqual([]);
  });

  it("lists the account's deposits per family: credited, and unmatched ones naming it with the reason", async () => {
    const deposit = (family: "solana" | "ton", txId: string, token: string) => ({
      family,
      network: family === "solana" ? "mainnet-beta" : "mainnet",
      txId,
      index: 0,
      accountTag: accountId,
      token,
      amount: 4_200n,
      from: family === "solana" ? solana.address : Address.parse(tonUser.address).toRawString(),
      slotOrLt: 1n,
      final: true,
    });
    await net.db.prisma.$transaction((tx) => recordDeposits(tx, [deposit("solana", "sol-credited", rails.solanaMint)], { token: rails.solanaMint }));
    await net.db.prisma.$transaction((tx) => recordDeposits(tx, [deposit("ton", "ton-other-jetton", "0:other")], { token: rails.tonJettonMaster.toRawString() }));
    const solanaRows = rail("solana").getByTestId("deposit-row-solana");
    const tonRows = rail("ton").getByTestId("deposit-row-ton");
    await expect.poll(() => solanaRows.count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => tonRows.count(), { timeout: 15_000 }).toBe(1);
    expect(await solanaRows.textContent()).toMatch(/4,200.*credited/);
    expect(await tonRows.textContent()).toMatch(/4,200.*unmatched.*is not the ledger token/);
    expect(a.errors()).toEqual([]);
  });

  it("a bad amount is refused in the page (nothing sent) and by the server", async () => {
    const form = page.getByTestId("payout-form-solana");
    for (const bad of ["1.5", "-3", "0", "12345678901234567890"]) {
      await form.getByLabel("Payout amount (base units)").fill(bad);
      await form.getByRole("button", { name: "Request payout" }).click();
      await expect.poll(() => form.getByLabel("Payout amount (base units)").getAttribute("aria-invalid")).toBe("true");
    }
    expect(await net.db.prisma.externalPayout.count({ where: { accountId } })).toBe(2);
    const key = (await page.evaluate(() => localStorage.getItem("stun.apiKey")))!;
    for (const amount of ["1.5", "0", "abc"]) {
      const res = await fetch(`${net.url}/api/v1/chain/payouts`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ family: "solana", amount }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("VALIDATION_FAILED");
    }
    expect(a.errors()).toEqual([]);
  });

  it("a payout on a family with no linked wallet shows WALLET_NOT_LINKED", async () => {
    const b = await launchBrowser();
    try {
      await stubNonLocalRequests(b.context);
      const p = await b.newPage();
      await p.goto(`${net.url}/signin?next=/wallet`);
      await p.getByLabel("API key").fill(net.apiKey);
      await p.getByRole("button", { name: "Sign in", exact: true }).click();
      await p.waitForURL((u) => u.pathname === "/wallet");
      const form = p.getByTestId("payout-form-ton");
      await b.allowErrors(/status of 409/, async () => {
        await form.getByLabel("Payout amount (base units)").fill("100");
        await form.getByRole("button", { name: "Request payout" }).click();
        await expect.poll(() => form.getByRole("alert").textContent()).toContain("WALLET_NOT_LINKED");
      });
      expect(await p.getByTestId("payout-target-ton").textContent()).toContain("No TON wallet is linked");
      expect(await net.db.prisma.externalPayout.count({ where: { accountId: net.accountId } })).toBe(0);
      expect(b.errors()).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it("the pages asked nothing of the internet", () => {
    expect(stubbed).toEqual([]);
  });
});
