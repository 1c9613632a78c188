/**
 * TON payouts end to end: the family-neutral PayoutQueue over TonPayoutRail, against the
 * marketplace contract (contracts-ton) in @ton/sandbox, through a toncenter-v3-shaped stand-in (a
 * third party's API, outside the system under test) that hands sent external messages to the
 * sandbox and serves the marketplace's transactions and get-methods. Each payout is paid once: in a
 * batch, across a crash between broadcast and confirmation, after a broadcast that never arrived
 * (re-paid only once its deadline passed), and a re-prepared batch reuses its nonce (exit 404).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Address, Cell, type TupleItem, loadMessage, toNano } from "@ton/core";
import { keyPairFromSeed } from "@ton/crypto";
import type { BlockchainTransaction, SandboxContract } from "@ton/sandbox";
import { WalletContractV4 } from "@ton/ton";
import { MarketplaceError, depositForwardPayload } from "@stun/contracts-ton";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PayoutQueue } from "../../../src/chains/payouts";
import { TonPayoutRail, isTonAddress, payoutNonce } from "../../../src/chains/ton/payouts";
import { resolveTonConfig } from "../../../src/chains/ton/config";
import { toncenterV3 } from "../../../src/chains/ton/toncenter";
import { TonRail } from "../../../src/chains/ton/service";
import { eventually } from "../../support/network";
import { getBalances, mint } from "../../../src/ledger";
import { newId } from "../../../src/ids";
import { describeDb } from "../../support/database";
import { expectLedgerInvariantsHold, useLedgerDatabase } from "../../ledger/support";
import { computeOf, createWorld, ONE, type World } from "../../../../../contracts-ton/test/support/setup";

/** toncenter v3's JSON for one transaction (the fields the TON rail reads). */
function v3(tx: BlockchainTransaction, account: Address) {
  const d = tx.description;
  const compute = computeOf(tx);
  return {
    account: account.toRawString(),
    hash: tx.hash().toString("base64"),
    lt: tx.lt.toString(),
    now: tx.now,
    description: { aborted: d.type === "generic" ? d.aborted : true, compute_ph: { success: compute.success, exit_code: compute.exitCode } },
    in_msg: tx.inMessage ? { source: null, message_content: { body: tx.inMessage.body.toBoc().toString("base64") } } : null,
    out_msgs: [...tx.outMessages.values()].map((m) => ({
      destination: m.info.type === "external-out" ? null : (m.info.dest?.toString() ?? null),
      message_content: { body: m.body.toBoc().toString("base64") },
    })),
  };
}

const readBody = (req: import("node:http").IncomingMessage) =>
  new Promise<unknown>((resolve) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => resolve(JSON.parse(text || "{}")));
  });

/** A toncenter stand-in: sends external messages into the sandbox, serves the marketplace's transactions and get-methods. */
function startTonCenter(w: World) {
  const account = w.marketplace.address;
  const txs: ReturnType<typeof v3>[] = [];
  const state = { drop: false, received: 0, dropped: 0 };
  const record = (transactions: BlockchainTransaction[]) => {
    const hash = BigInt(`0x${account.hash.toString("hex")}`);
    for (const tx of transactions) if (tx.address === hash) txs.push(v3(tx, account));
  };
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const json = (body: unknown, code = 200) => void res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body));
    try {
      if (req.method === "POST" && url.pathname === "/api/v3/message") {
        const { boc } = (await readBody(req)) as { boc: string };
        state.received++;
        if (state.drop) {
          state.dropped++;
          return json({ message_hash: "dropped" });
        }
        const result = await w.blockchain.sendMessage(loadMessage(Cell.fromBase64(boc).beginParse()));
        record(result.transactions);
        return json({ message_hash: "ok" });
      }
      if (req.method === "POST" && url.pathname === "/api/v3/runGetMethod") {
        const { address, method, stack } = (await readBody(req)) as { address: string; method: string; stack: { value: string }[] };
        const args: TupleItem[] = stack.map((s) => ({ type: "int", value: s.value.startsWith("-") ? -BigInt(s.value.slice(1)) : BigInt(s.value) }));
        const r = await w.blockchain.runGetMethod(Address.parse(address), method, args);
        const out = [];
        const reader = r.stackReader;
        while (reader.remaining > 0) {
          // toncenter's form: -0x1 for -1 (TVM's true).
          const n = reader.readBigNumber();
          out.push({ type: "num", value: `${n < 0n ? "-" : ""}0x${(n < 0n ? -n : n).toString(16)}` });
        }
        return json({ gas_used: 0, exit_code: r.exitCode, stack: out });
      }
      if (url.pathname === "/api/v3/transactions" && url.searchParams.get("account") === account.toRawString()) {
        const start = url.searchParams.has("start_lt") ? BigInt(url.searchParams.get("start_lt")!) : 0n;
        const since = Number(url.searchParams.get("start_utime") ?? "0");
        const limit = Number(url.searchParams.get("limit") ?? "10");
        return json({ transactions: txs.filter((t) => BigInt(t.lt) >= start && t.now >= since).slice(0, limit), address_book: {} });
      }
      res.writeHead(404).end();
    } catch (e) {
      json({ error: String(e) }, 500);
    }
  });
  return {
    txs,
    state,
    server,
    record,
    listen: () => new Promise<string>((r) => server.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
  };
}

describeDb("TON payouts: settler-signed orders relayed by the hot wallet, each payout paid once", () => {
  const db = useLedgerDatabase();
  let w: World;
  let api: ReturnType<typeof startTonCenter>;
  let url: string;
  let hot: SandboxContract<WalletContractV4>;
  const walletKey = keyPairFromSeed(Buffer.alloc(32, "hot-wallet"));
  let recipients: Address[];

  const rail = () =>
    new TonPayoutRail({
      network: "testnet",
      marketplace: w.marketplace.address.toRawString(),
      jettonMaster: w.usdt.address.toRawString(),
      api: toncenterV3(url),
      walletKey: walletKey.secretKey,
      // Two of the three settlers: the contract's threshold.
      settlerKeys: [w.settlers[2]!.secretKey, w.settlers[0]!.secretKey],
      lifetimeS: 600,
      now: () => w.blockchain.now!,
    });
  const queue = (r = rail()) => new PayoutQueue(db(), r, { maxBatch: 10 });
  const jettons = async (owner: Address) => (await w.wallet(w.usdt, owner)).getBalance().catch(() => 0n);
  const funded = async (amount: bigint) => {
    const id = newId("acc");
    await db().prisma.account.create({ data: { id } });
    await db().prisma.$transaction((tx) => mint(tx, id, amount));
    return id;
  };
  /** Three payouts of 1, 2, 3 jettons to the three recipients. */
  const requestThree = async (q: PayoutQueue, account: string) => {
    const ids: string[] = [];
    for (const [i, to] of recipients.entries()) ids.push((await q.request(account, to.toString(), BigInt(i + 1) * ONE)).id);
    return ids;
  };
  const balances = () => Promise.all(recipients.map(jettons));

  beforeAll(async () => {
    w = await createWorld();
    api = startTonCenter(w);
    url = await api.listen();
    // The marketplace's jettons come from a deposit.
    const aliceWallet = await w.wallet(w.usdt, w.alice.address);
    await aliceWallet.sendTransfer(w.alice.getSender(), {
      to: w.marketplace.address,
      amount: 500n * ONE,
      responseTo: w.alice.address,
      forwardTonAmount: toNano("0.05"),
      forwardPayload: depositForwardPayload("acc_pool"),
    });
    expect(await w.marketplace.getJettonBalance()).toBe(500n * ONE);
    // The hot wallet, deployed and funded by a treasury.
    hot = w.blockchain.openContract(WalletContractV4.create({ workchain: 0, publicKey: walletKey.publicKey }));
    await w.admin.send({ to: hot.address, value: toNano("20"), init: hot.init, bounce: false });
    recipients = await Promise.all(["r1", "r2", "r3"].map(async (n) => (await w.blockchain.treasury(n)).address));
  });
  afterAll(() => api?.server.close());

  it("pays a batch of three once, in one order, and confirms it from the PaidOut log / is_nonce_used", async () => {
    const account = await funded(100n * ONE);
    const before = await balances();
    const q = queue();
    await requestThree(q, account);
    expect(await q.tick()).toMatchObject({ sent: 3, confirmed: 0 });
    expect(await q.tick()).toMatchObject({ sent: 0, confirmed: 3 });
    const after = await balances();
    expect(after.map((b, i) => b - before[i]!)).toEqual([1n * ONE, 2n * ONE, 3n * ONE]);
    expect(await q.tick()).toMatchObject({ sent: 0, confirmed: 0 });
    expect((await balances()).map((b, i) => b - before[i]!)).toEqual([1n * ONE, 2n * ONE, 3n * ONE]);
    const rows = await db().prisma.externalPayout.findMany({ where: { family: "ton", accountId: account } });
    expect(rows.every((r) => r.status === "confirmed")).toBe(true);
    expect(new Set(rows.map((r) => r.txId)).size).toBe(1);
    expect((await getBalances(db(), account)).balance).toBe(94n * ONE);
    await expectLedgerInvariantsHold(db());
  });

  it("a crash between broadcast and confirmation: a fresh queue asks the chain instead of paying again", async () => {
    const account = await funded(100n * ONE);
    const before = await balances();
    const first = queue();
    await requestThree(first, account);
    expect(await first.sendPending()).toMatchObject({ sent: 3 });
    const received = api.state.received;
    // "Restart": a new rail and queue over the same database.
    expect(await queue().tick()).toMatchObject({ sent: 0, confirmed: 3, expired: 0 });
    expect(api.state.received).toBe(received);
    expect((await balances()).map((b, i) => b - before[i]!)).toEqual([1n * ONE, 2n * ONE, 3n * ONE]);
    await expectLedgerInvariantsHold(db());
  });

  it("a broadcast that never arrived is in flight until its deadline, then paid once with the same nonce", async () => {
    const account = await funded(100n * ONE);
    const before = await balances();
    const q = queue();
    const ids = await requestThree(q, account);
    api.state.drop = true;
    expect(await q.tick()).toMatchObject({ sent: 3 });
    const [sent] = await db().prisma.externalPayout.findMany({ where: { id: ids[0]! } });
    const life = JSON.parse(sent!.lifetime!) as { nonce: string; deadline: number };
    expect(BigInt(life.nonce)).toBe(payoutNonce(ids));
    // Still within its lifetime: in flight (rebroadcast, dropped again), never re-signed.
    w.blockchain.now = life.deadline - 10;
    expect(await q.tick()).toMatchObject({ sent: 0, confirmed: 0, expired: 0 });
    expect(api.state.dropped).toBeGreaterThanOrEqual(2);
    expect(await balances()).toEqual(before);
    // The deadline (and its margin) passed, the nonce unused: expired, re-paid in the same tick.
    api.state.drop = false;
    w.blockchain.now = life.deadline + 120;
    expect(await q.tick()).toMatchObject({ expired: 3, sent: 3 });
    expect(await q.tick()).toMatchObject({ confirmed: 3 });
    expect((await balances()).map((b, i) => b - before[i]!)).toEqual([1n * ONE, 2n * ONE, 3n * ONE]);
    const rows = await db().prisma.externalPayout.findMany({ where: { id: { in: ids } } });
    expect(rows.every((r) => r.status === "confirmed" && r.attempts === 2)).toBe(true);
    await expectLedgerInvariantsHold(db());
  });

  it("a re-prepared batch reuses its nonce: the contract refuses the second payment (exit 404)", async () => {
    const account = await funded(100n * ONE);
    const before = await balances();
    const r = rail();
    const q = queue(r);
    await requestThree(q, account);
    await q.tick();
    expect(await q.tick()).toMatchObject({ confirmed: 3 });
    const rows = await db().prisma.externalPayout.findMany({ where: { accountId: account }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
    // As if the batch were prepared again (a crash before the rows were stored as sent).
    const again = await r.prepare(rows.map((x) => ({ id: x.id, to: x.toAddress, amount: x.amount })));
    expect(JSON.parse(again.lifetime).nonce).toBe(JSON.parse(rows[0]!.lifetime!).nonce);
    expect(again.txId).not.toBe(rows[0]!.txId);
    const seen = api.txs.length;
    await r.broadcast(again);
    const refused = api.txs.slice(seen).find((t) => t.description.compute_ph.exit_code === MarketplaceError.NONCE_USED);
    expect(refused?.description.aborted).toBe(true);
    expect(await r.status(again)).toEqual({ state: "confirmed" });
    expect((await balances()).map((b, i) => b - before[i]!)).toEqual([1n * ONE, 2n * ONE, 3n * ONE]);
    await expectLedgerInvariantsHold(db());
  });

  it("an order the marketplace refuses (paused, exit 402) fails: nothing paid, the debits reversed", async () => {
    const account = await funded(100n * ONE);
    const before = await balances();
    const q = queue();
    await requestThree(q, account);
    await w.marketplace.sendSetPaused(w.admin.getSender(), true);
    try {
      expect(await q.tick()).toMatchObject({ sent: 3 });
      expect((await getBalances(db(), account)).balance).toBe(94n * ONE);
      expect(await q.tick()).toMatchObject({ failed: 3, sent: 0 });
    } finally {
      await w.marketplace.sendSetPaused(w.admin.getSender(), false);
    }
    const rows = await db().prisma.externalPayout.findMany({ where: { accountId: account } });
    expect(rows.every((r) => r.status === "failed" && /exit 402: paused/.test(r.lastError ?? ""))).toBe(true);
    expect((await getBalances(db(), account)).balance).toBe(100n * ONE);
    expect(await balances()).toEqual(before);
    await expectLedgerInvariantsHold(db());
  });

  it("signs nothing while it holds fewer settler keys than the marketplace's threshold", async () => {
    const one = new TonPayoutRail({
      network: "testnet",
      marketplace: w.marketplace.address.toRawString(),
      jettonMaster: w.usdt.address.toRawString(),
      api: toncenterV3(url),
      walletKey: walletKey.secretKey,
      settlerKeys: [w.settlers[0]!.secretKey],
      now: () => w.blockchain.now!,
    });
    const received = api.state.received;
    await expect(one.prepare([{ id: "xpay_x", to: recipients[0]!.toString(), amount: ONE }])).rejects.toThrow(/holds 1 settler keys, the marketplace needs 2/);
    expect(api.state.received).toBe(received);
  });

  it("the server's TON rail pays in its loop, after the deposits", async () => {
    const account = await funded(10n * ONE);
    const before = await balances();
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const cfg = {
      network: "testnet" as const,
      apiUrl: url,
      apiKey: undefined,
      marketplace: w.marketplace.address.toRawString(),
      jettonMaster: w.usdt.address.toRawString(),
      pollMs: 50,
      payouts: { walletKey: walletKey.secretKey, settlerKeys: [w.settlers[0]!.secretKey, w.settlers[1]!.secretKey], batch: 10, lifetimeS: 600 },
    };
    const ton = TonRail.start(db(), cfg, quiet, undefined, () => w.blockchain.now!);
    try {
      const p = await ton.payouts!.request(account, recipients[0]!.toString({ bounceable: false }), 4n * ONE);
      await eventually(async () => (await ton.payouts!.get(p.id))?.status === "confirmed", 20_000, "the rail's payout");
    } finally {
      await ton.stop();
    }
    expect((await balances())[0]! - before[0]!).toBe(4n * ONE);
    await expectLedgerInvariantsHold(db());
  });
});

describe("TON payout configuration and addresses", () => {
  const master = `0:${"ab".repeat(32)}`;
  const base = { TON_POLL_MS: 5000, TON_API_URL: "https://toncenter.example", TON_NETWORK: "testnet" as const, TON_MARKETPLACE: master, TON_JETTON_MASTER: master };
  const keyFile = (content: unknown, mode = 0o600) => {
    const file = join(mkdtempSync(join(tmpdir(), "ton-keys-")), "key.json");
    writeFileSync(file, JSON.stringify(content));
    chmodSync(file, mode);
    return file;
  };

  it("reads the wallet and settler key files, refuses readable ones, bad keys and one without the other", () => {
    const wallet = keyFile("11".repeat(32));
    const settlers = keyFile(["22".repeat(32), "33".repeat(64)]);
    const { ton, issues } = resolveTonConfig({ ...base, TON_WALLET_KEY: wallet, TON_SETTLER_KEYS: settlers });
    expect(issues).toEqual([]);
    expect(ton?.payouts?.settlerKeys.map((k) => k.length)).toEqual([32, 64]);
    expect(ton?.payouts).toMatchObject({ batch: 50, lifetimeS: 600 });
    expect(resolveTonConfig({ ...base, TON_WALLET_KEY: keyFile("11".repeat(32), 0o644), TON_SETTLER_KEYS: settlers }).issues[0]).toMatch(/TON_WALLET_KEY: .*readable by group or others/);
    expect(resolveTonConfig({ ...base, TON_WALLET_KEY: wallet, TON_SETTLER_KEYS: keyFile(["zz"]) }).issues[0]).toMatch(/TON_SETTLER_KEYS: .*hex of 32/);
    expect(resolveTonConfig({ ...base, TON_WALLET_KEY: wallet, TON_SETTLER_KEYS: keyFile(["22".repeat(32), "22".repeat(32)]) }).issues[0]).toMatch(/listed twice/);
    expect(resolveTonConfig({ ...base, TON_WALLET_KEY: wallet }).issues).toEqual(["TON_WALLET_KEY: set without TON_SETTLER_KEYS"]);
    expect(resolveTonConfig({ ...base, TON_WALLET_KEY: wallet, TON_SETTLER_KEYS: "/nonexistent/keys.json" }).issues[0]).toMatch(/no such file/);
  });

  it("takes raw and friendly addresses, refuses others; the nonce depends only on the set of payouts", () => {
    expect(isTonAddress(master)).toBe(true);
    expect(isTonAddress("EQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAM9c")).toBe(true);
    expect(isTonAddress("0:xyz")).toBe(false);
    expect(isTonAddress("So11111111111111111111111111111111111111112")).toBe(false);
    expect(payoutNonce(["a", "b"])).toBe(payoutNonce(["b", "a"]));
    expect(payoutNonce(["a", "b"])).not.toBe(payoutNonce(["a", "c"]));
  });
});
