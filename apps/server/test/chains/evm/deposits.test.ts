/**
 * EVM deposits through the family-neutral core: the marketplace's `Deposited` logs on a real anvil
 * with the Stun contracts (startLocalChain), read by EvmDepositSource and recorded by the shared
 * DepositScanner, with 3 confirmations: credited once per (chain, transaction, log) across a
 * restart and a replay; not credited until 3 blocks deep; a deposit reorged away before it was deep
 * enough never credited; a reorg under the cursor rewinds and rescans without crediting twice; a
 * reorg deeper than the confirmations that takes a credited deposit away reverses its credit once
 * (or records the shortfall when the balance was spent), and credits it again once if it comes back.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Hex, getAddress, parseEventLogs } from "viem";
import { accountToBytes32, computeMarketplaceAbi, mockERC20Abi } from "@stun/contracts";
import { DepositScanner } from "../../../src/chains/deposit-scanner";
import { EvmDepositSource } from "../../../src/chains/evm/deposit-source";
import { type LocalChain, startLocalChain } from "../../../src/chain";
import { SYSTEM_CHAIN, SYSTEM_TREASURY, available, getBalances, postTransfer } from "../../../src/ledger";
import { newId } from "../../../src/ids";
import { DEFAULT_MIGRATIONS_DIR, readMigrations } from "../../../src/db/migrate";
import { describeDb } from "../../support/database";
import { expectLedgerInvariantsHold, useLedgerDatabase } from "../../ledger/support";

const CONFIRMATIONS = 3;

describeDb("EVM deposits: the marketplace's Deposited logs through the family-neutral scanner", () => {
  const db = useLedgerDatabase();
  let chain: LocalChain;

  const source = () =>
    new EvmDepositSource(chain.anvil.publicClient, {
      chainId: chain.chainId,
      marketplace: chain.addresses.marketplace,
      confirmations: CONFIRMATIONS,
      logRange: 1_000n,
      startBlock: chain.deployBlock,
    });
  const scanner = () => new DepositScanner(db(), source(), { token: getAddress(chain.addresses.token) });
  const newAccount = async () => (await db().prisma.account.create({ data: { id: newId("acc") } })).id;
  const rowsOf = (accountTag: string) => db().prisma.externalDeposit.findMany({ where: { family: "evm", accountTag } });
  const mine = (blocks: number) => chain.anvil.testClient.mine({ blocks });
  const wallet = () => chain.anvil.wallets.find((w) => w.account.address === chain.demoAccounts[0]!.address)!;
  let lastApprove: Hex;
  const rawTx = (hash: Hex) => chain.anvil.publicClient.request({ method: "eth_getRawTransactionByHash" as never, params: [hash] as never }) as Promise<Hex>;
  const reversals = () => db().prisma.ledgerEntry.count({ where: { kind: "external_deposit_reversed", amount: { gt: 0n } } });

  /** approve + deposit (two blocks, automined); returns the deposit's transaction hash. */
  async function deposit(account: Hex, amount: bigint): Promise<Hex> {
    const w = wallet();
    const pc = chain.anvil.publicClient;
    lastApprove = await w.writeContract({ address: chain.addresses.token, abi: mockERC20Abi, functionName: "approve", args: [chain.addresses.marketplace, amount] });
    await pc.waitForTransactionReceipt({ hash: lastApprove });
    const r = await pc.waitForTransactionReceipt({
      hash: await w.writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "deposit", args: [chain.addresses.token, amount, account] }),
    });
    expect(r.status).toBe("success");
    return r.transactionHash;
  }

  beforeAll(async () => {
    chain = await startLocalChain({ demoAccounts: 1 });
  }, 180_000);
  afterAll(async () => {
    await chain?.stop();
  });

  it("credits a deposit once: across a restart from the stored cursor and a replay from the start", async () => {
    const account = await newAccount();
    const txHash = await deposit(accountToBytes32(account), 500n);
    await mine(CONFIRMATIONS);
    expect(await scanner().drain()).toMatchObject({ credited: 1, unmatched: 0 });
    expect((await getBalances(db(), account)).balance).toBe(500n);
    const [row] = await rowsOf(account);
    expect(row).toMatchObject({
      status: "credited",
      network: String(chain.chainId),
      txId: txHash.toLowerCase(),
      token: getAddress(chain.addresses.token),
      amount: "500",
      fromAddress: chain.demoAccounts[0]!.address.toLowerCase(),
    });

    // A restart reads the durable cursor: nothing new.
    expect(await scanner().tick()).toMatchObject({ credited: 0, unmatched: 0, duplicate: 0 });
    // A replay from the start: the deposit is a duplicate, credited nothing.
    const replay = scanner();
    await replay.setCursor(null);
    expect(await replay.drain()).toMatchObject({ credited: 0, duplicate: 1 });
    expect((await getBalances(db(), account)).balance).toBe(500n);
    expect(await rowsOf(account)).toHaveLength(1);
    await expectLedgerInvariantsHold(db());
  });

  it("does not credit a deposit until it is `confirmations` deep", async () => {
    const account = await newAccount();
    await deposit(accountToBytes32(account), 70n);
    // In the head block: 1 deep. Then 2 deep. Neither is final with 3 confirmations.
    expect(await scanner().drain()).toMatchObject({ credited: 0 });
    await mine(1);
    expect(await scanner().drain()).toMatchObject({ credited: 0 });
    expect(await rowsOf(account)).toHaveLength(0);
    expect((await getBalances(db(), account)).balance).toBe(0n);
    await mine(1);
    expect(await scanner().drain()).toMatchObject({ credited: 1 });
    expect((await getBalances(db(), account)).balance).toBe(70n);
  });

  it("records a deposit for no Stun account as unmatched, credited to nobody", async () => {
    const stranger = accountToBytes32("acc_nobody_here");
    await deposit(stranger, 9n);
    await mine(CONFIRMATIONS);
    expect(await scanner().drain()).toMatchObject({ credited: 0, unmatched: 1 });
    const [row] = await rowsOf("acc_nobody_here");
    expect(row).toMatchObject({ status: "unmatched", accountId: null, ledgerTxId: null });
    expect(row?.reason).toMatch(/no Stun account "acc_nobody_here"/);
  });

  it("never credits a deposit reorged away before it was deep enough", async () => {
    const account = await newAccount();
    const fork = await chain.anvil.snapshot();
    await deposit(accountToBytes32(account), 40n);
    expect(await scanner().drain()).toMatchObject({ credited: 0 });
    // The deposit's blocks are replaced by empty ones, deeper than the confirmations.
    await chain.anvil.revert(fork);
    await mine(CONFIRMATIONS + 3);
    expect(await scanner().drain()).toMatchObject({ credited: 0, unmatched: 0 });
    expect(await rowsOf(account)).toHaveLength(0);
    expect((await getBalances(db(), account)).balance).toBe(0n);
    await expectLedgerInvariantsHold(db());
  });

  it("rescans when the cursor's block was reorged away: the new branch's deposit is credited once, older ones not again", async () => {
    const before = await newAccount();
    await deposit(accountToBytes32(before), 11n);
    await mine(CONFIRMATIONS);
    expect(await scanner().drain()).toMatchObject({ credited: 1 });
    const fork = await chain.anvil.snapshot();
    await mine(CONFIRMATIONS + 2);
    await scanner().drain(); // the cursor now names a block the reorg replaces
    const cursorBlock = BigInt((await scanner().cursor())!.split(":")[0]!);

    await chain.anvil.revert(fork);
    const after = await newAccount();
    await deposit(accountToBytes32(after), 22n);
    await mine(CONFIRMATIONS + 4);
    const block = await chain.anvil.publicClient.getBlock({ blockNumber: cursorBlock });
    expect(`${cursorBlock}:${block.hash}`).not.toBe(await scanner().cursor());

    expect(await scanner().drain()).toMatchObject({ credited: 1 });
    expect((await getBalances(db(), after)).balance).toBe(22n);
    expect((await getBalances(db(), before)).balance).toBe(11n);
    expect(await rowsOf(before)).toHaveLength(1);
    await expectLedgerInvariantsHold(db());
  });

  /** A credited deposit, then a reorg from before it deeper than the confirmations; returns the raw approve and deposit transactions. */
  async function creditedThenReorged(account: string, amount: bigint, before?: () => Promise<void>): Promise<{ approve: Hex; deposit: Hex; txHash: Hex }> {
    const fork = await chain.anvil.snapshot();
    const txHash = await deposit(accountToBytes32(account), amount);
    const raws = { approve: await rawTx(lastApprove), deposit: await rawTx(txHash), txHash };
    await mine(CONFIRMATIONS);
    expect(await scanner().drain()).toMatchObject({ credited: 1 });
    await before?.();
    await chain.anvil.revert(fork);
    await mine(CONFIRMATIONS + 6);
    return raws;
  }

  it("reverses a credited deposit a deep reorg took away, once", async () => {
    const account = await newAccount();
    const reversedBefore = await reversals();
    const { txHash } = await creditedThenReorged(account, 300n);
    expect((await getBalances(db(), account)).balance).toBe(300n);

    expect(await scanner().drain()).toMatchObject({ credited: 0, reversed: 1 });
    expect((await getBalances(db(), account)).balance).toBe(0n);
    const [row] = await rowsOf(account);
    expect(row).toMatchObject({ txId: txHash.toLowerCase(), status: "reversed" });
    expect(row?.reversedLedgerTxId).toBeTruthy();
    expect(await reversals()).toBe(reversedBefore + 1);

    // Once: a restart and a replay from the start find it gone again and do nothing.
    expect(await scanner().drain()).toMatchObject({ credited: 0, reversed: 0 });
    const replay = scanner();
    await replay.setCursor(null);
    expect(await replay.drain()).toMatchObject({ credited: 0, reversed: 0 });
    expect((await getBalances(db(), account)).balance).toBe(0n);
    expect(await reversals()).toBe(reversedBefore + 1);
    await expectLedgerInvariantsHold(db());
  });

  it("records the shortfall, taking nothing, when the balance no longer holds a reorged deposit", async () => {
    const account = await newAccount();
    await creditedThenReorged(account, 120n, async () => {
      // Spent before the reorg: 100 of the 120 leave the account.
      await db().prisma.$transaction((tx) =>
        postTransfer(tx, {
          kind: "test_spend",
          entries: [
            { account: available(account), amount: -100n },
            { account: SYSTEM_TREASURY, amount: 100n },
          ],
        }),
      );
    });
    const reversedBefore = await reversals();
    expect(await scanner().drain()).toMatchObject({ reversed: 1 });
    const [row] = await rowsOf(account);
    expect(row).toMatchObject({ status: "shortfall", reversedLedgerTxId: null });
    expect(row?.reason).toMatch(/balance \(20\) no longer holds its 120.*shortfall 120/);
    expect((await getBalances(db(), account)).balance).toBe(20n);
    expect(await reversals()).toBe(reversedBefore);
    expect(await scanner().drain()).toMatchObject({ reversed: 0 });
    await expectLedgerInvariantsHold(db());
  });

  it("credits a reorged deposit again, once, when the new branch includes its transaction", async () => {
    const account = await newAccount();
    const raws = await creditedThenReorged(account, 55n);
    expect(await scanner().drain()).toMatchObject({ reversed: 1 });
    expect((await getBalances(db(), account)).balance).toBe(0n);

    // The same signed transactions land again on the new branch.
    const pc = chain.anvil.publicClient;
    await pc.waitForTransactionReceipt({ hash: await pc.sendRawTransaction({ serializedTransaction: raws.approve }) });
    const again = await pc.waitForTransactionReceipt({ hash: await pc.sendRawTransaction({ serializedTransaction: raws.deposit }) });
    expect(again.transactionHash).toBe(raws.txHash);
    await mine(CONFIRMATIONS);
    expect(await scanner().drain()).toMatchObject({ credited: 1, reversed: 0 });
    expect((await getBalances(db(), account)).balance).toBe(55n);
    const rows = await rowsOf(account);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "credited", slotOrLt: again.blockNumber });
    expect(await scanner().drain()).toMatchObject({ credited: 0, reversed: 0 });
    expect((await getBalances(db(), account)).balance).toBe(55n);
    await expectLedgerInvariantsHold(db());
  });

  it("upgrade: deposits the old watcher recorded in ChainDeposit are copied by the migration and credited nothing twice", async () => {
    const account = await newAccount();
    const txHash = await deposit(accountToBytes32(account), 800n);
    await mine(CONFIRMATIONS);
    const receipt = await chain.anvil.publicClient.getTransactionReceipt({ hash: txHash });
    const [log] = parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "Deposited" });
    const cursorBlock = await chain.anvil.publicClient.getBlock({ blockNumber: receipt.blockNumber + 1n });
    // What a server before the switch left: the watcher's row, its credit (kind `deposit`) and its cursor, no scanner cursor.
    const p = db().prisma;
    await p.externalCursor.deleteMany({ where: { id: source().cursorId } });
    await p.$transaction(async (tx) => {
      const { txId } = await postTransfer(tx, {
        kind: "deposit",
        entries: [
          { account: SYSTEM_CHAIN, amount: -800n },
          { account: available(account), amount: 800n },
        ],
      });
      await tx.chainDeposit.create({
        data: {
          id: newId("dep"),
          chainId: chain.chainId,
          txHash: txHash.toLowerCase(),
          logIndex: log!.logIndex,
          blockNumber: receipt.blockNumber,
          blockHash: receipt.blockHash.toLowerCase(),
          accountRef: accountToBytes32(account).toLowerCase(),
          accountId: account,
          fromAddress: chain.demoAccounts[0]!.address.toLowerCase(),
          token: chain.addresses.token.toLowerCase(),
          amount: "800",
          status: "credited",
          ledgerTxId: txId,
        },
      });
      await tx.chainCursor.upsert({
        where: { id: `deposits:${chain.chainId}:${chain.addresses.marketplace.toLowerCase()}` },
        create: { id: `deposits:${chain.chainId}:${chain.addresses.marketplace.toLowerCase()}`, chainId: chain.chainId, blockNumber: cursorBlock.number, blockHash: cursorBlock.hash },
        update: { blockNumber: cursorBlock.number, blockHash: cursorBlock.hash },
      });
    });
    expect((await getBalances(db(), account)).balance).toBe(800n);

    // The upgrade: the migration's statements, then the scanner from the copied cursor.
    const { sql } = readMigrations(DEFAULT_MIGRATIONS_DIR).find((m) => m.name.endsWith("_evm_deposits_external"))!;
    for (const statement of sql.split(/;\s*\n/).filter((st) => st.replace(/--.*$/gm, "").trim() !== "")) await p.$executeRawUnsafe(statement);
    expect(await scanner().cursor()).toBe(`${cursorBlock.number}:${cursorBlock.hash}`);
    const [row] = await rowsOf(account);
    expect(row).toMatchObject({ status: "credited", network: String(chain.chainId), txId: txHash.toLowerCase(), index: log!.logIndex, slotOrLt: receipt.blockNumber });

    expect(await scanner().drain()).toMatchObject({ credited: 0, reversed: 0 });
    const replay = scanner();
    await replay.setCursor(null);
    expect(await replay.drain()).toMatchObject({ credited: 0, reversed: 0 });
    expect((await getBalances(db(), account)).balance).toBe(800n);
    expect(await rowsOf(account)).toHaveLength(1);
    await expectLedgerInvariantsHold(db());
  });
});
