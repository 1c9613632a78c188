/**
 * A real re-check overturns an escrowed task's result, and the server disputes it on chain: anvil
 * with the Stun contracts, the real server with CHAIN set, real provider processes (one faulty).
 *
 * As in e2e/qa.test.ts: alone online, a faulty provider (linked wallet registered in Staking) runs
 * an escrowed task unchecked (`allowSingle`); the server settles the escrow on chain. Honest
 * providers join, a replicated task catches the faulty one, its solo result is re-checked and
 * overturned (Task.correction, the requester refunded from the slash in the ledger) — within the
 * dispute window, so the server disputes the settlement once: the chain credits the cost back to
 * the requester's wallet, nothing is released to the faulty provider, and the ledger and the chain
 * agree.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Address, keccak256, toHex } from "viem";
import { buildMlp } from "@stun/testkit";
import { computeMarketplaceAbi, stakingAbi } from "@stun/contracts";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, runTask, toJsonTensor, uploadModel, waitTask } from "../support/api";
import { checkLedgerInvariants } from "../../src/ledger";
import { type LocalChain, startLocalChain } from "../../src/chain";
import { type DemoWallet, localChainKit } from "../support/local-chain";

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 4 });
const tensor = (x: Float32Array) => toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(x.buffer) });
const PRICE = 10n;
const ESCROW = 1_000n;

describeDb("chain: a re-check overturns an escrowed task's result and the server disputes it on chain", () => {
  let chain: LocalChain;
  let net: TestNetwork;

  beforeAll(async () => {
    chain = await startLocalChain({ demoAccounts: 2 });
    net = await startTestNetwork({ env: { ...chain.env, CHAIN_POLL_MS: "100", RECHECK_LIMIT: "10", REFEREE_MAX_BYTES: "0" } });
  }, 180_000);
  afterAll(async () => {
    await net?.close();
    await chain?.stop();
  });

  it("disputes the overturned escrowed settlement once within the window; the ledger and the chain agree", async () => {
    const db = net.db.prisma;
    const { read, mined, demoWallets, createEscrow } = localChainKit(chain, () => net);
    const [requesterWallet, providerWallet] = demoWallets() as [DemoWallet, DemoWallet];
    await db.account.update({ where: { id: net.accountId }, data: { walletAddress: requesterWallet.account.address.toLowerCase() } });
    await db.account.update({ where: { id: net.providerAccountId }, data: { walletAddress: providerWallet.account.address.toLowerCase() } });
    await mined(providerWallet.writeContract({ address: await read<Address>("staking", []), abi: stakingAbi, functionName: "registerProvider", args: [0n] }));
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    const cheater = await net.addProvider({ name: "faulty", args: ["--fault", "perturb", "--price", String(PRICE)] });

    // The escrow, and the task it pays, run alone on the faulty provider.
    const escrowId = await createEscrow(requesterWallet, keccak256(toHex(`recheck-escrow-${Date.now()}`)), ESCROW);
    const x = new Float32Array([0.5, 0.5, 0.25, 2]);
    const sub = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: { x: tensor(x) }, maxPrice: String(PRICE), verification: { mode: "auto", allowSingle: true }, escrow: { taskId: escrowId } },
    });
    expect(sub.status).toBe(202);
    const taskId = sub.body.id as string;
    const done = await waitTask(net.url, net.apiKey, taskId);
    expect(done).toMatchObject({ status: "completed", cost: String(PRICE) });
    expect(done.receipt.qa.check).toBe("single");
    const row = async () => db.chainEscrow.findUnique({ where: { taskId } });
    await eventually(async () => (await row())?.status === "confirmed", 30_000, "escrow settled on chain");
    expect(await read<{ status: number }>("getTask", [escrowId])).toMatchObject({ status: 2 });

    // Honest providers join; a replicated task catches the faulty one; its solo result is re-checked.
    await net.addProvider({ name: "honest-a", args: ["--price", String(PRICE)] });
    await net.addProvider({ name: "honest-b", args: ["--price", String(PRICE)] });
    const check = await runTask(net.url, net.apiKey, { modelId, inputs: { x: tensor(new Float32Array([1, 0, 0.5, 2])) }, maxPrice: String(PRICE), verification: { mode: "redundant", replicas: 3 } });
    expect(check.status).toBe("completed");
    expect(check.verification.executions.find((e: { providerId: string }) => e.providerId === cheater.providerId)).toMatchObject({ verdict: "rejected" });

    await eventually(async () => (await row())?.status === "disputed", 60_000, "escrowed settlement disputed on chain");
    expect((await waitTask(net.url, net.apiKey, taskId, 1)).receipt.qa.recheck).toBe("corrected");
    expect(await read<{ status: number; cost: bigint }>("getTask", [escrowId])).toMatchObject({ status: 4, cost: PRICE });
    // The change at settlement and the disputed cost: the whole escrow is the requester's again.
    expect(await read<bigint>("claimable", [chain.addresses.token, requesterWallet.account.address])).toBe(ESCROW);
    const disputes = await chain.anvil.publicClient.getContractEvents({
      address: chain.addresses.marketplace,
      abi: computeMarketplaceAbi,
      eventName: "TaskDisputed",
      fromBlock: 0n,
      args: { taskId: escrowId },
    });
    expect(disputes).toHaveLength(1);
    await net.server.chain!.tick();
    const report = await net.server.chain!.conservation();
    expect(report.mismatches).toEqual([]);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
    // After the window nothing is released to the faulty provider.
    await chain.anvil.increaseTime(61);
    await net.server.chain!.tick();
    expect(await read<bigint>("claimable", [chain.addresses.token, providerWallet.account.address])).toBe(0n);
  }, 240_000);
});
