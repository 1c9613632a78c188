/**
 * Withdrawals of on-chain deposits are reversed in the ledger only when the chain shows they can
 * never pay (issue #12): a real anvil with the Stun contracts, the real server with CHAIN set and a
 * transaction timeout of 1 ms (so every tick treats a transaction without a receipt as lost).
 *
 * - refused before any transaction was sent → reversed at once (its nonce unused);
 * - its transaction dropped from the node's pool while the contract was paused, then landing after
 *   all (another node had it) → not reversed in between, confirmed after: no double credit;
 * - its transaction never landing → reversed only once a block past the order's deadline shows
 *   its nonce unused; the same signed transaction is then refused on chain (WithdrawalExpired).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Hex, parseEventLogs } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { accountToBytes32, computeMarketplaceAbi, idToBytes32, mockERC20Abi, signDepositWithdrawal } from "@stun/contracts";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api } from "../support/api";
import { checkLedgerInvariants, getBalances } from "../../src/ledger";
import { type ChainAdapter, type LocalChain, startLocalChain } from "../../src/chain";

const DEPOSIT = 1_000n;
const TTL_S = 60;

describeDb("chain: a withdrawal is reversed only when the chain shows it can never pay", () => {
  let chain: LocalChain;
  let net: TestNetwork;
  let requester: { id: string; key: string };
  let wallet: LocalChain["anvil"]["wallets"][number];

  const adapter = (): ChainAdapter => net.server.chain!;
  const db = () => net.db.prisma;
  const anvil = () => chain.anvil;
  const balance = async () => (await getBalances(net.db, requester.id)).balance;
  const row = async (id: string) => (await db().chainWithdrawal.findUnique({ where: { id } }))!;
  const read = <T>(functionName: string, args: readonly unknown[]) =>
    anvil().publicClient.readContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName, args } as never) as Promise<T>;
  const mined = async (hash: Promise<Hex> | Hex) => anvil().publicClient.waitForTransactionReceipt({ hash: await hash });
  const reversals = async () => new Set((await db().ledgerEntry.findMany({ where: { kind: "chain_withdraw_reversed" } })).map((e) => e.txId)).size;
  const guardian = () => anvil().wallets[0]!;
  const setPaused = (paused: boolean) => mined(guardian().writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: paused ? "pause" : "unpause" }));
  const withdraw = async (amount: bigint): Promise<string> => {
    const r = await api(net.url, "POST", "/chain/withdrawals", { key: requester.key, json: { amount: String(amount) } });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };
  /** One submitter round sends the withdrawal into anvil's pool (automine off); returns its raw transaction, then drops it from the pool. */
  const sendAndLose = async (id: string): Promise<Hex> => {
    await anvil().testClient.setAutomine(false);
    await adapter().tick();
    const sent = await row(id);
    expect(sent).toMatchObject({ status: "submitted", attempts: 1 });
    const raw = (await anvil().publicClient.request({ method: "eth_getRawTransactionByHash" as never, params: [sent.txHash] as never })) as Hex;
    expect(raw).toMatch(/^0x02/);
    await anvil().testClient.dropTransaction({ hash: sent.txHash as Hex });
    await anvil().testClient.setAutomine(true);
    return raw;
  };

  beforeAll(async () => {
    chain = await startLocalChain({ demoAccounts: 1 });
    net = await startTestNetwork({ env: { ...chain.env, CHAIN_POLL_MS: "3600000", CHAIN_TX_TIMEOUT_MS: "1", CHAIN_WITHDRAWAL_TTL_S: String(TTL_S) } });
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

  it("refused by the contract before any transaction was sent: reversed at once", async () => {
    await setPaused(true);
    const id = await withdraw(100n);
    expect(await balance()).toBe(DEPOSIT - 100n);
    await adapter().tick();
    expect(await row(id)).toMatchObject({ status: "failed", txHash: null, lastError: expect.stringMatching(/EnforcedPause/) });
    expect(await balance()).toBe(DEPOSIT);
    expect(await read("withdrawalNonceUsed", [idToBytes32(id)])).toBe(false);
    await setPaused(false);
  });

  it("its transaction lost from the node's pool, refused on resend, then landing after all: not reversed, confirmed — no double credit", async () => {
    const id = await withdraw(400n);
    const raw = await sendAndLose(id);
    await setPaused(true);
    // The server gave up waiting for the receipt (1 ms) and the resend is refused: the old order
    // may still land, so the debit stands.
    await adapter().tick();
    expect(await row(id)).toMatchObject({ status: "pending", lastError: expect.stringMatching(/EnforcedPause/) });
    await adapter().tick();
    expect((await row(id)).status).toBe("pending");
    expect(await balance()).toBe(DEPOSIT - 400n);

    // The lost transaction reaches the chain after all (another node had it).
    await setPaused(false);
    const receipt = await mined(anvil().publicClient.sendRawTransaction({ serializedTransaction: raw }));
    expect(receipt.status).toBe("success");
    expect(parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "DepositWithdrawn" })[0]?.args).toMatchObject({ amount: 400n, nonce: idToBytes32(id) });
    await adapter().tick();
    expect((await row(id)).status).toBe("confirmed");
    // Paid once on chain, debited once in the ledger.
    expect(await balance()).toBe(DEPOSIT - 400n);
    expect(await read("claimable", [chain.addresses.token, wallet.account.address])).toBe(400n);
    expect(await read("depositOf", [accountToBytes32(requester.id), chain.addresses.token])).toBe(DEPOSIT - 400n);
    expect(await reversals()).toBe(1); // the first test's only
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("its transaction never landing: reversed only past its deadline on chain, and then refused on chain (WithdrawalExpired)", async () => {
    const id = await withdraw(200n);
    const raw = await sendAndLose(id);
    await setPaused(true);
    await adapter().tick();
    expect(await row(id)).toMatchObject({ status: "pending" });
    expect(await balance()).toBe(DEPOSIT - 400n - 200n);

    // A block past the deadline, the nonce still unused: now it can never pay.
    await anvil().increaseTime(TTL_S + 5);
    await adapter().tick();
    const failed = await row(id);
    expect(failed).toMatchObject({ status: "failed", lastError: expect.stringMatching(/^expired: not executed by its deadline/) });
    expect(await balance()).toBe(DEPOSIT - 400n);
    expect(await reversals()).toBe(2);

    // The lost transaction arriving now changes nothing, and the signed order itself is refused.
    await setPaused(false);
    const late = await mined(anvil().publicClient.sendRawTransaction({ serializedTransaction: raw }));
    expect(late.status).toBe("reverted");
    expect(await read("withdrawalNonceUsed", [idToBytes32(id)])).toBe(false);
    const order = {
      account: accountToBytes32(requester.id),
      token: chain.addresses.token,
      amount: 200n,
      to: wallet.account.address,
      nonce: idToBytes32(id),
      deadline: BigInt(Math.floor(failed.deadline!.getTime() / 1000)),
    };
    const signatures = await signDepositWithdrawal([privateKeyToAccount(chain.settlerKey)], adapter().clients.domain, order);
    await expect(
      anvil().publicClient.simulateContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "withdrawDeposit", args: [order, signatures] }),
    ).rejects.toThrow(/WithdrawalExpired/);
    expect(await read("claimable", [chain.addresses.token, wallet.account.address])).toBe(400n);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });
});
