/**
 * Solana deposits on litesvm with the real SPL Token and Memo programs: an SPL transfer to the
 * marketplace's deposit token account with a Memo naming a Stun account is credited exactly once —
 * across a restart (a new scanner from the stored cursor) and a replayed scan from an older cursor;
 * one with no memo or a memo naming no account is recorded unmatched; one of another mint is
 * recorded unmatched and never credited. The ledger's invariants hold after each.
 */
import { beforeAll, expect, it } from "vitest";
import { DepositScanner } from "../../../src/chains/deposit-scanner";
import { SolanaDepositSource } from "../../../src/chains/solana/deposits";
import { associatedTokenAccount } from "../../../src/chains/solana/payouts";
import { getBalances, getLedgerBalance, SYSTEM_CHAIN } from "../../../src/ledger";
import { newId } from "../../../src/ids";
import { describeDb } from "../../support/database";
import { expectLedgerInvariantsHold, useLedgerDatabase } from "../../ledger/support";
import { createTestbed, type Testbed } from "./testbed";

describeDb("solana deposits: SPL transfer + memo credited once after finality", () => {
  const db = useLedgerDatabase();
  let bed: Testbed;
  const scanner = () => new DepositScanner(db(), new SolanaDepositSource(bed.chain, "localnet", bed.depositAccount), { token: bed.mint });
  const newAccount = async () => (await db().prisma.account.create({ data: { id: newId("acc") } })).id;
  const deposits = (txId: string) => db().prisma.externalDeposit.findMany({ where: { family: "solana", network: "localnet", txId }, orderBy: { index: "asc" } });

  beforeAll(async () => {
    bed = await createTestbed();
  });

  it("credits a memo deposit once: across a restart from the stored cursor and a replayed scan", async () => {
    const account = await newAccount();
    const user = await bed.newUser(1_000_000n);
    const sig = await bed.deposit(user, 250_000n, account);
    expect(await bed.balance(bed.depositOwner.address)).toBe(250_000n);

    const first = await scanner().tick();
    expect(first).toMatchObject({ credited: 1, unmatched: 0, duplicate: 0, cursor: sig });
    expect((await getBalances(db(), account)).balance).toBe(250_000n);
    const [row] = await deposits(sig);
    expect(row).toMatchObject({ status: "credited", accountId: account, accountTag: account, token: bed.mint, amount: "250000", fromAddress: user.address, index: 0 });
    expect(row!.ledgerTxId).toBeTruthy();

    // A restart: a fresh scanner reads the durable cursor; nothing after it, nothing credited again.
    const restarted = scanner();
    expect(await restarted.cursor()).toBe(sig);
    expect(await restarted.tick()).toMatchObject({ credited: 0, unmatched: 0, duplicate: 0, cursor: sig });

    // A replay from the start (an operator rewinding; a crash before the cursor moved): recorded before, credited once.
    const second = await bed.deposit(user, 5n, account);
    await restarted.setCursor(null);
    const replay = await restarted.drain();
    expect(replay).toEqual({ credited: 1, unmatched: 0, duplicate: 1, reversed: 0 });
    expect(await restarted.cursor()).toBe(second);
    expect((await getBalances(db(), account)).balance).toBe(250_005n);
    expect(await db().prisma.externalDeposit.count({ where: { accountId: account } })).toBe(2);
    expect(await getLedgerBalance(db(), SYSTEM_CHAIN)).toBe(-(await db().prisma.externalDeposit.findMany({ where: { status: "credited" } })).reduce((s, d) => s + BigInt(d.amount), 0n));
    await expectLedgerInvariantsHold(db());
  });

  it("records a deposit with no memo, or a memo naming no account, unmatched and credits nothing", async () => {
    const account = await newAccount();
    const user = await bed.newUser(1_000n);
    const noMemo = await bed.deposit(user, 100n, null);
    const wrongMemo = await bed.deposit(user, 200n, "acc_nobody_by_that_name");
    const chainBefore = await getLedgerBalance(db(), SYSTEM_CHAIN);
    const pass = await scanner().drain();
    expect(pass).toEqual({ credited: 0, unmatched: 2, duplicate: 0, reversed: 0 });
    expect(await deposits(noMemo)).toMatchObject([{ status: "unmatched", accountId: null, accountTag: null, reason: "no memo or forward payload naming a Stun account", ledgerTxId: null }]);
    expect(await deposits(wrongMemo)).toMatchObject([{ status: "unmatched", accountId: null, accountTag: "acc_nobody_by_that_name", reason: 'no Stun account "acc_nobody_by_that_name"' }]);
    expect(await getLedgerBalance(db(), SYSTEM_CHAIN)).toBe(chainBefore);
    expect((await getBalances(db(), account)).balance).toBe(0n);
    // Scanning again records nothing new.
    expect(await scanner().drain()).toEqual({ credited: 0, unmatched: 0, duplicate: 0, reversed: 0 });
    await expectLedgerInvariantsHold(db());
  });

  it("records a deposit of another mint unmatched and never credits it", async () => {
    const account = await newAccount();
    const otherMint = await bed.newMint();
    const user = await bed.newUser(10_000n, otherMint);
    const sig = await bed.deposit(user, 7_000n, account, otherMint);
    // The deposit owner's token account for the other mint, watched with the same rules (token = the configured mint).
    const otherAccount = await associatedTokenAccount(bed.depositOwner.address, otherMint);
    const source = new SolanaDepositSource(bed.chain, "localnet", otherAccount);
    const other = new DepositScanner(db(), source, { token: bed.mint });
    const chainBefore = await getLedgerBalance(db(), SYSTEM_CHAIN);
    expect(await other.drain()).toEqual({ credited: 0, unmatched: 1, duplicate: 0, reversed: 0 });
    expect(await other.drain()).toEqual({ credited: 0, unmatched: 0, duplicate: 0, reversed: 0 });
    await other.setCursor(null);
    expect(await other.drain()).toEqual({ credited: 0, unmatched: 0, duplicate: 1, reversed: 0 });
    expect(await deposits(sig)).toMatchObject([{ status: "unmatched", accountTag: account, accountId: null, token: otherMint, reason: `token ${otherMint} is not the ledger token ${bed.mint}` }]);
    expect((await getBalances(db(), account)).balance).toBe(0n);
    expect(await getLedgerBalance(db(), SYSTEM_CHAIN)).toBe(chainBefore);
    // The marketplace's own deposit account never saw it.
    expect(await scanner().drain()).toEqual({ credited: 0, unmatched: 0, duplicate: 0, reversed: 0 });
    await expectLedgerInvariantsHold(db());
  });

  it("refuses a deposit that is not final: nothing recorded, the cursor stays", async () => {
    const account = await newAccount();
    const source = {
      family: "solana" as const,
      network: "localnet",
      cursorId: "deposits:solana:localnet:not-final-test",
      scan: async () => ({
        deposits: [{ family: "solana" as const, network: "localnet", txId: "sigNotFinal", index: 0, accountTag: account, token: bed.mint, amount: 5n, from: "x", slotOrLt: 1n, final: false }],
        cursor: "sigNotFinal",
      }),
    };
    const s = new DepositScanner(db(), source, { token: bed.mint });
    await expect(s.tick()).rejects.toThrow(/is not final/);
    expect(await s.cursor()).toBeNull();
    expect(await deposits("sigNotFinal")).toEqual([]);
    expect((await getBalances(db(), account)).balance).toBe(0n);
  });

  it("ignores a failed transaction and transfers to other accounts in a deposit's transaction", async () => {
    const account = await newAccount();
    const user = await bed.newUser(1_000n);
    const bystander = await bed.newUser(0n);
    const { getTransferCheckedInstruction } = await import("@solana-program/token");
    const source = await associatedTokenAccount(user.address, bed.mint);
    // A transfer to someone else and a deposit in one transaction (memo last): only the deposit counts, at its instruction index.
    const sig = await bed.send(user, [
      getTransferCheckedInstruction({ source, mint: bed.mint, destination: await associatedTokenAccount(bystander.address, bed.mint), authority: user, amount: 10n, decimals: 6 }),
      getTransferCheckedInstruction({ source, mint: bed.mint, destination: bed.depositAccount, authority: user, amount: 20n, decimals: 6 }),
      {
        ...(await import("@solana-program/memo")).getAddMemoInstruction({ memo: ` ${account}\n` }),
        programAddress: (await import("@solana/kit")).address("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"),
      },
    ]);
    await expect(bed.deposit(user, 5_000n, account)).rejects.toThrow(/transaction failed/); // more than it holds: lands failed
    expect(await scanner().drain()).toEqual({ credited: 1, unmatched: 0, duplicate: 0, reversed: 0 });
    expect(await deposits(sig)).toMatchObject([{ index: 1, amount: "20", status: "credited", accountId: account }]);
    expect((await getBalances(db(), account)).balance).toBe(20n);
    await expectLedgerInvariantsHold(db());
  });
});
