/**
 * Withdrawals of on-chain deposits on the shared payout queue with the EVM rail: a real anvil with
 * the Stun contracts and the real server with CHAIN set (polling off: each test drives the rounds).
 * Paid at most once, and the ledger debit reversed only when the chain shows the withdrawal can
 * never pay:
 *
 * - refused by the contract before anything was sent → failed and reversed at once;
 * - a crash (server restart) between send and confirmation → the stored transaction is asked
 *   about and sent again as the same bytes, never a second order: paid once;
 * - its transaction lost from the node's pool → the same signed bytes sent again: paid once;
 * - its transaction never landing → past its deadline in a block with its nonce unused a new order
 *   (same nonce) is signed and paid; the lost order is refused on chain (WithdrawalExpired);
 * - its transaction landing reverted → not reversed while the order could still execute, reversed
 *   once its deadline passed on chain with the nonce unused;
 * - upgrade: a ChainWithdrawal the old submitter sent, landing after migration
 *   evm_withdrawals_external → confirmed from its transaction, no second order;
 * - two requests at once → only one takes the on-chain deposit (the account's row lock).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Hex, decodeFunctionData, parseEventLogs, parseTransaction } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { accountToBytes32, computeMarketplaceAbi, idToBytes32, mockERC20Abi, signDepositWithdrawal } from "@stun/contracts";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api } from "../support/api";
import { SYSTEM_CHAIN, SYSTEM_MINT, available, checkLedgerInvariants, getBalances, postTransfer } from "../../src/ledger";
import { DEFAULT_MIGRATIONS_DIR, readMigrations } from "../../src/db/migrate";
import { newId } from "../../src/ids";
import { type ChainAdapter, type LocalChain, startLocalChain } from "../../src/chain";
import { EvmPayoutRail } from "../../src/chains/evm/payouts";

const DEPOSIT = 2_000n;
const TTL_S = 60;

describeDb("chain: withdrawals on the payout queue are paid once, and reversed only when the chain shows they can never pay", () => {
  let chain: LocalChain;
  let net: TestNetwork;
  let requester: { id: string; key: string };
  let wallet: LocalChain["anvil"]["wallets"][number];
  /** What the tests have withdrawn and not had reversed so far. */
  let withdrawn = 0n;

  const adapter = (): ChainAdapter => net.server.chain!;
  const db = () => net.db.prisma;
  const anvil = () => chain.anvil;
  const balance = async () => (await getBalances(net.db, requester.id)).balance;
  const row = async (id: string) => (await db().externalPayout.findUnique({ where: { id } }))!;
  const read = <T>(functionName: string, args: readonly unknown[]) =>
    anvil().publicClient.readContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName, args } as never) as Promise<T>;
  const mined = async (hash: Promise<Hex> | Hex) => anvil().publicClient.waitForTransactionReceipt({ hash: await hash });
  const reversals = () => db().ledgerEntry.count({ where: { kind: "external_payout_reversed", account: { startsWith: "acct:" } } });
  const guardian = () => anvil().wallets[0]!;
  const setPaused = (paused: boolean, fees: { maxPriorityFeePerGas?: bigint } = {}) =>
    guardian().writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: paused ? "pause" : "unpause", ...fees });
  /** The marketplace's DepositWithdrawn events paying the withdrawal `id` (its nonce). */
  const paidEvents = async (id: string) =>
    (
      await anvil().publicClient.getContractEvents({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, eventName: "DepositWithdrawn", fromBlock: chain.deployBlock, strict: true })
    ).filter((e) => e.args.nonce === idToBytes32(id));
  const withdraw = async (amount: bigint): Promise<string> => {
    const r = await api(net.url, "POST", "/chain/withdrawals", { key: requester.key, json: { amount: String(amount) } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: "pending", amount: String(amount), to: wallet.account.address.toLowerCase() });
    return r.body.id as string;
  };
  /** Sends the pending withdrawal into anvil's pool (automine off) and stops there: the row is `sent` with its signed bytes. */
  const sendOnly = async (id: string): Promise<Hex> => {
    await anvil().testClient.setAutomine(false);
    await adapter().withdrawals.queue.sendPending();
    const sent = await row(id);
    expect(sent).toMatchObject({ status: "sent", attempts: 1 });
    expect(sent.wire).toMatch(/^0x02/);
    return sent.wire as Hex;
  };
  const expectPaidOnce = async (id: string, amount: bigint) => {
    const events = await paidEvents(id);
    expect(events).toHaveLength(1);
    expect(events[0]!.args).toMatchObject({ amount, to: wallet.account.address });
    withdrawn += amount;
    expect(await read("claimable", [chain.addresses.token, wallet.account.address])).toBe(withdrawn);
    expect(await read("depositOf", [accountToBytes32(requester.id), chain.addresses.token])).toBe(DEPOSIT - withdrawn);
    expect(await balance()).toBe(DEPOSIT - withdrawn);
  };

  beforeAll(async () => {
    chain = await startLocalChain({ demoAccounts: 1 });
    net = await startTestNetwork({ env: { ...chain.env, CHAIN_POLL_MS: "3600000", CHAIN_WITHDRAWAL_TTL_S: String(TTL_S) } });
    wallet = anvil().wallets.find((w) => w.account.address === chain.demoAccounts[0]!.address)!;
    const r = await api(net.url, "POST", "/accounts");
    requester = { id: r.body.accountId as string, key: r.body.apiKey as string };
    await db().account.update({ where: { id: requester.id }, data: { walletAddress: wallet.account.address.toLowerCase() } });
    await mined(wallet.writeContract({ address: chain.addresses.token, abi: mockERC20Abi, functionName: "approve", args: [chain.addresses.marketplace, DEPOSIT] }));
    await mined(
      wallet.writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "deposit", args: [chain.addresses.token, DEPOSIT, accountToBytes32(requester.id)] }),
    );
    await adapter().tick();
    expect(await balance()).toBe(DEPOSIT);
  }, 180_000);
  afterAll(async () => {
    await net?.close();
    await chain?.stop();
  });

  it("refused by the contract before any transaction was sent: failed and reversed at once", async () => {
    await mined(setPaused(true));
    const id = await withdraw(100n);
    expect(await balance()).toBe(DEPOSIT - 100n);
    await adapter().tick();
    expect(await row(id)).toMatchObject({ status: "failed", txId: null, lastError: expect.stringMatching(/EnforcedPause/) });
    expect(await balance()).toBe(DEPOSIT);
    expect(await reversals()).toBe(1);
    expect(await read("withdrawalNonceUsed", [idToBytes32(id)])).toBe(false);
    await mined(setPaused(false));
    await adapter().tick();
    expect(await reversals()).toBe(1);
  });

  it("a crash between send and confirmation: after the restart the stored transaction is asked about, never a second order — paid once", async () => {
    const id = await withdraw(400n);
    const wire = await sendOnly(id);
    const { txId } = await row(id);

    await net.restartServer(); // the crash: the transaction is in the pool, not mined
    await adapter().tick();
    expect(await row(id)).toMatchObject({ status: "sent", txId, attempts: 1 });
    await anvil().testClient.setAutomine(true);
    await anvil().testClient.mine({ blocks: 1 });
    await adapter().tick();
    expect(await row(id)).toMatchObject({ status: "confirmed", txId, attempts: 1 });
    expect(EvmPayoutRail.orderOf(wire)).toMatchObject({ nonce: idToBytes32(id), amount: 400n });
    await expectPaidOnce(id, 400n);
    const list = await api(net.url, "GET", "/chain/withdrawals", { key: requester.key });
    expect(list.body.withdrawals[0]).toMatchObject({ id, status: "confirmed", txHash: txId, amount: "400" });
    const account = await api(net.url, "GET", "/chain/account", { key: requester.key });
    expect(account.body.onChain).toMatchObject({ deposited: String(DEPOSIT), withdrawn: "400", available: String(DEPOSIT - 400n) });
  });

  it("its transaction lost from the node's pool: the same signed bytes are sent again and pay once", async () => {
    const id = await withdraw(150n);
    await sendOnly(id);
    const { txId } = await row(id);
    await anvil().testClient.dropTransaction({ hash: txId as Hex });
    await anvil().testClient.setAutomine(true);
    await adapter().tick(); // not seen, before its deadline: in flight, broadcast again (mined at once)
    await adapter().tick();
    expect(await row(id)).toMatchObject({ status: "confirmed", txId, attempts: 1 });
    await expectPaidOnce(id, 150n);
  });

  it("its transaction never landing: past its deadline on chain a new order (same nonce) is paid once; the lost order is refused (WithdrawalExpired)", async () => {
    const id = await withdraw(200n);
    const lostWire = await sendOnly(id);
    const lost = await row(id);
    await anvil().testClient.dropTransaction({ hash: lost.txId as Hex });
    // Still in flight before the deadline: the server keeps waiting and reverses nothing.
    await adapter().withdrawals.queue.checkSent();
    await anvil().testClient.dropTransaction({ hash: lost.txId as Hex });
    expect(await row(id)).toMatchObject({ status: "sent", txId: lost.txId });

    await anvil().increaseTime(TTL_S + 5); // a block past the deadline, the nonce unused
    await adapter().tick(); // expired → pending → a new order, sent (automine still off)
    const again = await row(id);
    expect(again).toMatchObject({ status: "sent", attempts: 2 });
    expect(again.txId).not.toBe(lost.txId);
    const order = EvmPayoutRail.orderOf(lostWire);
    expect(EvmPayoutRail.orderOf(again.wire as Hex)).toMatchObject({ nonce: order.nonce, amount: 200n });
    expect(EvmPayoutRail.orderOf(again.wire as Hex).deadline).toBeGreaterThan(order.deadline);
    // The lost order can never execute any more.
    const [, signatures] = decodeFunctionData({ abi: computeMarketplaceAbi, data: parseTransaction(lostWire).data! }).args as readonly [unknown, Hex[]];
    await expect(
      anvil().publicClient.simulateContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "withdrawDeposit", args: [order, signatures] }),
    ).rejects.toThrow(/WithdrawalExpired/);

    await anvil().testClient.setAutomine(true);
    await anvil().testClient.mine({ blocks: 1 });
    await adapter().tick();
    expect(await row(id)).toMatchObject({ status: "confirmed", txId: again.txId });
    expect(await reversals()).toBe(1);
    await expectPaidOnce(id, 200n);
  });

  it("its transaction landing reverted: not reversed while the order could still execute, reversed once past its deadline on chain", async () => {
    const id = await withdraw(250n);
    await sendOnly(id);
    const { txId } = await row(id);
    // The guardian's pause, paying a higher tip, is mined before it in the same block: it reverts.
    await setPaused(true, { maxPriorityFeePerGas: 50_000_000_000n });
    await anvil().testClient.mine({ blocks: 1 });
    await anvil().testClient.setAutomine(true);
    const receipt = await anvil().publicClient.getTransactionReceipt({ hash: txId as Hex });
    expect(receipt.status).toBe("reverted");
    await adapter().tick();
    expect(await row(id)).toMatchObject({ status: "sent", txId });
    expect(await balance()).toBe(DEPOSIT - withdrawn - 250n);

    await anvil().increaseTime(TTL_S + 5);
    await adapter().tick();
    expect(await row(id)).toMatchObject({ status: "failed", lastError: expect.stringMatching(/reverted/) });
    expect(await balance()).toBe(DEPOSIT - withdrawn);
    expect(await reversals()).toBe(2);
    await adapter().tick();
    expect(await reversals()).toBe(2);
    await mined(setPaused(false));
    expect(await paidEvents(id)).toHaveLength(0);
    expect(await read("withdrawalNonceUsed", [idToBytes32(id)])).toBe(false);
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "DepositWithdrawn" })).toHaveLength(0);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("upgrade: a withdrawal the old submitter sent (ChainWithdrawal, submitted) lands after the migration: confirmed, no second order", async () => {
    const id = newId("wdr");
    const amount = 120n;
    const deadline = (await anvil().now()) + BigInt(TTL_S);
    const order = { account: accountToBytes32(requester.id), token: chain.addresses.token, amount, to: wallet.account.address, nonce: idToBytes32(id), deadline };
    const signatures = await signDepositWithdrawal([privateKeyToAccount(chain.settlerKey)], adapter().clients.domain, order);
    // What the old server left: the debit, the row `submitted` with its transaction's hash, the transaction in the pool.
    await anvil().testClient.setAutomine(false);
    const txHash = await guardian().writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "withdrawDeposit", args: [order, signatures] });
    await db().$transaction(async (tx) => {
      const { txId } = await postTransfer(tx, {
        kind: "chain_withdraw",
        entries: [
          { account: available(requester.id), amount: -amount },
          { account: SYSTEM_CHAIN, amount },
        ],
      });
      await tx.chainWithdrawal.create({
        data: {
          id,
          chainId: chain.chainId,
          accountId: requester.id,
          toAddress: wallet.account.address.toLowerCase(),
          token: chain.addresses.token.toLowerCase(),
          amount,
          status: "submitted",
          txHash,
          attempts: 1,
          ledgerTxId: txId,
          deadline: new Date(Number(deadline) * 1000),
        },
      });
    });
    const { sql } = readMigrations(DEFAULT_MIGRATIONS_DIR).find((m) => m.name.endsWith("_evm_withdrawals_external"))!;
    await db().$executeRawUnsafe(sql.replace(/^--.*$/gm, ""));
    expect(await row(id)).toMatchObject({ status: "sent", txId: txHash, lifetime: String(deadline), wire: null });

    await adapter().tick(); // in flight: nothing signed, nothing reversed
    expect(await row(id)).toMatchObject({ status: "sent", txId: txHash, attempts: 1 });
    await anvil().testClient.setAutomine(true);
    await anvil().testClient.mine({ blocks: 1 });
    await adapter().tick();
    expect(await row(id)).toMatchObject({ status: "confirmed", txId: txHash, attempts: 1 });
    await expectPaidOnce(id, amount);
    expect(await reversals()).toBe(2);
    const list = await api(net.url, "GET", "/chain/withdrawals", { key: requester.key });
    expect(list.body.withdrawals.find((w: { id: string }) => w.id === id)).toMatchObject({ status: "confirmed", amount: "120" });
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("two withdrawals at once cannot both take the same on-chain deposit, whatever the ledger balance", async () => {
    const onChain = DEPOSIT - withdrawn;
    // Plenty of (faucet) balance in the ledger: only the on-chain deposit limits the withdrawal.
    await db().$transaction((tx) =>
      postTransfer(tx, {
        kind: "mint",
        entries: [
          { account: SYSTEM_MINT, amount: -10_000n },
          { account: available(requester.id), amount: 10_000n },
        ],
      }),
    );
    const ask = () => api(net.url, "POST", "/chain/withdrawals", { key: requester.key, json: { amount: String(onChain - 100n) } });
    const answers = await Promise.all([ask(), ask()]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 402]);
    const refused = answers.find((a) => a.status === 402)!;
    expect(refused.body.error).toMatchObject({ code: "INSUFFICIENT_FUNDS", message: expect.stringMatching(/deposited on chain/) });
    const account = await api(net.url, "GET", "/chain/account", { key: requester.key });
    expect(account.body.onChain.available).toBe("100");
  });
});
