import { StunError } from "@stun/shared";
import { expect, it } from "vitest";
import {
  SYSTEM_MINT,
  SYSTEM_TREASURY,
  checkLedgerInvariants,
  getBalances,
  getLedgerBalance,
  hold,
  listEntries,
  mint,
  TransfersRefused,
  holdTransfer,
  postTransfer,
  postTransfers,
  refund,
  release,
  settle,
  slash,
  stake,
  unstake,
} from "../../src/ledger";
import { describeDb } from "../support/database";
import { expectLedgerInvariantsHold, useLedgerDatabase } from "./support";

describeDb("ledger", () => {
  const db = useLedgerDatabase();
  let n = 0;

  /** A new account with `funds` minted into it. */
  async function account(funds = 0n): Promise<string> {
    const id = `a${++n}`;
    await db().prisma.account.create({ data: { id } });
    if (funds > 0n) await db().prisma.$transaction((tx) => mint(tx, id, funds));
    return id;
  }
  const balances = (id: string) => getBalances(db(), id);
  const expectCode = async (p: Promise<unknown>, code: string) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StunError);
    expect((err as StunError).code).toBe(code);
  };

  it("mints into available, balanced against system:mint", async () => {
    const a = await account(1_000n);
    expect(await balances(a)).toEqual({ balance: 1_000n, escrow: 0n, stake: 0n });
    const entries = await listEntries(db(), a, { limit: 10 });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ account: `acct:${a}:available`, amount: 1_000n, kind: "mint" });
    expect(await getLedgerBalance(db(), SYSTEM_MINT)).toBeLessThanOrEqual(-1_000n);
    await expectLedgerInvariantsHold(db());
  });

  it("holds into escrow and refuses to overdraw (INSUFFICIENT_FUNDS, nothing written)", async () => {
    const a = await account(100n);
    await db().prisma.$transaction((tx) => hold(tx, a, 70n, "task-1"));
    expect(await balances(a)).toEqual({ balance: 30n, escrow: 70n, stake: 0n });
    await expectCode(
      db().prisma.$transaction(async (tx) => {
        await tx.task.count(); // other work in the same transaction is rolled back too
        await hold(tx, a, 31n, "task-2");
      }),
      "INSUFFICIENT_FUNDS",
    );
    expect(await balances(a)).toEqual({ balance: 30n, escrow: 70n, stake: 0n });
    expect(await db().prisma.ledgerEntry.count({ where: { taskId: "task-2" } })).toBe(0);
    await expectLedgerInvariantsHold(db());
  });

  it("releases part of a hold and refunds the rest", async () => {
    const a = await account(100n);
    await db().prisma.$transaction((tx) => hold(tx, a, 80n, "t-r"));
    await db().prisma.$transaction((tx) => release(tx, a, 30n, "t-r"));
    expect(await balances(a)).toEqual({ balance: 50n, escrow: 50n, stake: 0n });
    await db().prisma.$transaction((tx) => refund(tx, a, 50n, "t-r"));
    expect(await balances(a)).toEqual({ balance: 100n, escrow: 0n, stake: 0n });
    await expectCode(
      db().prisma.$transaction((tx) => refund(tx, a, 1n, "t-r")),
      "INSUFFICIENT_FUNDS",
    );
    const kinds = (await db().prisma.ledgerEntry.findMany({ where: { taskId: "t-r" }, orderBy: { id: "asc" } })).map((e) => e.kind);
    expect(kinds).toEqual(["hold", "hold", "release", "release", "refund", "refund"]);
  });

  it("settles: providers, treasury and creator paid from escrow, the rest returned", async () => {
    const req = await account(1_000n);
    const [p1, p2, creator] = [await account(), await account(), await account()];
    const treasuryBefore = await getLedgerBalance(db(), SYSTEM_TREASURY);
    await db().prisma.$transaction((tx) => hold(tx, req, 500n, "t-s"));
    const result = await db().prisma.$transaction((tx) =>
      settle(tx, {
        taskId: "t-s",
        requesterId: req,
        held: 500n,
        payouts: [
          { accountId: p1, amount: 161n },
          { accountId: p2, amount: 159n },
        ],
        treasury: 60n,
        creator: { accountId: creator, amount: 20n },
      }),
    );
    expect(result.returned).toBe(100n);
    expect(await balances(req)).toEqual({ balance: 600n, escrow: 0n, stake: 0n });
    expect((await balances(p1)).balance).toBe(161n);
    expect((await balances(p2)).balance).toBe(159n);
    expect((await balances(creator)).balance).toBe(20n);
    expect((await getLedgerBalance(db(), SYSTEM_TREASURY)) - treasuryBefore).toBe(60n);
    const tx = await db().prisma.ledgerEntry.findMany({ where: { txId: result.txId } });
    expect(tx.reduce((s, e) => s + e.amount, 0n)).toBe(0n);
    await expectLedgerInvariantsHold(db());
  });

  it("settles when the requester is also the creator or a provider", async () => {
    const req = await account(100n);
    await db().prisma.$transaction((tx) => hold(tx, req, 100n, "t-self"));
    await db().prisma.$transaction((tx) =>
      settle(tx, {
        taskId: "t-self",
        requesterId: req,
        held: 100n,
        payouts: [{ accountId: req, amount: 80n }],
        treasury: 15n,
        creator: { accountId: req, amount: 5n },
      }),
    );
    expect(await balances(req)).toEqual({ balance: 85n, escrow: 0n, stake: 0n });
    await expectLedgerInvariantsHold(db());
  });

  it("refuses a settlement whose shares exceed what is held", async () => {
    const req = await account(100n);
    const p = await account();
    await db().prisma.$transaction((tx) => hold(tx, req, 50n, "t-x"));
    const bad = (held: bigint, payout: bigint) =>
      db().prisma.$transaction((tx) => settle(tx, { taskId: "t-x", requesterId: req, held, payouts: [{ accountId: p, amount: payout }], treasury: 1n, creator: { accountId: p, amount: 1n } }));
    await expectCode(bad(50n, 49n), "VALIDATION_FAILED");
    await expectCode(bad(50n, -1n), "VALIDATION_FAILED");
    await expectCode(bad(60n, 10n), "INSUFFICIENT_FUNDS"); // more than the escrow really holds
    expect(await balances(req)).toEqual({ balance: 50n, escrow: 50n, stake: 0n });
  });

  it("stakes, unstakes and slashes", async () => {
    const prov = await account(1_000n);
    const victim = await account();
    const treasuryBefore = await getLedgerBalance(db(), SYSTEM_TREASURY);
    await db().prisma.$transaction((tx) => stake(tx, prov, 600n));
    await db().prisma.$transaction((tx) => unstake(tx, prov, 100n));
    expect(await balances(prov)).toEqual({ balance: 500n, escrow: 0n, stake: 500n });
    await expectCode(
      db().prisma.$transaction((tx) => unstake(tx, prov, 501n)),
      "INSUFFICIENT_FUNDS",
    );
    await db().prisma.$transaction((tx) => slash(tx, prov, 100n, { toTreasury: 100n, taskId: "t-sl" }));
    await db().prisma.$transaction((tx) => slash(tx, prov, 100n, { toTreasury: 40n, toAccountId: victim }));
    expect(await balances(prov)).toEqual({ balance: 500n, escrow: 0n, stake: 300n });
    expect((await balances(victim)).balance).toBe(60n);
    expect((await getLedgerBalance(db(), SYSTEM_TREASURY)) - treasuryBefore).toBe(140n);
    await expectCode(
      db().prisma.$transaction((tx) => slash(tx, prov, 10n, { toTreasury: 5n })),
      "VALIDATION_FAILED",
    );
    await expectCode(
      db().prisma.$transaction((tx) => slash(tx, prov, 301n, { toTreasury: 301n })),
      "INSUFFICIENT_FUNDS",
    );
    await expectLedgerInvariantsHold(db());
  });

  it("postTransfer rejects unbalanced, empty and unknown-account transfers", async () => {
    const a = await account(10n);
    const run = (entries: { account: string; amount: bigint }[]) => db().prisma.$transaction((tx) => postTransfer(tx, { kind: "test", entries }));
    await expectCode(run([]), "VALIDATION_FAILED");
    await expectCode(run([{ account: `acct:${a}:available`, amount: 1n }]), "VALIDATION_FAILED");
    await expectCode(
      run([
        { account: "acct:x", amount: 1n },
        { account: SYSTEM_MINT, amount: -1n },
      ]),
      "VALIDATION_FAILED",
    );
    await expectCode(
      run([
        { account: "acct:nobody:available", amount: 1n },
        { account: SYSTEM_MINT, amount: -1n },
      ]),
      "NOT_FOUND",
    );
    await expectCode(mintAmount(a, 0n), "VALIDATION_FAILED");
    await expectCode(
      db().prisma.$transaction((tx) => hold(tx, a, -5n, "t")),
      "VALIDATION_FAILED",
    );
  });
  const mintAmount = (id: string, amount: bigint) => db().prisma.$transaction((tx) => mint(tx, id, amount));

  it("lists an account's entries newest first with keyset pagination", async () => {
    const a = await account(100n);
    for (let i = 1; i <= 4; i++) await db().prisma.$transaction((tx) => hold(tx, a, 1n, `t-page-${i}`));
    const all = await listEntries(db(), a, { limit: 100 });
    expect(all).toHaveLength(9); // mint (1) + 4 holds × 2 legs
    expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((x, y) => (x > y ? -1 : 1)));
    const page1 = await listEntries(db().prisma, a, { limit: 4 });
    const page2 = await listEntries(db().prisma, a, { limit: 4, before: page1.at(-1)!.id });
    const page3 = await listEntries(db().prisma, a, { limit: 4, before: page2.at(-1)!.id });
    expect([...page1, ...page2, ...page3].map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(page3).toHaveLength(1);
    expect(all.every((e) => e.account.startsWith(`acct:${a}:`))).toBe(true);
  });

  it("checkLedgerInvariants reports tampering", async () => {
    const a = await account(50n);
    await expectLedgerInvariantsHold(db());
    await db().prisma.account.update({ where: { id: a }, data: { balance: 51n } });
    await db().prisma.ledgerEntry.create({ data: { txId: "bad-tx", account: SYSTEM_TREASURY, amount: 7n, kind: "test" } });
    const v = await checkLedgerInvariants(db());
    expect(v).toContain("entries sum to 7, not 0");
    expect(v).toContain("transaction bad-tx sums to 7");
    expect(v).toContain(`account ${a}: cached balance 51 but entries sum to 50`);
    // Put the books right again for the tests that follow.
    await db().prisma.account.update({ where: { id: a }, data: { balance: 50n } });
    await db().prisma.ledgerEntry.deleteMany({ where: { txId: "bad-tx" } });
    await expectLedgerInvariantsHold(db());
  });

  it("concurrent holds never overdraw", async () => {
    const a = await account(100n);
    const attempts = 12;
    const results = await Promise.allSettled(Array.from({ length: attempts }, (_, i) => db().prisma.$transaction((tx) => hold(tx, a, 30n, `t-c-${i}`), { maxWait: 30_000, timeout: 30_000 })));
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const failed = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
    expect(ok).toBe(3);
    expect(failed.every((e) => e instanceof StunError && e.code === "INSUFFICIENT_FUNDS")).toBe(true);
    expect(await balances(a)).toEqual({ balance: 10n, escrow: 90n, stake: 0n });
    await expectLedgerInvariantsHold(db());
  });

  it("postTransfers: several transfers in one statement, each its own ledger transaction, as if posted in turn", async () => {
    const a = await account(100n);
    const b = await account(50n);
    const transfers = [holdTransfer(a, 30n, "t-many-1"), holdTransfer(a, 40n, "t-many-2"), holdTransfer(b, 50n, "t-many-3")];
    await db().prisma.$transaction((tx) => postTransfers(tx, transfers));
    expect(await balances(a)).toEqual({ balance: 30n, escrow: 70n, stake: 0n });
    expect(await balances(b)).toEqual({ balance: 0n, escrow: 50n, stake: 0n });
    // One ledger transaction per transfer, with its own kind and task, two legs each.
    const entries = await db().prisma.ledgerEntry.findMany({ where: { taskId: { in: ["t-many-1", "t-many-2", "t-many-3"] } } });
    const byTx = new Map<string, typeof entries>();
    for (const e of entries) byTx.set(e.txId, [...(byTx.get(e.txId) ?? []), e]);
    expect(byTx.size).toBe(3);
    for (const legs of byTx.values()) {
      expect(legs).toHaveLength(2);
      expect(legs.reduce((sum, e) => sum + e.amount, 0n)).toBe(0n);
      expect(new Set(legs.map((e) => e.taskId)).size).toBe(1);
      expect(legs.every((e) => e.kind === "hold")).toBe(true);
    }
    await expectLedgerInvariantsHold(db());
  });

  it("postTransfers writes nothing when any transfer would overdraw, counting every transfer of an account together", async () => {
    const a = await account(100n);
    const b = await account(100n);
    // Each alone fits a's balance; together they do not. b's transfer fits, yet nothing is written.
    const err = await db()
      .prisma.$transaction((tx) => postTransfers(tx, [holdTransfer(a, 60n, "t-refused-1"), holdTransfer(b, 10n, "t-refused-2"), holdTransfer(a, 60n, "t-refused-3")]))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransfersRefused);
    expect(await balances(a)).toEqual({ balance: 100n, escrow: 0n, stake: 0n });
    expect(await balances(b)).toEqual({ balance: 100n, escrow: 0n, stake: 0n });
    expect(await db().prisma.ledgerEntry.count({ where: { taskId: { in: ["t-refused-1", "t-refused-2", "t-refused-3"] } } })).toBe(0);
    await expectLedgerInvariantsHold(db());
  });

  it("postTransfers checks a storage charge against the bytes of every transfer of the account", async () => {
    const a = await account(100n);
    const refused = (used: bigint) => new StunError("STORAGE_QUOTA", `over quota at ${used}`);
    const charged = (taskId: string, bytes: bigint) => holdTransfer(a, 1n, taskId, { storage: { accountId: a, bytes, quota: 100n, refused } });
    await expect(db().prisma.$transaction((tx) => postTransfers(tx, [charged("t-q-1", 60n), charged("t-q-2", 60n)]))).rejects.toBeInstanceOf(TransfersRefused);
    await db().prisma.$transaction((tx) => postTransfers(tx, [charged("t-q-3", 60n), charged("t-q-4", 40n)]));
    expect((await db().prisma.account.findUniqueOrThrow({ where: { id: a } })).storageBytes).toBe(100n);
    // Alone, the next charge names its own refusal.
    await expectCode(
      db().prisma.$transaction((tx) => postTransfer(tx, charged("t-q-5", 1n))),
      "STORAGE_QUOTA",
    );
  });
});
