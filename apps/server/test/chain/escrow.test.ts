/**
 * Tasks paid from an on-chain per-task escrow, end to end: a real anvil with the Stun contracts
 * (startLocalChain → deployStun), the real server with CHAIN set, a real native provider whose
 * linked wallet is registered in Staking.
 *
 * The requester escrows mUSD with `createTask` and submits naming it: nothing is taken from its
 * ledger balance; the server settles the escrow with the settlers' signatures once (the change
 * credited back to the requester's wallet), releases it after the window; a task that expires
 * unpaid is refunded once after the escrow's deadline; a result overturned within the window is
 * disputed once. After each, the ledger and the chain agree (checkConservation). Bad escrows are
 * refused with stable codes and nothing is charged twice, also under two concurrent submits.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Address, type Hex, keccak256, toHex, zeroAddress } from "viem";
import { buildMlp } from "@stun/testkit";
import { accountToBytes32, computeMarketplaceAbi, idToBytes32, mockERC20Abi, stakingAbi } from "@stun/contracts";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, toJsonTensor, uploadModel, waitTask } from "../support/api";
import { checkLedgerInvariants, getBalances, getLedgerBalance, mint, postTransfer } from "../../src/ledger";
import { type ChainAdapter, type LocalChain, startLocalChain } from "../../src/chain";
import { type DemoWallet, localChainKit } from "../support/local-chain";

const PRICE = 100n;
const MAX_PRICE = 150n;
const ESCROW = 1_000n;

describeDb("chain: tasks paid from an on-chain per-task escrow", () => {
  let chain: LocalChain;
  let net: TestNetwork;
  let requester: { id: string; key: string };
  let creator: { id: string; key: string };
  let modelId: string;
  let requesterWallet: DemoWallet;
  let providerWallet: DemoWallet;
  let creatorWallet: DemoWallet;
  let settledTaskId: string;
  let settledEscrow: Hex;
  let n = 0;

  const adapter = (): ChainAdapter => net.server.chain!;
  const db = () => net.db.prisma;
  let kit: ReturnType<typeof localChainKit>;
  const read = <T>(functionName: string, args: readonly unknown[]) => kit.read<T>(functionName, args);
  const claimable = (who: Address) => read<bigint>("claimable", [chain.addresses.token, who]);
  const onChain = (id: Hex) => read<{ status: number; cost: bigint; amount: bigint }>("getTask", [id]);
  const mined = (hash: Promise<Hex>) => kit.mined(hash);
  /** createTask from `from`: a fresh id, `amount` of mUSD, a deadline `ttl` seconds after the chain's clock. */
  const createEscrow = (from: DemoWallet, amount: bigint, ttl = 3_600, modelCreator: Address = zeroAddress) =>
    kit.createEscrow(from, keccak256(toHex(`escrow-${++n}-${Date.now()}`)), amount, ttl, modelCreator);
  const input = () => {
    const x = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + n));
    return { x: toJsonTensor({ dtype: "float32", dims: [1, 16], data: new Uint8Array(x.buffer) }) };
  };
  const submit = (escrow: Hex, extra: Record<string, unknown> = {}) =>
    api(net.url, "POST", "/tasks", { key: requester.key, json: { modelId, inputs: input(), verification: { mode: "none" }, maxPrice: String(MAX_PRICE), escrow: { taskId: escrow }, ...extra } });
  const escrowRow = (taskId: string, status: string) =>
    eventually(
      async () => {
        const row = await db().chainEscrow.findUnique({ where: { taskId } });
        return row?.status === status ? row : undefined;
      },
      30_000,
      `escrow of ${taskId} ${status}`,
    );
  const conserved = async () => {
    const report = await adapter().conservation();
    expect(report.mismatches).toEqual([]);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
    return report;
  };
  /** The kinds of the ledger transactions of a task, each once per transaction, sorted. */
  const ledgerKinds = async (taskId: string) => (await db().ledgerEntry.findMany({ where: { taskId }, select: { txId: true, kind: true }, distinct: ["txId"] })).map((t) => t.kind).sort();

  beforeAll(async () => {
    chain = await startLocalChain({ demoAccounts: 4 });
    net = await startTestNetwork({ providers: 1, providerArgs: () => ["--price", String(PRICE)], env: { ...chain.env, CHAIN_POLL_MS: "100" } });
    kit = localChainKit(chain, () => net);
    [requesterWallet, providerWallet, creatorWallet] = kit.demoWallets() as [DemoWallet, DemoWallet, DemoWallet];
    const { newAccount, link } = kit;
    requester = await newAccount();
    creator = await newAccount();
    await link(net.providerAccountId, providerWallet.account.address);
    await link(creator.id, creatorWallet.account.address);
    await link(requester.id, requesterWallet.account.address);
    // `settle` pays only providers registered in Staking (minimum stake 0 on the local chain).
    const staking = await read<Address>("staking", []);
    await mined(providerWallet.writeContract({ address: staking, abi: stakingAbi, functionName: "registerProvider", args: [0n] }));
    const mlp = buildMlp({ inputSize: 16, hidden: [8], outputSize: 4, seed: 5 });
    modelId = await uploadModel(net.url, creator.key, mlp.bytes, "mlp");
  }, 180_000);
  afterAll(async () => {
    await net?.close();
    await chain?.stop();
  });

  it("settles an escrowed task on chain once: no ledger charge, the change back to the wallet, released after the window", async () => {
    const chainLedger = await getLedgerBalance(net.db, "system:chain");
    settledEscrow = await createEscrow(requesterWallet, ESCROW, 3_600, creatorWallet.account.address);
    const sub = await submit(settledEscrow);
    expect(sub.status).toBe(202);
    settledTaskId = sub.body.id;
    const linked = await db().chainEscrow.findUnique({ where: { taskId: settledTaskId } });
    expect(linked).toMatchObject({ escrowId: settledEscrow, requesterId: requester.id, amount: ESCROW, held: MAX_PRICE, requester: requesterWallet.account.address.toLowerCase() });
    const done = await waitTask(net.url, requester.key, settledTaskId);
    expect(done).toMatchObject({ status: "completed", cost: String(PRICE) });

    const row = await escrowRow(settledTaskId, "confirmed");
    expect(row.entry).toMatchObject({ cost: "100", treasuryShare: "15", creatorShare: "5", providers: [expect.objectContaining({ to: providerWallet.account.address, price: "100", share: "80" })] });
    expect(await onChain(settledEscrow)).toMatchObject({ status: 2, cost: PRICE, amount: ESCROW });
    expect(await claimable(requesterWallet.account.address)).toBe(ESCROW - PRICE);
    // The requester's ledger balance was never touched; the change went to its wallet on chain.
    expect(await getBalances(net.db, requester.id)).toMatchObject({ balance: 0n, escrow: 0n });
    expect(await getLedgerBalance(net.db, "system:chain")).toBe(chainLedger);
    await conserved();

    // More rounds send nothing again.
    await adapter().tick();
    await adapter().tick();
    const settledLogs = await chain.anvil.publicClient.getContractEvents({
      address: chain.addresses.marketplace,
      abi: computeMarketplaceAbi,
      eventName: "TaskSettled",
      fromBlock: 0n,
      args: { taskId: settledEscrow },
    });
    expect(settledLogs).toHaveLength(1);
    expect(await ledgerKinds(settledTaskId)).toEqual(["chain_escrow", "chain_escrow_change", "chain_escrow_settle", "settle"]);

    await chain.anvil.increaseTime(61);
    await escrowRow(settledTaskId, "released");
    expect(await claimable(providerWallet.account.address)).toBe(80n);
    expect(await claimable(creatorWallet.account.address)).toBe(5n);
    await conserved();
  });

  it("refuses bad escrows with stable codes and charges nothing", async () => {
    const chainLedger = await getLedgerBalance(net.db, "system:chain");
    const tasks = await db().task.count({ where: { requesterId: requester.id } });

    const small = await createEscrow(requesterWallet, MAX_PRICE - 1n);
    const tooSmall = await submit(small);
    expect(tooSmall.status).toBe(402);
    expect(tooSmall.body.error).toMatchObject({ code: "ESCROW_TOO_SMALL", details: { amount: "149", needed: "150" } });

    const inUse = await submit(settledEscrow);
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.code).toBe("ESCROW_IN_USE");

    const soon = await createEscrow(requesterWallet, ESCROW, 30);
    const expired = await submit(soon);
    expect(expired.status).toBe(400);
    expect(expired.body.error.code).toBe("ESCROW_EXPIRED");

    const unknown = await submit(keccak256(toHex("never created")));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("ESCROW_NOT_FOUND");

    const others = await createEscrow(providerWallet, ESCROW);
    const notYours = await submit(others);
    expect(notYours.status).toBe(403);
    expect(notYours.body.error.code).toBe("ESCROW_NOT_YOURS");

    const badShape = await submit("0x1234" as Hex);
    expect(badShape.status).toBe(400);
    expect(badShape.body.error.code).toBe("VALIDATION_FAILED");

    expect(await db().task.count({ where: { requesterId: requester.id } })).toBe(tasks);
    expect(await getLedgerBalance(net.db, "system:chain")).toBe(chainLedger);
    expect((await getBalances(net.db, requester.id)).balance).toBe(0n);

    // Eight submits naming one escrow at once, as a hostile client would send them: one task, held once.
    const shared = await createEscrow(requesterWallet, ESCROW);
    const all = await Promise.all(Array.from({ length: 8 }, () => submit(shared)));
    expect(all.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409, 409, 409, 409]);
    for (const lost of all.filter((r) => r.status === 409)) expect(lost.body.error.code).toBe("ESCROW_IN_USE");
    const winner = all.find((r) => r.status === 202)!.body.id as string;
    expect(await db().task.count({ where: { requesterId: requester.id } })).toBe(tasks + 1);
    expect(await db().chainEscrow.count({ where: { escrowId: shared } })).toBe(1);
    // Held once: one link mirror of the whole hold (the task may already have run and sent its change back).
    const links = await db().ledgerEntry.findMany({ where: { taskId: winner, kind: "chain_escrow", account: "system:chain" } });
    expect(links.map((e) => e.amount)).toEqual([-MAX_PRICE]);
    await waitTask(net.url, requester.key, winner);
    await escrowRow(winner, "confirmed");
    await conserved();
  });

  it("refunds an escrowed task that expires unpaid once, after the escrow's deadline", async () => {
    const chainLedger = await getLedgerBalance(net.db, "system:chain");
    const id = await createEscrow(requesterWallet, ESCROW, 600);
    // maxPrice below the provider's price: no provider takes it, it expires.
    const sub = await submit(id, { maxPrice: "50", deadlineSeconds: 2 });
    expect(sub.status).toBe(202);
    const taskId = sub.body.id as string;
    const done = await waitTask(net.url, requester.key, taskId, 30);
    expect(done.status).toBe("expired");
    await escrowRow(taskId, "refund_due");
    // Mirrored when it ended: the ledger no longer counts the escrow, the requester's balance untouched.
    expect(await getLedgerBalance(net.db, "system:chain")).toBe(chainLedger);
    expect(await getBalances(net.db, requester.id)).toMatchObject({ balance: 0n, escrow: 0n });
    await conserved();
    expect((await onChain(id)).status).toBe(1);

    const before = await claimable(requesterWallet.account.address);
    await chain.anvil.increaseTime(601);
    await escrowRow(taskId, "refunded");
    expect((await onChain(id)).status).toBe(5);
    expect(await claimable(requesterWallet.account.address)).toBe(before + ESCROW);
    await adapter().tick();
    const refunds = await chain.anvil.publicClient.getContractEvents({
      address: chain.addresses.marketplace,
      abi: computeMarketplaceAbi,
      eventName: "TaskRefunded",
      fromBlock: 0n,
      args: { taskId: id },
    });
    expect(refunds).toHaveLength(1);
    expect(await ledgerKinds(taskId)).toEqual(["chain_escrow", "chain_escrow_refund", "refund"]);
    await conserved();
  });

  it("disputes an escrowed task whose result is overturned within the window, once", async () => {
    const id = await createEscrow(requesterWallet, ESCROW);
    const sub = await submit(id);
    expect(sub.status).toBe(202);
    const taskId = sub.body.id as string;
    await waitTask(net.url, requester.key, taskId);
    await escrowRow(taskId, "confirmed");
    // The re-check's ledger refund (handle-result.ts settleRecheck) left the requester this much.
    await net.db.prisma.$transaction((tx) => mint(tx, requester.id, PRICE));
    const providerBalance = (await getBalances(net.db, net.providerAccountId)).balance;
    const before = await claimable(requesterWallet.account.address);

    // What settleRecheck writes when a re-check overturns the result.
    await db().task.update({ where: { id: taskId }, data: { correction: { at: new Date().toISOString(), byAssignment: "asg_test", previousOutputDigest: "a", outputDigest: "b" } } });
    await escrowRow(taskId, "disputed");
    expect((await onChain(id)).status).toBe(4);
    expect(await claimable(requesterWallet.account.address)).toBe(before + PRICE);
    // The chain gave the cost back to the wallet: the ledger takes it from the balance; the
    // provider keeps its ledger share (it is not paid on chain).
    expect((await getBalances(net.db, requester.id)).balance).toBe(0n);
    expect((await getBalances(net.db, net.providerAccountId)).balance).toBe(providerBalance + 80n);
    await conserved();

    await adapter().tick();
    await chain.anvil.increaseTime(61);
    await adapter().tick();
    const disputes = await chain.anvil.publicClient.getContractEvents({
      address: chain.addresses.marketplace,
      abi: computeMarketplaceAbi,
      eventName: "TaskDisputed",
      fromBlock: 0n,
      args: { taskId: id },
    });
    expect(disputes).toHaveLength(1);
    expect((await ledgerKinds(taskId)).filter((k) => k.startsWith("chain_dispute"))).toEqual(["chain_dispute", "chain_dispute_refund"]);
    expect((await db().chainEscrow.findUnique({ where: { taskId } }))?.status).toBe("disputed");
    await conserved();
  });

  it("settles escrows pending together in one settleBatch; a paused marketplace delays them, never refunds them", async () => {
    const guardian = chain.anvil.wallets[0]!;
    const ids = [await createEscrow(requesterWallet, ESCROW), await createEscrow(requesterWallet, ESCROW)];
    await mined(guardian.writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "pause", args: [] }));
    let taskIds: string[];
    try {
      taskIds = [];
      for (const id of ids) taskIds.push((await submit(id)).body.id as string);
      for (const taskId of taskIds) expect((await waitTask(net.url, requester.key, taskId)).status).toBe("completed");
      for (const taskId of taskIds) {
        await eventually(async () => (await db().chainEscrow.findUnique({ where: { taskId } }))?.lastError?.includes("EnforcedPause") === true, 30_000, "settle refused while paused");
      }
      expect((await db().chainEscrow.findMany({ where: { taskId: { in: taskIds } } })).map((r) => r.status)).toEqual(["pending", "pending"]);
      for (const id of ids) expect((await onChain(id)).status).toBe(1);
    } finally {
      await mined(guardian.writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "unpause", args: [] }));
    }
    const rows = await Promise.all(taskIds.map((taskId) => escrowRow(taskId, "confirmed")));
    expect(rows[0]!.txHash).toBe(rows[1]!.txHash);
    for (const id of ids) expect(await onChain(id)).toMatchObject({ status: 2, cost: PRICE });
    await conserved();
  });

  it("past the dispute window an overturned result is corrected in the ledger only: logged once, the chain pays as settled", async () => {
    const id = await createEscrow(requesterWallet, ESCROW);
    const sub = await submit(id);
    const taskId = sub.body.id as string;
    await waitTask(net.url, requester.key, taskId);
    await escrowRow(taskId, "confirmed");
    // Paused, the marketplace releases nothing (disputes still work): the window closes with the row confirmed.
    const guardian = chain.anvil.wallets[0]!;
    await mined(guardian.writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "pause", args: [] }));
    try {
      await chain.anvil.increaseTime(61);
      await db().task.update({ where: { id: taskId }, data: { correction: { at: new Date().toISOString(), byAssignment: "asg_test", previousOutputDigest: "a", outputDigest: "b" } } });
      await eventually(
        async () => ((await db().chainEscrow.findUnique({ where: { taskId } }))?.entry as { correctionPastWindow?: boolean } | null)?.correctionPastWindow === true,
        30_000,
        "correction past the window noted",
      );
      expect((await onChain(id)).status).toBe(2);
    } finally {
      await mined(guardian.writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "unpause", args: [] }));
    }
    await escrowRow(taskId, "released");
    expect((await ledgerKinds(taskId)).filter((k) => k.startsWith("chain_dispute"))).toEqual([]);
    await conserved();
  });

  it("disputes an overturned task settled from the requester's deposit: the cost goes back into the deposit", async () => {
    const deposit = 500n;
    const before = (await getBalances(net.db, requester.id)).balance;
    await mined(requesterWallet.writeContract({ address: chain.addresses.token, abi: mockERC20Abi, functionName: "approve", args: [chain.addresses.marketplace, deposit] }));
    await mined(
      requesterWallet.writeContract({
        address: chain.addresses.marketplace,
        abi: computeMarketplaceAbi,
        functionName: "deposit",
        args: [chain.addresses.token, deposit, accountToBytes32(requester.id)],
      }),
    );
    await eventually(async () => (await getBalances(net.db, requester.id)).balance === before + deposit, 20_000, "deposit credited");
    const sub = await api(net.url, "POST", "/tasks", { key: requester.key, json: { modelId, inputs: input(), verification: { mode: "none" }, maxPrice: String(MAX_PRICE) } });
    expect(sub.status).toBe(202);
    const taskId = sub.body.id as string;
    expect((await waitTask(net.url, requester.key, taskId)).status).toBe("completed");
    await eventually(async () => (await db().chainSettlement.findUnique({ where: { taskId } }))?.status === "confirmed", 30_000, "deposit settlement confirmed");
    const depositOf = () => read<bigint>("depositOf", [accountToBytes32(requester.id), chain.addresses.token]);
    expect(await depositOf()).toBe(deposit - PRICE);
    await conserved();
    const providerBalance = (await getBalances(net.db, net.providerAccountId)).balance;

    await db().task.update({ where: { id: taskId }, data: { correction: { at: new Date().toISOString(), byAssignment: "asg_test", previousOutputDigest: "a", outputDigest: "b" } } });
    await eventually(async () => (await db().chainSettlement.findUnique({ where: { taskId } }))?.status === "disputed", 30_000, "deposit settlement disputed");
    expect((await onChain(idToBytes32(taskId))).status).toBe(4);
    expect(await depositOf()).toBe(deposit);
    // The payouts' mirror reversed: the provider keeps its share in the ledger, not paid on chain.
    expect((await getBalances(net.db, net.providerAccountId)).balance).toBe(providerBalance + 80n);
    await adapter().tick();
    expect((await ledgerKinds(taskId)).filter((k) => k.startsWith("chain_"))).toEqual(["chain_dispute", "chain_settle"]);
    await conserved();
  });

  it("an escrow whose provider cannot be paid on chain (no linked wallet) is refunded; the requester's balance pays the cost", async () => {
    await db().account.update({ where: { id: net.providerAccountId }, data: { walletAddress: null } });
    try {
      await net.db.prisma.$transaction((tx) => mint(tx, requester.id, PRICE));
      const balance = (await getBalances(net.db, requester.id)).balance;
      const id = await createEscrow(requesterWallet, ESCROW);
      const sub = await submit(id);
      const taskId = sub.body.id as string;
      expect((await waitTask(net.url, requester.key, taskId)).status).toBe("completed");
      const row = await escrowRow(taskId, "refund_due");
      expect(row.lastError).toMatch(/has no linked wallet/);
      // The ledger paid the provider; the chain gives the whole escrow back: the balance pays the cost.
      expect((await getBalances(net.db, requester.id)).balance).toBe(balance - PRICE);
      expect((await onChain(id)).status).toBe(1);
      await conserved();

      const before = await claimable(requesterWallet.account.address);
      await chain.anvil.increaseTime(3_601);
      await escrowRow(taskId, "refunded");
      expect(await claimable(requesterWallet.account.address)).toBe(before + ESCROW);
      expect((await ledgerKinds(taskId)).filter((k) => k.startsWith("chain_"))).toEqual(["chain_escrow", "chain_escrow_change", "chain_escrow_unsettled"]);
      await conserved();
    } finally {
      await db().account.update({ where: { id: net.providerAccountId }, data: { walletAddress: providerWallet.account.address.toLowerCase() } });
    }
  });
  it("GET /chain/conservation answers the last check in aggregate, publicly; the metrics count the terms that disagree", async () => {
    const metric = async () => Number(/^stun_chain_conservation_mismatches (\S+)$/m.exec(await (await fetch(`${net.url}/metrics`)).text())?.[1]);
    const skew = (amount: bigint) =>
      net.db.prisma.$transaction((tx) =>
        postTransfer(tx, {
          kind: "test_skew",
          entries: [
            { account: "system:chain", amount: -amount },
            { account: "system:treasury", amount },
          ],
        }),
      );
    await adapter().latestConservation(0);
    const ok = await api(net.url, "GET", "/chain/conservation");
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ chainId: 31337, token: chain.addresses.token, mismatches: 0, stake: null });
    expect(ok.body.terms.map((t: { name: string }) => t.name)).toEqual(["pool", "settled"]);
    for (const t of ok.body.terms) expect(t.ledger).toBe(t.chain);
    expect(BigInt(ok.body.holdings)).toBeGreaterThanOrEqual(BigInt(ok.body.terms[0].chain) + BigInt(ok.body.terms[1].chain));
    expect(await metric()).toBe(0);

    // A ledger that says the marketplace holds 7 more for Stun than it does: one term disagrees.
    await skew(7n);
    try {
      await adapter().latestConservation(0);
      const bad = await api(net.url, "GET", "/chain/conservation");
      expect(bad.body.mismatches).toBe(1);
      expect(BigInt(bad.body.terms[0].ledger) - BigInt(bad.body.terms[0].chain)).toBe(7n);
      expect(JSON.stringify(bad.body)).not.toContain("acc_"); // no account is named in the answer
      expect(await metric()).toBe(1);
    } finally {
      await skew(-7n);
    }
    await adapter().latestConservation(0);
    expect(await metric()).toBe(0);
    // Asked again and again, it answers the last check (one per CHAIN_CONSERVATION_MS).
    const [a, b] = await Promise.all([api(net.url, "GET", "/chain/conservation"), api(net.url, "GET", "/chain/conservation")]);
    expect(a.body.checkedAt).toBe(b.body.checkedAt);
  });
});
