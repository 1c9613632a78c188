/**
 * Payouts to a linked wallet (POST /chain/payouts, services/external-payouts.ts): the account must
 * have linked a wallet of that family, proven on the network this server pays out on; then the
 * rail's queue debits the balance and pays once on litesvm. A server without the family's rail says
 * so. Bad input: another family, the wrong network, no linked wallet, too little balance.
 */
import { beforeAll, expect, it } from "vitest";
import { StunError } from "@stun/shared";
import type { AppContext } from "../../../src/context";
import { PayoutQueue } from "../../../src/chains/payouts";
import { SolanaPayoutRail } from "../../../src/chains/solana/payouts";
import { listPayouts, requestPayout, sameNetwork } from "../../../src/services/external-payouts";
import { getBalances, mint } from "../../../src/ledger";
import { newId } from "../../../src/ids";
import { describeDb } from "../../support/database";
import { startTestNetwork } from "../../support/network";
import { api } from "../../support/api";
import { expectLedgerInvariantsHold, useLedgerDatabase } from "../../ledger/support";
import { createTestbed, type Testbed } from "./testbed";

const code = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => (e instanceof StunError ? e.code : String(e)),
  );

it("matches a linked wallet's network to the rail's", () => {
  expect(sameNetwork("solana", "solana:devnet", "devnet")).toBe(true);
  expect(sameNetwork("solana", "solana:mainnet", "mainnet-beta")).toBe(true);
  expect(sameNetwork("solana", "solana:devnet", "mainnet-beta")).toBe(false);
  expect(sameNetwork("solana", "ton:-3", "devnet")).toBe(false);
  expect(sameNetwork("ton", "ton:-239", "mainnet")).toBe(true);
  expect(sameNetwork("ton", "ton:-3", "mainnet")).toBe(false);
});

describeDb("payouts to a linked Solana wallet", () => {
  const db = useLedgerDatabase();
  let bed: Testbed;
  let queue: PayoutQueue;
  let app: AppContext;

  beforeAll(async () => {
    bed = await createTestbed();
    queue = new PayoutQueue(db(), new SolanaPayoutRail(bed.chain, "localnet", bed.mint, bed.settlement), { maxBatch: 10 });
    app = { db: db(), payoutRails: { solana: { network: "localnet", request: (a: string, to: string, amount: bigint) => queue.request(a, to, amount) } } } as unknown as AppContext;
  });

  const funded = async (amount: bigint) => {
    const id = newId("acc");
    await db().prisma.account.create({ data: { id } });
    await db().prisma.$transaction((tx) => mint(tx, id, amount));
    return id;
  };

  it("pays the linked wallet once, and refuses another family, the wrong network, no wallet and too little balance", async () => {
    const account = await funded(5_000n);
    expect(await code(requestPayout(app, account, { family: "solana", amount: "100" }))).toBe("WALLET_NOT_LINKED");
    expect(await code(requestPayout(app, account, { family: "ton", amount: "100" }))).toBe("REQUIREMENTS_UNSATISFIABLE");

    const user = await bed.newUser(0n);
    await db().prisma.linkedWallet.create({ data: { family: "solana", address: user.address, accountId: account, network: "solana:devnet" } });
    expect(await code(requestPayout(app, account, { family: "solana", amount: "100" }))).toBe("WALLET_WRONG_NETWORK");
    await db().prisma.linkedWallet.update({ where: { family_address: { family: "solana", address: user.address } }, data: { network: "solana:localnet" } });
    expect(await code(requestPayout(app, account, { family: "solana", amount: "999999" }))).toBe("INSUFFICIENT_FUNDS");

    const view = await requestPayout(app, account, { family: "solana", amount: "1200" });
    expect(view).toMatchObject({ family: "solana", network: "localnet", to: user.address, amount: "1200", status: "pending" });
    expect((await getBalances(db(), account)).balance).toBe(3_800n);
    await queue.tick();
    await queue.tick();
    expect(await listPayouts(app, account)).toMatchObject([{ id: view.id, status: "confirmed" }]);
    expect(await bed.balance(user.address)).toBe(1_200n);
    await expectLedgerInvariantsHold(db());
  });
});

describeDb("POST /chain/payouts on a server without Solana or TON rails", () => {
  it("answers with what it pays out on, and validates the family", async () => {
    const net = await startTestNetwork();
    try {
      const solana = await api(net.url, "POST", "/chain/payouts", { key: net.apiKey, json: { family: "solana", amount: "1" } });
      expect([solana.status, solana.body.error.code]).toEqual([400, "REQUIREMENTS_UNSATISFIABLE"]);
      const evm = await api(net.url, "POST", "/chain/payouts", { key: net.apiKey, json: { family: "evm", amount: "1" } });
      expect([evm.status, evm.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
      const zero = await api(net.url, "POST", "/chain/payouts", { key: net.apiKey, json: { family: "solana", amount: "0" } });
      expect(zero.body.error.code).toBe("VALIDATION_FAILED");
      expect((await api(net.url, "GET", "/chain/payouts", { key: net.apiKey })).body).toEqual({ payouts: [] });
    } finally {
      await net.close();
    }
  });
});
