/**
 * On-chain deposits and settlement end to end: a real anvil with the Stun contracts
 * (startLocalChain → deployStun), the real server with CHAIN set, a real native provider.
 *
 * A requester deposits mUSD on chain → the ledger credits it once (also across a server restart and
 * a replay from an older cursor) → a task runs on the provider → settleFromDeposits lands on chain
 * → after the dispute window the submitter releases it → the provider's, the treasury's and the
 * model creator's claimable credits are exact, and the provider withdraws its tokens. Also: a
 * deposit for no account is recorded unmatched, a provider without a wallet is paid through the
 * treasury, and the requester withdraws the rest of its deposit to its wallet.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Address, type Hex, parseEventLogs } from "viem";
import { buildMlp } from "@stun/testkit";
import { accountToBytes32, computeMarketplaceAbi, mockERC20Abi } from "@stun/contracts";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, runTask, toJsonTensor, uploadModel } from "../support/api";
import { checkLedgerInvariants, getBalances, getLedgerBalance } from "../../src/ledger";
import { type LocalChain, startLocalChain } from "../../src/chain";
import type { ChainAdapter } from "../../src/chain";

const PRICE = 100n;
const DEPOSIT = 1_000n;

describeDb("chain: deposits credited once, tasks settled on chain from deposits", () => {
  let chain: LocalChain;
  let net: TestNetwork;
  let requester: { id: string; key: string };
  let creator: { id: string; key: string };
  let modelId: string;
  let requesterWallet: (typeof chain.anvil.wallets)[number];
  let providerWallet: (typeof chain.anvil.wallets)[number];
  let creatorWallet: (typeof chain.anvil.wallets)[number];

  const adapter = (): ChainAdapter => net.server.chain!;
  const db = () => net.db.prisma;
  const walletOf = (address: Address) => chain.anvil.wallets.find((w) => w.account.address === address)!;
  const read = <T>(functionName: string, args: readonly unknown[]) =>
    chain.anvil.publicClient.readContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName, args } as never) as Promise<T>;
  const usd = (who: Address) => chain.anvil.publicClient.readContract({ address: chain.addresses.token, abi: mockERC20Abi, functionName: "balanceOf", args: [who] });
  const mined = async (hash: Promise<Hex>) => {
    const r = await chain.anvil.publicClient.waitForTransactionReceipt({ hash: await hash });
    expect(r.status).toBe("success");
    return r;
  };
  const deposit = async (from: (typeof chain.anvil.wallets)[number], account: Hex, amount: bigint) => {
    await mined(from.writeContract({ address: chain.addresses.token, abi: mockERC20Abi, functionName: "approve", args: [chain.addresses.marketplace, amount] }));
    return mined(from.writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "deposit", args: [chain.addresses.token, amount, account] }));
  };
  const newAccount = async () => {
    const r = await api(net.url, "POST", "/accounts");
    return { id: r.body.accountId as string, key: r.body.apiKey as string };
  };
  const link = (accountId: string, address: Address) => db().account.update({ where: { id: accountId }, data: { walletAddress: address.toLowerCase() } });
  const runMlp = async (key: string) => {
    const x = Float32Array.from({ length: 16 }, (_, i) => Math.cos(i));
    const done = await runTask(net.url, key, {
      modelId,
      inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 16], data: new Uint8Array(x.buffer) }) },
      verification: { mode: "none" },
      maxPrice: "150",
    });
    expect(done.status).toBe("completed");
    expect(done.cost).toBe(String(PRICE));
    return done.id as string;
  };
  const settlementOf = (taskId: string, status: string) =>
    eventually(
      async () => {
        const row = await db().chainSettlement.findUnique({ where: { taskId } });
        return row?.status === status ? row : undefined;
      },
      30_000,
      `settlement of ${taskId} ${status}`,
    );

  beforeAll(async () => {
    chain = await startLocalChain({ demoAccounts: 4 });
    net = await startTestNetwork({ providers: 1, providerArgs: () => ["--price", String(PRICE)], env: { ...chain.env, CHAIN_POLL_MS: "100" } });
    [requesterWallet, providerWallet, creatorWallet] = chain.demoAccounts.map((a) => walletOf(a.address)) as [typeof requesterWallet, typeof requesterWallet, typeof requesterWallet];
    requester = await newAccount();
    creator = await newAccount();
    await link(net.providerAccountId, providerWallet.account.address);
    await link(creator.id, creatorWallet.account.address);
    await link(requester.id, requesterWallet.account.address);
    const mlp = buildMlp({ inputSize: 16, hidden: [8], outputSize: 4, seed: 3 });
    modelId = await uploadModel(net.url, creator.key, mlp.bytes, "mlp");
  }, 180_000);
  afterAll(async () => {
    await net?.close();
    await chain?.stop();
  });

  it("describes the chain (GET /api/v1/chain)", async () => {
    const r = await api(net.url, "GET", "/chain");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      enabled: true,
      network: "local",
      chainId: 31337,
      marketplace: chain.addresses.marketplace,
      ledgerToken: chain.addresses.token,
      tokens: [{ address: chain.addresses.token, symbol: "mUSD", decimals: 6 }],
      stakeToken: { address: chain.addresses.stunToken, symbol: "STUN", decimals: 18 },
      stunToken: { address: chain.addresses.stunToken, symbol: "STUN", decimals: 18 },
      treasury: chain.addresses.treasury,
      confirmations: 1,
      disputeWindowSeconds: 60,
    });
  });

  it("credits an on-chain deposit to the requester's ledger balance exactly once (restart, replay)", async () => {
    const chainBefore = await getLedgerBalance(net.db, "system:chain");
    const receipt = await deposit(requesterWallet, accountToBytes32(requester.id), DEPOSIT);
    const [log] = parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "Deposited" });
    expect(log?.args).toMatchObject({ account: accountToBytes32(requester.id), from: requesterWallet.account.address, amount: DEPOSIT });
    await eventually(async () => (await getBalances(net.db, requester.id)).balance === DEPOSIT, 20_000, "deposit credited");
    expect(await getLedgerBalance(net.db, "system:chain")).toBe(chainBefore - DEPOSIT);
    const rows = await db().externalDeposit.findMany({ where: { family: "evm", accountId: requester.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: "credited",
      network: "31337",
      amount: "1000",
      txId: receipt.transactionHash.toLowerCase(),
      index: log!.logIndex,
      fromAddress: requesterWallet.account.address.toLowerCase(),
    });
    const account = await api(net.url, "GET", "/chain/account", { key: requester.key });
    expect(account.body).toMatchObject({ depositAccount: accountToBytes32(requester.id), onChain: { deposited: "1000", settled: "0", withdrawn: "0", available: "1000" }, stake: null });

    // A restart re-reads nothing twice (durable cursor) ...
    await net.restartServer();
    await adapter().tick();
    await adapter().tick();
    // ... and a replay from before the deposit finds it recorded already (unique key).
    await adapter().deposits.setCursor(chain.deployBlock - 1n);
    const replay = await adapter().deposits.tick();
    expect(replay).toMatchObject({ credited: 0, unmatched: 0, duplicate: 1 });
    expect(await adapter().deposits.scannedTo()).toBeGreaterThanOrEqual(receipt.blockNumber);
    expect(await db().externalDeposit.count({ where: { accountId: requester.id } })).toBe(1);
    expect((await getBalances(net.db, requester.id)).balance).toBe(DEPOSIT);
    expect(await getLedgerBalance(net.db, "system:chain")).toBe(chainBefore - DEPOSIT);
    expect(await read<bigint>("depositOf", [accountToBytes32(requester.id), chain.addresses.token])).toBe(DEPOSIT);
  });

  it("records a deposit for no Stun account as unmatched, without crediting it", async () => {
    const stranger = accountToBytes32("acc_nobody_000000000000000000");
    const receipt = await deposit(requesterWallet, stranger, 7n);
    const row = await eventually(() => db().externalDeposit.findFirst({ where: { family: "evm", txId: receipt.transactionHash.toLowerCase() } }), 20_000, "unmatched deposit");
    expect(row).toMatchObject({ status: "unmatched", accountId: null, amount: "7", accountTag: "acc_nobody_000000000000000000" });
    expect(row.reason).toMatch(/no Stun account/);
  });

  it("settles a task on chain from the deposit; after the dispute window provider, treasury and creator hold exact credits", async () => {
    const providerLedger = await getBalances(net.db, net.providerAccountId);
    const treasuryLedger = await getLedgerBalance(net.db, "system:treasury");
    const chainLedger = await getLedgerBalance(net.db, "system:chain");
    const taskId = await runMlp(requester.key);

    const confirmed = await settlementOf(taskId, "confirmed");
    expect(confirmed).toMatchObject({ requesterId: requester.id, amount: PRICE, chainId: 31337 });
    const entry = confirmed.entry as {
      providers: Array<{ to: string; paidTo: string; share: string; price: string }>;
      modelCreator: string;
      treasuryShare: string;
      creator: { share: string; paidTo: string };
    };
    expect(entry.providers).toEqual([expect.objectContaining({ to: providerWallet.account.address, paidTo: "wallet", price: "100", share: "80" })]);
    expect(entry).toMatchObject({ modelCreator: creatorWallet.account.address, treasuryShare: "15", creator: { share: "5", paidTo: "wallet" } });
    expect(await read<bigint>("depositOf", [accountToBytes32(requester.id), chain.addresses.token])).toBe(DEPOSIT - PRICE);
    const onChainTask = await read<{ status: number; cost: bigint }>("getTask", [(confirmed.entry as { taskId32: Hex }).taskId32]);
    expect(onChainTask).toMatchObject({ status: 2, cost: PRICE });

    // The ledger: the task's settle paid 80/15/5; the mirror sent the wallet-paid shares and the
    // treasury's to system:chain, so the payees' Stun balances are where they were.
    expect((await getBalances(net.db, net.providerAccountId)).balance).toBe(providerLedger.balance);
    expect((await getBalances(net.db, creator.id)).balance).toBe(0n);
    expect(await getLedgerBalance(net.db, "system:treasury")).toBe(treasuryLedger);
    expect(await getLedgerBalance(net.db, "system:chain")).toBe(chainLedger + PRICE);
    expect((await getBalances(net.db, requester.id)).balance).toBe(DEPOSIT - PRICE);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);

    // Nothing is claimable before the window; then the submitter releases.
    const claimable = (who: Address) => read<bigint>("claimable", [chain.addresses.token, who]);
    expect(await claimable(providerWallet.account.address)).toBe(0n);
    await chain.anvil.increaseTime(61);
    await settlementOf(taskId, "released");
    expect(await claimable(providerWallet.account.address)).toBe(80n);
    expect(await claimable(chain.addresses.treasury)).toBe(15n);
    expect(await claimable(creatorWallet.account.address)).toBe(5n);

    const before = await usd(providerWallet.account.address);
    await mined(providerWallet.writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "withdraw", args: [chain.addresses.token] }));
    expect(await usd(providerWallet.account.address)).toBe(before + 80n);
  });

  it("a provider without a wallet is paid through the treasury and keeps its share in its Stun balance", async () => {
    await db().account.update({ where: { id: net.providerAccountId }, data: { walletAddress: null } });
    try {
      const providerLedger = await getBalances(net.db, net.providerAccountId);
      const treasuryLedger = await getLedgerBalance(net.db, "system:treasury");
      const treasuryClaimable = await read<bigint>("claimable", [chain.addresses.token, chain.addresses.treasury]);
      const taskId = await runMlp(requester.key);
      const confirmed = await settlementOf(taskId, "confirmed");
      expect((confirmed.entry as { providers: unknown[] }).providers).toEqual([expect.objectContaining({ to: chain.addresses.treasury, paidTo: "treasury", share: "80" })]);
      expect((await getBalances(net.db, net.providerAccountId)).balance).toBe(providerLedger.balance + 80n);
      // The treasury holds the provider's 80 on chain: its ledger balance is 80 below where it was.
      expect(await getLedgerBalance(net.db, "system:treasury")).toBe(treasuryLedger - 80n);
      await chain.anvil.increaseTime(61);
      await settlementOf(taskId, "released");
      expect(await read<bigint>("claimable", [chain.addresses.token, chain.addresses.treasury])).toBe(treasuryClaimable + 80n + 15n);
      expect(await checkLedgerInvariants(net.db)).toEqual([]);
    } finally {
      await link(net.providerAccountId, providerWallet.account.address);
    }
  });

  /**
   * A task of the requester completed while the marketplace is paused: `whilePaused(taskId)` runs
   * once its settlement was refused (EnforcedPause), before the unpause; then the task must settle
   * once — with `attempts` sends counted — its mirror never reversed, ledger and chain agreeing.
   */
  const settledAfterPause = async (settledTasks: bigint, attempts: number, whilePaused: (taskId: string) => Promise<void>) => {
    const guardian = chain.anvil.wallets[0]!;
    const pause = (fn: "pause" | "unpause") => mined(guardian.writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: fn, args: [] }));
    const chainLedger = await getLedgerBalance(net.db, "system:chain");
    const notReversed = async (taskId: string) => {
      expect(await db().ledgerEntry.count({ where: { kind: "chain_settle_reversed", taskId } })).toBe(0);
      // The ledger's mirror stands: the task is (still) to be paid from the deposit on chain.
      expect(await getLedgerBalance(net.db, "system:chain")).toBe(chainLedger + PRICE);
    };
    await pause("pause");
    let taskId: string;
    try {
      taskId = await runMlp(requester.key);
      await eventually(async () => (await db().chainSettlement.findUnique({ where: { taskId } }))?.lastError?.includes("EnforcedPause") === true, 30_000, "settlement refused while paused");
      await whilePaused(taskId);
      await notReversed(taskId);
    } finally {
      await pause("unpause");
    }
    const confirmed = await settlementOf(taskId, "confirmed");
    expect(confirmed.attempts).toBe(attempts);
    expect(await read<{ status: number; cost: bigint }>("getTask", [(confirmed.entry as { taskId32: Hex }).taskId32])).toMatchObject({ status: 2, cost: PRICE });
    expect(await read<bigint>("depositOf", [accountToBytes32(requester.id), chain.addresses.token])).toBe(DEPOSIT - settledTasks * PRICE);
    await notReversed(taskId);
    expect((await adapter().conservation()).mismatches).toEqual([]);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  };

  it("a paused marketplace delays a deposit settlement, never gives it up; it lands once after the unpause", async () => {
    await settledAfterPause(3n, 1, async (taskId) => {
      await adapter().tick();
      expect(await db().chainSettlement.findUnique({ where: { taskId } })).toMatchObject({ status: "pending" });
    });
  });

  it("a settlement transaction the pause reverts on chain is kept pending, not counted, never given up; it lands once after the unpause", async () => {
    await settledAfterPause(4n, 5, async (taskId) => {
      // A send whose simulation passed just before the pause, mined after it: a reverted receipt
      // (an explicit gas limit skips the estimate that would refuse it), and the last attempt the
      // submitter allows — without the pause it would be given up and its mirror reversed.
      const reverted = await chain.anvil.publicClient.waitForTransactionReceipt({
        hash: await chain.anvil.wallets[0]!.writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "settleFromDeposits", args: [[], []], gas: 300_000n }),
      });
      expect(reverted.status).toBe("reverted");
      await db().chainSettlement.update({ where: { taskId }, data: { status: "submitted", txHash: reverted.transactionHash, attempts: 5, submittedAt: new Date() } });
      await adapter().tick();
      expect(await db().chainSettlement.findUnique({ where: { taskId } })).toMatchObject({ status: "pending", attempts: 4 });
      // Still paused: tried again, refused by the simulation, nothing sent.
      await adapter().tick();
      expect(await db().chainSettlement.findUnique({ where: { taskId } })).toMatchObject({ status: "pending", attempts: 4, lastError: "EnforcedPause()", txHash: reverted.transactionHash });
    });
  });

  it("a requester without chain deposits stays off chain", async () => {
    const taskId = await runMlp(net.apiKey);
    await adapter().tick();
    await adapter().tick();
    expect(await db().chainSettlement.findUnique({ where: { taskId } })).toBeNull();
  });

  it("withdraws the rest of the deposit to the requester's wallet", async () => {
    const left = DEPOSIT - 4n * PRICE;
    const tooMuch = await api(net.url, "POST", "/chain/withdrawals", { key: requester.key, json: { amount: String(left + 1n) } });
    expect(tooMuch.status).toBe(402);
    const w = await api(net.url, "POST", "/chain/withdrawals", { key: requester.key, json: { amount: String(left) } });
    expect(w.status).toBe(201);
    expect(w.body).toMatchObject({ amount: String(left), to: requesterWallet.account.address.toLowerCase(), status: "pending" });
    expect((await getBalances(net.db, requester.id)).balance).toBe(0n);
    await eventually(async () => (await db().externalPayout.findUnique({ where: { id: w.body.id } }))?.status === "confirmed", 30_000, "withdrawal confirmed");
    expect(await read<bigint>("depositOf", [accountToBytes32(requester.id), chain.addresses.token])).toBe(0n);
    expect(await read<bigint>("claimable", [chain.addresses.token, requesterWallet.account.address])).toBe(left);
    const list = await api(net.url, "GET", "/chain/withdrawals", { key: requester.key });
    expect(list.body.withdrawals[0]).toMatchObject({ id: w.body.id, status: "confirmed" });
    // Everything credited from the chain went back to it: the ledger's mirror of the pool is 0.
    expect(await getLedgerBalance(net.db, "system:chain")).toBe(0n);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });
});
