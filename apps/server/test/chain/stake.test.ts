/**
 * Stake and slashing on chain (docs/CHAIN.md "Stake on chain"): a real anvil with the Stun contracts
 * deployed with `stakeToken: "ledger"` (Staking takes mUSD, the ledger token), the real server with
 * CHAIN set (ticks driven by the test), real QA code deciding the slashes.
 *
 * - a provider's on-chain stake is counted in its ledger stake once, across a restart and a replayed
 *   scan, is what the dispatcher's stake rule sees, and cannot be unstaked through the ledger;
 * - stake from a wallet linked to no account is recorded and not counted (until an account links it);
 * - an unstake request on chain leaves the counted stake; the withdrawal after unbonding only the record;
 * - a QA slash of a provider staked on chain is executed on chain once across a crash between send and
 *   confirmation (the record of the send lost too): adopted from the chain, not sent again; the same
 *   signed order replayed is refused (SlashNonceUsed);
 * - a slash larger than the stake slashes what there is, on chain and in the ledger, exactly;
 * - after each step the stake conservation check finds the ledger and the chain in agreement.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Address, type Hex, parseEventLogs } from "viem";
import { computeMarketplaceAbi, mockERC20Abi, signSlash, stakingAbi } from "@stun/contracts";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api } from "../support/api";
import { checkLedgerInvariants, getBalances, getLedgerBalance } from "../../src/ledger";
import { type ChainAdapter, type LocalChain, checkStakeConservation, startLocalChain } from "../../src/chain";
import { slashOrderOf } from "../../src/chain/slashes";
import { createAccount, faucet } from "../../src/services/accounts";
import { stakeFunds, unstakeFunds } from "../../src/services/stake";
import { recordCheckedVerdict } from "../../src/qa/verdicts";
import { DEFAULT_QA_POLICY } from "../../src/qa/policy";
import { createChainClients } from "../../src/chain/clients";
import { loadCandidateFacts } from "../../src/qa/candidates";
import { eligibleCandidates } from "../../src/scheduler/plan";

describeDb("chain: stake on chain counted in the ledger, QA slashes executed on chain", () => {
  let chain: LocalChain;
  let net: TestNetwork;
  let provider: string;
  let providerKey: string;
  let requester: string;
  let providerWallet: LocalChain["anvil"]["wallets"][number];
  let requesterWallet: LocalChain["anvil"]["wallets"][number];
  let strangerWallet: LocalChain["anvil"]["wallets"][number];
  let providerRowId: string;
  let later: string;

  const adapter = (): ChainAdapter => net.server.chain!;
  const db = () => net.db.prisma;
  const anvil = () => chain.anvil;
  const mined = async (hash: Promise<Hex> | Hex) => {
    const r = await anvil().publicClient.waitForTransactionReceipt({ hash: await hash });
    expect(r.status).toBe("success");
    return r;
  };
  const walletOf = (address: Address) => anvil().wallets.find((w) => w.account.address === address)!;
  const stakeOf = (who: Address) => anvil().publicClient.readContract({ address: chain.addresses.staking, abi: stakingAbi, functionName: "stakeOf", args: [who] });
  const claimable = (who: Address) =>
    anvil().publicClient.readContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "claimable", args: [chain.addresses.token, who] });
  const stakeCall = async (w: typeof providerWallet, functionName: "registerProvider" | "addStake" | "requestUnstake", amount: bigint) => {
    if (functionName !== "requestUnstake") await mined(w.writeContract({ address: chain.addresses.token, abi: mockERC20Abi, functionName: "approve", args: [chain.addresses.staking, amount] }));
    return mined(w.writeContract({ address: chain.addresses.staking, abi: stakingAbi, functionName, args: [amount] }));
  };
  const ledgerStake = async (accountId: string) => (await getBalances(net.db, accountId)).stake;
  const conservation = async () => {
    const a = adapter();
    const c = await checkStakeConservation(net.server.app, a.cfg, a.clients);
    expect(c.violations).toEqual([]);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
    return c;
  };
  /** Whether the dispatcher's stake rule lets the provider take one execution at `price` (slashMultiple × price of stake). */
  const eligibleAt = (price: bigint) =>
    db().$transaction(async (tx) => {
      const facts = await loadCandidateFacts(tx, [providerRowId]);
      return eligibleCandidates([{ id: providerRowId, accountId: provider, backend: "cpu", price }], facts, DEFAULT_QA_POLICY).length === 1;
    });
  /** QA's verdict "wrong result" on one execution of the provider (the real slash path, in one transaction). */
  const wrongResult = (price: bigint, wronged?: { requesterId: string; paid: bigint; taskId: string }, who = { providerId: providerRowId, accountId: provider }) =>
    db().$transaction((tx) =>
      recordCheckedVerdict(
        tx,
        DEFAULT_QA_POLICY,
        { assignmentId: "asg_none", taskId: wronged?.taskId ?? "task_none", providerId: who.providerId, accountId: who.accountId, backend: "cpu", price },
        false,
        wronged ? { verdict: "overturned", wronged } : {},
      ),
    );

  beforeAll(async () => {
    chain = await startLocalChain({ demoAccounts: 3, stakeToken: "ledger" });
    net = await startTestNetwork({ env: { ...chain.env, CHAIN_POLL_MS: "3600000", CHAIN_TX_TIMEOUT_MS: "1" } });
    [providerWallet, requesterWallet, strangerWallet] = chain.demoAccounts.map((a) => walletOf(a.address)) as [typeof providerWallet, typeof providerWallet, typeof providerWallet];
    ({ accountId: provider, apiKey: providerKey } = await createAccount(net.server.app));
    requester = (await createAccount(net.server.app)).accountId;
    await db().account.update({ where: { id: provider }, data: { walletAddress: providerWallet.account.address.toLowerCase() } });
    await db().account.update({ where: { id: requester }, data: { walletAddress: requesterWallet.account.address.toLowerCase() } });
    providerRowId = `prv_stake_${provider.slice(-8)}`;
    await db().provider.create({ data: { id: providerRowId, accountId: provider, name: "staked", kind: "native", backend: "cpu", region: "local", price: 100n, specs: {} } });
    expect(chain.addresses.stakeToken).toBe(chain.addresses.token);
  }, 180_000);
  afterAll(async () => {
    await net?.close();
    await chain?.stop();
  });

  it("counts a provider's on-chain stake in its ledger stake once, across a restart and a replayed scan", async () => {
    const pool = await getLedgerBalance(net.db, "system:chain_stake");
    expect(await eligibleAt(500n)).toBe(false);
    const registered = await stakeCall(providerWallet, "registerProvider", 5_000n);
    await adapter().tick();
    expect(await ledgerStake(provider)).toBe(5_000n);
    expect(await getLedgerBalance(net.db, "system:chain_stake")).toBe(pool - 5_000n);

    await net.restartServer();
    await adapter().tick();
    await adapter().stake.setCursor(chain.deployBlock - 1n);
    const replay = await adapter().stake.tick();
    expect(replay).toMatchObject({ counted: 0, unlinked: 0 });
    expect(replay.cursor).toBeGreaterThanOrEqual(registered.blockNumber);
    expect(await ledgerStake(provider)).toBe(5_000n);
    expect(await db().chainStakeEvent.count({ where: { wallet: providerWallet.account.address.toLowerCase() } })).toBe(1);

    await stakeCall(providerWallet, "addStake", 1_000n);
    await adapter().tick();
    expect(await ledgerStake(provider)).toBe(6_000n);
    expect(await db().chainStaker.findFirst({ where: { accountId: provider } })).toMatchObject({ active: 6_000n, unbonding: 0n });
    // The provider sees it: GET /chain names the stake token (the ledger's: no STUN), GET /chain/account the wallet's stake.
    const status = (await api(net.url, "GET", "/chain", { key: providerKey })).body;
    expect(status.stakeToken).toMatchObject({ address: chain.addresses.token, symbol: "mUSD" });
    expect(status.stunToken).toBeUndefined();
    const account = (await api(net.url, "GET", "/chain/account", { key: providerKey })).body;
    expect(account.stake).toEqual({ wallet: providerWallet.account.address.toLowerCase(), active: "6000", unbonding: "0", slashed: "0", counted: true });
    // The public conservation report counts it, in aggregate.
    await adapter().latestConservation(0);
    expect((await api(net.url, "GET", "/chain/conservation")).body).toMatchObject({ mismatches: 0, stake: { wallets: 1, onChain: "6000", counted: "6000", violations: 0 } });
    // Matching counts it: 10 × 500 is covered by 6,000 on chain, 10 × 700 is not.
    expect(await eligibleAt(500n)).toBe(true);
    expect(await eligibleAt(700n)).toBe(false);

    // The ledger cannot hand out stake the chain holds: it leaves through requestUnstake only.
    await expect(unstakeFunds(net.server.app, provider, 1n)).rejects.toMatchObject({ code: "INSUFFICIENT_FUNDS" });
    const c = await conservation();
    expect(c).toMatchObject({ onChain: 6_000n, counted: 6_000n });
  });

  it("records stake from a wallet linked to no account without counting it, and counts it once an account links the wallet", async () => {
    const pool = await getLedgerBalance(net.db, "system:chain_stake");
    await stakeCall(strangerWallet, "registerProvider", 700n);
    const r = await adapter().stake.tick();
    expect(r).toMatchObject({ counted: 0, unlinked: 1 });
    const event = await db().chainStakeEvent.findFirst({ where: { wallet: strangerWallet.account.address.toLowerCase() } });
    expect(event).toMatchObject({ status: "unlinked", accountId: null, counted: 0n, amount: "700" });
    expect(await getLedgerBalance(net.db, "system:chain_stake")).toBe(pool);
    expect((await conservation()).counted).toBe(6_000n);

    later = (await createAccount(net.server.app)).accountId;
    await db().account.update({ where: { id: later }, data: { walletAddress: strangerWallet.account.address.toLowerCase() } });
    await adapter().stake.tick();
    await adapter().stake.tick();
    expect(await ledgerStake(later)).toBe(700n);
    expect((await conservation()).counted).toBe(6_700n);
  });

  it("stake follows its wallet: unlinked, it stops counting; linked to another account, it counts there, once", async () => {
    const stranger = strangerWallet.account.address.toLowerCase();
    const link = (accountId: string, wallet: string | null) => db().account.update({ where: { id: accountId }, data: { walletAddress: wallet } });
    const other = (await createAccount(net.server.app)).accountId;
    await link(later, null);
    await adapter().stake.tick();
    expect(await ledgerStake(later)).toBe(0n);
    expect(await db().chainStaker.findFirst({ where: { wallet: stranger } })).toMatchObject({ accountId: null, active: 700n });
    expect((await conservation()).counted).toBe(6_000n);

    await link(other, stranger);
    await adapter().stake.tick();
    await adapter().stake.tick();
    expect(await ledgerStake(other)).toBe(700n);
    expect((await conservation()).counted).toBe(6_700n);

    // Straight from one account to another between two passes.
    await link(other, null);
    await link(later, stranger);
    await adapter().stake.tick();
    await adapter().stake.tick();
    expect([await ledgerStake(other), await ledgerStake(later)]).toEqual([0n, 700n]);
    expect(await db().chainStaker.findFirst({ where: { wallet: stranger } })).toMatchObject({ accountId: later, active: 700n });
    const moves = await db().ledgerEntry.findMany({
      where: { account: { in: [`acct:${other}:stake`, `acct:${later}:stake`] } },
      orderBy: { id: "asc" },
      select: { account: true, amount: true, kind: true },
    });
    expect(moves.filter((m) => m.kind === "chain_stake_unlinked").map((m) => m.amount)).toEqual([-700n, -700n]);
    expect((await conservation()).counted).toBe(6_700n);
  });

  it("executes a QA slash on chain once across a crash between send and confirmation, and refuses the order replayed", async () => {
    const treasuryBefore = await claimable(chain.addresses.treasury);
    const requesterBalance = (await getBalances(net.db, requester)).balance;
    // A solo result overturned by a re-check: 10 × 200 from the stake, 150 of it back to the requester who paid.
    const effects = await wrongResult(200n, { requesterId: requester, paid: 150n, taskId: "task_wronged" });
    expect(effects.slashed).toBe(2_000n);
    expect(await ledgerStake(provider)).toBe(4_000n);
    const row = (await db().chainSlash.findFirst({ where: { accountId: provider } }))!;
    expect(row).toMatchObject({ status: "pending", amount: 2_000n, beneficiaryAmount: 150n, beneficiaryAccountId: requester, beneficiary: requesterWallet.account.address.toLowerCase() });
    // The requester's share is paid on chain to its wallet, so its ledger balance is as before.
    expect((await getBalances(net.db, requester)).balance).toBe(requesterBalance);
    await conservation();

    // Sent; it lands, but the server dies before it sees the receipt, and (worse) its record of
    // the send is lost: the row is pending again with no transaction.
    await anvil().testClient.setAutomine(false);
    await adapter().slashes.tick();
    const sent = (await db().chainSlash.findUnique({ where: { id: row.id } }))!;
    expect(sent).toMatchObject({ status: "submitted", attempts: 1 });
    await anvil().testClient.mine({ blocks: 1 });
    await anvil().testClient.setAutomine(true);
    await db().chainSlash.update({ where: { id: row.id }, data: { status: "pending", txHash: null } });
    const submitter = adapter().clients.wallet.account.address;
    const nonceBefore = await anvil().publicClient.getTransactionCount({ address: submitter });
    await net.restartServer();
    await adapter().tick();
    await adapter().tick();
    expect(await anvil().publicClient.getTransactionCount({ address: submitter })).toBe(nonceBefore);
    const done = (await db().chainSlash.findUnique({ where: { id: row.id } }))!;
    expect(done).toMatchObject({ status: "confirmed", slashed: 2_000n, txHash: sent.txHash!.toLowerCase() });

    const logs = await anvil().publicClient.getContractEvents({
      address: chain.addresses.marketplace,
      abi: computeMarketplaceAbi,
      eventName: "ProviderSlashed",
      args: { nonce: row.nonce as Hex },
      fromBlock: 0n,
    });
    expect(logs).toHaveLength(1);
    expect(logs[0]!.args).toMatchObject({ provider: providerWallet.account.address, slashed: 2_000n, toBeneficiary: 150n, toTreasury: 1_850n });
    expect(await stakeOf(providerWallet.account.address)).toMatchObject({ staked: 4_000n, unbonding: 0n });
    expect(await claimable(requesterWallet.account.address)).toBe(150n);
    expect((await claimable(chain.addresses.treasury)) - treasuryBefore).toBe(1_850n);

    // The same signed order again: the contract refuses it.
    const settlers = createChainClients(adapter().cfg).signers;
    const order = slashOrderOf(row);
    const signatures = await signSlash(settlers, adapter().clients.domain, order);
    await expect(
      anvil().publicClient.simulateContract({ account: submitter, address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "slash", args: [order, signatures] }),
    ).rejects.toThrow(/SlashNonceUsed/);
    const c = await conservation();
    expect(c.slashedOnChain).toBe(2_000n);
    expect(c.slashedCounted).toBe(2_000n);
  });

  it("reflects an unstake request and the withdrawal after unbonding", async () => {
    const receipt = await stakeCall(providerWallet, "requestUnstake", 1_000n);
    const [log] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: "UnstakeRequested" });
    await adapter().tick();
    expect(await ledgerStake(provider)).toBe(3_000n);
    expect(await db().chainStaker.findFirst({ where: { accountId: provider } })).toMatchObject({ active: 3_000n, unbonding: 1_000n });
    await conservation();

    await anvil().testClient.increaseTime({ seconds: Number(log!.args.unbondingEnd - (await anvil().publicClient.getBlock()).timestamp) + 1 });
    await anvil().testClient.mine({ blocks: 1 });
    await mined(providerWallet.writeContract({ address: chain.addresses.staking, abi: stakingAbi, functionName: "withdrawStake" }));
    await adapter().tick();
    expect(await ledgerStake(provider)).toBe(3_000n);
    expect(await db().chainStaker.findFirst({ where: { accountId: provider } })).toMatchObject({ active: 3_000n, unbonding: 0n, overdrawn: 0n });
    expect(await conservation()).toMatchObject({ counted: 3_700n });
  });

  it("a slash larger than the stake slashes what there is, on chain and in the ledger, exactly", async () => {
    // 500 of ledger stake besides the 3,000 on chain; QA wants 10 × 1,000 = 10,000.
    await faucet(net.server.app, provider, 500n);
    await stakeFunds(net.server.app, provider, 500n);
    const treasuryLedger = await getLedgerBalance(net.db, "system:treasury");
    const treasuryBefore = await claimable(chain.addresses.treasury);
    const effects = await wrongResult(1_000n);
    expect(effects.slashed).toBe(3_500n);
    expect(await ledgerStake(provider)).toBe(0n);
    const row = (await db().chainSlash.findFirst({ where: { accountId: provider, status: "pending" } }))!;
    expect(row).toMatchObject({ amount: 3_000n, beneficiaryAmount: 0n });
    await adapter().tick();
    await adapter().tick();
    expect(await db().chainSlash.findUnique({ where: { id: row.id } })).toMatchObject({ status: "confirmed", slashed: 3_000n });
    expect(await stakeOf(providerWallet.account.address)).toMatchObject({ staked: 0n, unbonding: 0n });
    // The treasury: 3,000 claimable on chain, the ledger's 500 in the ledger.
    expect((await claimable(chain.addresses.treasury)) - treasuryBefore).toBe(3_000n);
    expect((await getLedgerBalance(net.db, "system:treasury")) - treasuryLedger).toBe(500n);
    const c = await conservation();
    expect(c).toMatchObject({ counted: 700n, slashedOnChain: 5_000n, slashedCounted: 5_000n });
  });

  it("a slash the chain can only partly execute (the stake withdrawn before it landed) is mirrored as executed: the requester keeps its share in the ledger", async () => {
    // The wallet linked late (700 counted) is a provider too; QA slashes it 700, 100 owed to the requester.
    const rowId = `prv_late_${later.slice(-8)}`;
    await db().provider.create({ data: { id: rowId, accountId: later, name: "late", kind: "native", backend: "cpu", region: "local", price: 100n, specs: {} } });
    const requesterBalance = (await getBalances(net.db, requester)).balance;
    const claimableBefore = await claimable(requesterWallet.account.address);
    await wrongResult(100n, { requesterId: requester, paid: 100n, taskId: "task_late" }, { providerId: rowId, accountId: later });
    const row = (await db().chainSlash.findFirst({ where: { accountId: later } }))!;
    expect(row).toMatchObject({ status: "pending", amount: 700n, beneficiaryAmount: 100n });
    // Before the server sends it, the provider unstakes and withdraws everything on chain.
    const receipt = await stakeCall(strangerWallet, "requestUnstake", 700n);
    const [log] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: "UnstakeRequested" });
    await anvil().testClient.increaseTime({ seconds: Number(log!.args.unbondingEnd - (await anvil().publicClient.getBlock()).timestamp) + 1 });
    await anvil().testClient.mine({ blocks: 1 });
    await mined(strangerWallet.writeContract({ address: chain.addresses.staking, abi: stakingAbi, functionName: "withdrawStake" }));

    await adapter().tick();
    await adapter().tick();
    expect(await db().chainSlash.findUnique({ where: { id: row.id } })).toMatchObject({ status: "confirmed", amount: 700n, slashed: 0n });
    expect(await stakeOf(strangerWallet.account.address)).toMatchObject({ staked: 0n, unbonding: 0n });
    expect(await db().chainStaker.findFirst({ where: { accountId: later } })).toMatchObject({ active: 0n, unbonding: 0n, overdrawn: 0n, slashed: 0n });
    // Nothing reached the requester's wallet, so its share stays in its ledger balance (from the treasury).
    expect(await claimable(requesterWallet.account.address)).toBe(claimableBefore);
    expect((await getBalances(net.db, requester)).balance - requesterBalance).toBe(100n);
    expect(await ledgerStake(later)).toBe(0n);
    expect(await conservation()).toMatchObject({ counted: 0n, slashedOnChain: 5_000n, slashedCounted: 5_000n });
  });

  it("the conservation check reports a count that disagrees with the chain or the ledger", async () => {
    const wallet = providerWallet.account.address.toLowerCase();
    await db().chainStaker.update({ where: { chainId_wallet: { chainId: chain.chainId, wallet } }, data: { active: { increment: 5n } } });
    const a = adapter();
    const c = await checkStakeConservation(net.server.app, a.cfg, a.clients);
    expect(c.violations).toEqual([
      expect.stringContaining(`wallet ${wallet} (account ${provider}): on chain 0`),
      `account ${provider}: the ledger's on-chain-stake mirror is 0, the chain count 5`,
      "−balance(system:chain_stake) is 0, Σ counted on-chain stake 5",
    ]);
    await db().chainStaker.update({ where: { chainId_wallet: { chainId: chain.chainId, wallet } }, data: { active: { decrement: 5n } } });
    await conservation();
  });
});
