/**
 * TON deposits end to end: Jetton transfers to the marketplace contract (contracts-ton) in
 * @ton/sandbox, read back through a toncenter-v3-compatible HTTP API (a stand-in serving the
 * sandbox's transactions as toncenter does: a third party's service, outside the system under
 * test), turned into ObservedDeposits by TonDepositSource and recorded by the family-neutral
 * scanner: credited once per (network, transaction, message), across restarts and replays; no tag,
 * an unknown account or another jetton recorded unmatched and never credited.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Address, type Cell, toNano } from "@ton/core";
import type { BlockchainTransaction } from "@ton/sandbox";
import { depositForwardPayload } from "@stun/contracts-ton";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DepositScanner } from "../../../src/chains/deposit-scanner";
import { TonDepositSource } from "../../../src/chains/ton/deposit-source";
import { toncenterV3 } from "../../../src/chains/ton/toncenter";
import { resolveTonConfig } from "../../../src/chains/ton/config";
import { TonRail } from "../../../src/chains/ton/service";
import { eventually } from "../../support/network";
import { getBalances } from "../../../src/ledger";
import { newId } from "../../../src/ids";
import { describeDb } from "../../support/database";
import { expectLedgerInvariantsHold, useLedgerDatabase } from "../../ledger/support";
import { createWorld, ONE, type World } from "../../../../../contracts-ton/test/support/setup";

/** toncenter v3's JSON for one transaction (the fields TonDepositSource reads). */
function v3(tx: BlockchainTransaction, account: Address) {
  const d = tx.description;
  const success = d.type === "generic" && d.computePhase.type === "vm" ? d.computePhase.success : false;
  return {
    account: account.toRawString(),
    hash: tx.hash().toString("base64"),
    lt: tx.lt.toString(),
    now: tx.now,
    description: { aborted: d.type === "generic" ? d.aborted : true, compute_ph: { success } },
    out_msgs: [...tx.outMessages.values()].map((m) => ({
      destination: m.info.type === "external-out" ? null : (m.info.dest?.toString() ?? null),
      message_content: { body: m.body.toBoc().toString("base64") },
    })),
  };
}

/** A toncenter stand-in over the marketplace's transactions recorded from the sandbox. */
function startTonCenter(account: Address) {
  const txs: ReturnType<typeof v3>[] = [];
  const state = { failNext: 0, requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    const url = new URL(req.url ?? "/", "http://x");
    if (state.failNext > 0) {
      state.failNext--;
      return void res.writeHead(500).end();
    }
    if (url.pathname !== "/api/v3/transactions" || url.searchParams.get("account") !== account.toRawString()) return void res.writeHead(404).end();
    const start = url.searchParams.has("start_lt") ? BigInt(url.searchParams.get("start_lt")!) : 0n;
    const limit = Number(url.searchParams.get("limit") ?? "10");
    const page = txs.filter((t) => BigInt(t.lt) >= start).slice(0, limit);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ transactions: page, address_book: {} }));
  });
  return {
    txs,
    state,
    server,
    listen: () => new Promise<string>((r) => server.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    /** Records the marketplace's transactions of a sandbox send. */
    record(transactions: BlockchainTransaction[]) {
      const hash = BigInt(`0x${account.hash.toString("hex")}`);
      for (const tx of transactions) if (tx.address === hash) txs.push(v3(tx, account));
    },
  };
}

describeDb("TON deposits: the marketplace's Deposited log, read through a toncenter API, credited once", () => {
  const db = useLedgerDatabase();
  let w: World;
  let api: ReturnType<typeof startTonCenter>;
  let url: string;
  const source = () => new TonDepositSource({ network: "testnet", marketplace: w.marketplace.address.toRawString(), jettonMaster: w.usdt.address.toRawString(), api: toncenterV3(url) });
  const scanner = () => new DepositScanner(db(), source(), { token: w.usdt.address.toRawString() });
  const newAccount = async () => (await db().prisma.account.create({ data: { id: newId("acc") } })).id;

  async function deposit(amount: bigint, forwardPayload: Cell | undefined, minter = w.usdt) {
    const wallet = await w.wallet(minter, w.alice.address);
    const result = await wallet.sendTransfer(w.alice.getSender(), { to: w.marketplace.address, amount, responseTo: w.alice.address, forwardTonAmount: toNano("0.05"), forwardPayload });
    api.record(result.transactions);
  }

  beforeAll(async () => {
    w = await createWorld();
    api = startTonCenter(w.marketplace.address);
    url = await api.listen();
  });
  afterAll(() => api?.server.close());

  it("credits a tagged deposit once: across a restart from the stored cursor and a replay from the start", async () => {
    const account = await newAccount();
    await deposit(25n * ONE, depositForwardPayload(account));
    expect(await scanner().drain()).toMatchObject({ credited: 1, unmatched: 0 });
    expect((await getBalances(db(), account)).balance).toBe(25n * ONE);
    const [row] = await db().prisma.externalDeposit.findMany({ where: { family: "ton", accountId: account } });
    expect(row).toMatchObject({ status: "credited", network: "testnet", token: w.usdt.address.toRawString(), amount: String(25n * ONE), fromAddress: w.alice.address.toRawString() });

    // A restart reads the durable cursor: nothing new, nothing credited again.
    expect(await scanner().tick()).toMatchObject({ credited: 0, unmatched: 0, duplicate: 0 });
    // A replay from the start (an operator rewinding): every deposit is a duplicate.
    const replay = scanner();
    await replay.setCursor(null);
    expect(await replay.drain()).toMatchObject({ credited: 0 });
    expect((await getBalances(db(), account)).balance).toBe(25n * ONE);
    await expectLedgerInvariantsHold(db());
  });

  it("records no tag, an unknown account and another jetton as unmatched, and credits none", async () => {
    const before = await db().prisma.externalDeposit.count({ where: { family: "ton", status: "unmatched" } });
    await deposit(2n * ONE, undefined);
    await deposit(3n * ONE, depositForwardPayload("acc_nobody_here"));
    await deposit(4n * ONE, depositForwardPayload(await newAccount()), w.other);
    const pass = await scanner().drain();
    expect(pass).toMatchObject({ credited: 0, unmatched: 3 });
    // Rows recorded in one transaction share their createdAt (PostgreSQL's now()): compare as a set.
    const rows = await db().prisma.externalDeposit.findMany({ where: { family: "ton", status: "unmatched" } });
    expect(rows.length - before).toBe(3);
    const reasons = rows.map((r) => r.reason ?? "");
    expect(reasons.some((r) => /no .*naming a Stun account/.test(r))).toBe(true);
    expect(reasons.some((r) => /no Stun account "acc_nobody_here"/.test(r))).toBe(true);
    expect(reasons.some((r) => /is not the ledger token/.test(r))).toBe(true);
    expect(rows.every((r) => r.ledgerTxId === null && r.accountId === null)).toBe(true);
    await expectLedgerInvariantsHold(db());
  });

  it("the server's TON rail credits deposits in its loop", async () => {
    const account = await newAccount();
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const cfg = { network: "testnet" as const, apiUrl: url, apiKey: undefined, marketplace: w.marketplace.address.toRawString(), jettonMaster: w.usdt.address.toRawString(), pollMs: 50 };
    const rail = TonRail.start(db(), cfg, quiet);
    try {
      await deposit(11n * ONE, depositForwardPayload(account));
      await eventually(async () => (await getBalances(db(), account)).balance === 11n * ONE, 20_000, "the rail's credit");
    } finally {
      await rail.stop();
    }
  });

  it("an API failure moves nothing: the next pass picks up where the last one ended", async () => {
    const account = await newAccount();
    await deposit(7n * ONE, depositForwardPayload(account));
    const s = scanner();
    const cursor = await s.cursor();
    api.state.failNext = 1;
    await expect(s.tick()).rejects.toThrow(/500/);
    expect(await s.cursor()).toBe(cursor);
    expect(await s.drain()).toMatchObject({ credited: 1 });
    expect((await getBalances(db(), account)).balance).toBe(7n * ONE);
  });
});

describe("TON configuration", () => {
  const master = "0:" + "ab".repeat(32);
  it("is off without TON_API_URL, says what is missing, and normalises addresses to raw form", () => {
    expect(resolveTonConfig({ TON_POLL_MS: 5000 })).toEqual({ ton: undefined, issues: [] });
    expect(resolveTonConfig({ TON_POLL_MS: 5000, TON_NETWORK: "testnet" }).issues).toEqual(["TON_NETWORK: set without TON_API_URL"]);
    expect(resolveTonConfig({ TON_POLL_MS: 5000, TON_API_URL: "https://toncenter.example" }).issues).toHaveLength(3);
    const { ton } = resolveTonConfig({ TON_POLL_MS: 5000, TON_API_URL: "https://toncenter.example", TON_NETWORK: "mainnet", TON_MARKETPLACE: master, TON_JETTON_MASTER: master });
    expect(ton).toMatchObject({ network: "mainnet", marketplace: master, jettonMaster: master });
  });
});
