/**
 * Deposits on Solana and TON as the caller reads them (services/external-deposits.ts): GET
 * /chain/deposit-info (per family: where to send, the memo / forward payload naming the account;
 * null when the rail is off), POST /chain/ton-deposit-message (the TonConnect message: a TEP-74
 * transfer from the owner's jetton wallet to the marketplace, tagged), GET /chain/deposits (credited
 * and unmatched-but-naming-the-account deposits), on a real server whose rails read stand-ins.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { Address, Cell } from "@ton/core";
import { address } from "@solana/kit";
import { findAssociatedTokenPda, TOKEN_PROGRAM_ADDRESS } from "@solana-program/token";
import { forwardPayloadAccount } from "@stun/contracts-ton";
import { TOKEN_2022_PROGRAM } from "../../src/chains/solana/chain";
import { recordDeposits } from "../../src/chains/external-deposits";
import type { ObservedDeposit } from "../../src/chains/family";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api } from "../support/api";
import { type ChainStandIn, type RailsSetup, railsEnv, readJettonTransfer, startChainStandIn } from "../support/chain-stand-ins";

describeDb("deposits on Solana and TON: how to, the TON message, the listing", () => {
  let standIn: ChainStandIn;
  let rails: RailsSetup;
  let net: TestNetwork;

  beforeAll(async () => {
    standIn = await startChainStandIn();
    rails = railsEnv(standIn);
    net = await startTestNetwork({ env: rails.env });
  });
  afterAll(async () => {
    await net?.close();
    await standIn?.close();
  });

  it("tells the caller where and how to deposit on each rail, with its own memo and forward payload", async () => {
    const res = await api(net.url, "GET", "/chain/deposit-info", { key: net.apiKey });
    expect(res.status).toBe(200);
    const [ata] = await findAssociatedTokenPda({ owner: address(rails.solanaDepositOwner), mint: address(rails.solanaMint), tokenProgram: TOKEN_PROGRAM_ADDRESS });
    expect(res.body.accountId).toBe(net.accountId);
    expect(res.body.solana).toEqual({
      network: "mainnet-beta",
      rpcUrl: standIn.solanaRpcUrl,
      mint: rails.solanaMint,
      tokenProgram: TOKEN_PROGRAM_ADDRESS,
      decimals: 6,
      depositOwner: rails.solanaDepositOwner,
      depositAccount: ata,
      memo: net.accountId,
      confirmation: "finalized",
    });
    expect(Address.parse(res.body.ton.marketplace).equals(rails.tonMarketplace)).toBe(true);
    expect(Address.parse(res.body.ton.jettonMaster).equals(rails.tonJettonMaster)).toBe(true);
    expect(forwardPayloadAccount(Cell.fromBase64(res.body.ton.forwardPayload).beginParse())).toBe(net.accountId);
    expect(res.body.ton.tagHex).toBe(`5354554e${Buffer.from(net.accountId.padEnd(32, "\0")).toString("hex")}`);
    expect(res.body.payoutFamilies).toEqual(["solana", "ton"]);
    expect((await api(net.url, "GET", "/chain/deposit-info")).status).toBe(401);
  });

  it("builds the TonConnect deposit message from the owner's jetton wallet, tagged with the caller's account", async () => {
    const owner = new Address(0, Buffer.alloc(32, 7));
    const jettonWallet = new Address(0, Buffer.alloc(32, 9));
    standIn.jettonWallets.set(owner.toRawString(), { address: jettonWallet.toRawString(), balance: 9_000_000n });
    const res = await api(net.url, "POST", "/chain/ton-deposit-message", { key: net.apiKey, json: { amount: "2500000", owner: owner.toString() } });
    expect(res.status).toBe(200);
    expect(Address.parse(res.body.address).equals(jettonWallet)).toBe(true);
    expect(BigInt(res.body.amount)).toBeGreaterThan(BigInt(50_000_000));
    const transfer = readJettonTransfer(res.body.payload);
    expect(transfer).toMatchObject({ op: 0x0f8a7ea5, amount: 2_500_000n, account: net.accountId });
    expect(transfer.destination.equals(rails.tonMarketplace)).toBe(true);
    expect(transfer.responseDestination.equals(owner)).toBe(true);
    expect(transfer.forwardTonAmount >= 10_000_000n && transfer.forwardTonAmount <= 50_000_000n).toBe(true);

    // Its balance, and an owner without a jetton wallet holding none.
    const balance = await api(net.url, "GET", `/chain/ton-balance?owner=${encodeURIComponent(owner.toString())}`, { key: net.apiKey });
    expect(balance.body).toEqual({ jettonWallet: jettonWallet.toRawString(), balance: "9000000" });
    const empty = await api(net.url, "GET", `/chain/ton-balance?owner=${new Address(0, Buffer.alloc(32, 1)).toRawString()}`, { key: net.apiKey });
    expect(empty.body).toEqual({ jettonWallet: null, balance: "0" });
    expect((await api(net.url, "GET", "/chain/ton-balance?owner=nope", { key: net.apiKey })).body.error.code).toBe("VALIDATION_FAILED");

    // An owner with no jetton wallet, a bad address, a bad amount: clear 4xx.
    const none = await api(net.url, "POST", "/chain/ton-deposit-message", { key: net.apiKey, json: { amount: "1", owner: new Address(0, Buffer.alloc(32, 1)).toString() } });
    expect([none.status, none.body.error.code]).toEqual([402, "INSUFFICIENT_FUNDS"]);
    const bad = await api(net.url, "POST", "/chain/ton-deposit-message", { key: net.apiKey, json: { amount: "1", owner: "EQnot-an-address" } });
    expect([bad.status, bad.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
    const amount = await api(net.url, "POST", "/chain/ton-deposit-message", { key: net.apiKey, json: { amount: "1.5", owner: owner.toString() } });
    expect([amount.status, amount.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
  });

  it("lists the deposits credited to the caller and the unmatched ones naming it, not others'", async () => {
    const deposit = (txId: string, accountTag: string | null, token = rails.solanaMint): ObservedDeposit => ({
      family: "solana",
      network: "mainnet-beta",
      txId,
      index: 0,
      accountTag,
      token,
      amount: 700n,
      from: rails.solanaDepositOwner,
      slotOrLt: 1n,
      final: true,
    });
    await net.db.prisma.$transaction((tx) =>
      recordDeposits(
        tx,
        [deposit("sig-credited", net.accountId), deposit("sig-other-token", net.accountId, rails.solanaDepositOwner), deposit("sig-someone", net.providerAccountId), deposit("sig-no-memo", null)],
        {
          token: rails.solanaMint,
        },
      ),
    );
    const res = await api(net.url, "GET", "/chain/deposits", { key: net.apiKey });
    expect(res.status).toBe(200);
    const byTx = Object.fromEntries(res.body.deposits.map((d: { txId: string }) => [d.txId, d]));
    expect(Object.keys(byTx).sort()).toEqual(["sig-credited", "sig-other-token"]);
    expect(byTx["sig-credited"]).toMatchObject({ family: "solana", network: "mainnet-beta", amount: "700", status: "credited", reason: null });
    expect(byTx["sig-other-token"]).toMatchObject({ status: "unmatched" });
    expect(byTx["sig-other-token"].reason).toMatch(/is not the ledger token/);
    const provider = await api(net.url, "GET", "/chain/deposits", { key: net.providerApiKey });
    expect(provider.body.deposits.map((d: { txId: string }) => d.txId)).toEqual(["sig-someone"]);
  });
});

describeDb("deposit info for a Token-2022 mint", () => {
  it("names the mint's program and the deposit account under it (not SPL Token's)", async () => {
    const standIn = await startChainStandIn();
    const rails = railsEnv(standIn, TOKEN_2022_PROGRAM);
    const net = await startTestNetwork({ env: rails.env });
    try {
      const res = await api(net.url, "GET", "/chain/deposit-info", { key: net.apiKey });
      const [ata2022] = await findAssociatedTokenPda({ owner: address(rails.solanaDepositOwner), mint: address(rails.solanaMint), tokenProgram: address(TOKEN_2022_PROGRAM) });
      const [ataSpl] = await findAssociatedTokenPda({ owner: address(rails.solanaDepositOwner), mint: address(rails.solanaMint), tokenProgram: TOKEN_PROGRAM_ADDRESS });
      expect(res.body.solana).toMatchObject({ tokenProgram: TOKEN_2022_PROGRAM, decimals: 6, depositAccount: ata2022 });
      expect(ata2022).not.toBe(ataSpl);
    } finally {
      await net.close();
      await standIn.close();
    }
  });
});

describeDb("deposit info on a server without Solana or TON rails", () => {
  it("says both are off, and refuses the TON message", async () => {
    const net = await startTestNetwork();
    try {
      const res = await api(net.url, "GET", "/chain/deposit-info", { key: net.apiKey });
      expect(res.body).toEqual({ accountId: net.accountId, solana: null, ton: null, payoutFamilies: [] });
      const msg = await api(net.url, "POST", "/chain/ton-deposit-message", { key: net.apiKey, json: { amount: "1", owner: new Address(0, Buffer.alloc(32)).toString() } });
      expect([msg.status, msg.body.error.code]).toEqual([400, "REQUIREMENTS_UNSATISFIABLE"]);
    } finally {
      await net.close();
    }
  });
});
