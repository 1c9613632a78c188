/**
 * A zk task paid from an on-chain `createZkTask` escrow, end to end: a real anvil with the Stun
 * contracts, the model's real snarkjs verifier compiled, deployed and registered through the
 * timelock, the real server with CHAIN set, and a real native provider proving with snarkjs.
 *
 * The requester makes the task's id, escrows mUSD with createZkTask under it (committing to the
 * model hash and its input's hash) and submits naming it: the task takes that id, nothing is taken
 * from the ledger balance, and the server settles the escrow itself with `settleWithProof` — the
 * proof pays the provider's linked wallet the whole escrow, split on chain as in the ledger — once.
 * Escrows whose terms or kind do not fit the task are refused with stable codes, nothing charged.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Address, type Hex, keccak256, toHex } from "viem";
import { buildMlp, buildSoftmaxModel } from "@stun/testkit";
import { exportModelVerifier, inputHashOf, shutdownZk } from "@stun/circuits";
import { computeMarketplaceAbi, deployAndRegisterZkVerifier, idToBytes32, mockERC20Abi } from "@stun/contracts";
import { readFileSync } from "node:fs";
import { splitFee } from "@stun/shared";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, toJsonTensor, uploadModel, waitTask, waitZkReady } from "../support/api";
import { checkLedgerInvariants, getBalances, getLedgerBalance } from "../../src/ledger";
import { type ChainAdapter, type LocalChain, startLocalChain } from "../../src/chain";
import { type DemoWallet, localChainKit } from "../support/local-chain";
import { newId } from "../../src/ids";

const ESCROW = 5_000n;
const TASK_STATUS = { Escrowed: 1, Released: 3 };

describeDb("chain: a zk task paid from a createZkTask escrow, settled with its proof", () => {
  let chain: LocalChain;
  let net: TestNetwork;
  let requester: { id: string; key: string };
  let modelId: string;
  let modelHash: bigint;
  let requesterWallet: DemoWallet;
  let providerWallet: DemoWallet;
  let creatorWallet: DemoWallet;
  let kit: ReturnType<typeof localChainKit>;
  let n = 0;

  const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 11, batch: 1 });
  const adapter = (): ChainAdapter => net.server.chain!;
  const db = () => net.db.prisma;
  const read = <T>(functionName: string, args: readonly unknown[]) => kit.read<T>(functionName, args);
  const claimable = (who: Address) => read<bigint>("claimable", [chain.addresses.token, who]);
  const onChain = (id: Hex) => read<{ status: number; cost: bigint }>("getTask", [id]);
  const mined = (hash: Promise<Hex>) => kit.mined(hash);
  /** A task id as the server makes them (ids.ts): the requester makes it, and the proof binds it. */
  const newTaskId = () => newId("tsk");
  const values = () => [0.5 + n, -1.25, 2, 0.75];
  const inputOf = (v: number[]) => ({ x: toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(Float32Array.from(v).buffer) }) });
  const artifacts = () => net.server.app.zk.ready(modelId)!.artifacts;

  /** approve + createZkTask from the requester's wallet under `id32`, committing to `inputHash`. */
  const createZkEscrow = async (id32: Hex, inputHash: bigint, opts: { modelHash?: bigint; amount?: bigint } = {}) => {
    const amount = opts.amount ?? ESCROW;
    await mined(requesterWallet.writeContract({ address: chain.addresses.token, abi: mockERC20Abi, functionName: "approve", args: [chain.addresses.marketplace, amount] }));
    await mined(
      requesterWallet.writeContract({
        address: chain.addresses.marketplace,
        abi: computeMarketplaceAbi,
        functionName: "createZkTask",
        args: [id32, chain.addresses.token, amount, BigInt((await kit.chainNow()) + 3_600), creatorWallet.account.address, opts.modelHash ?? modelHash, inputHash],
      }),
    );
  };
  const submit = (v: number[], escrow: Hex, mode = "zk") =>
    api(net.url, "POST", "/tasks", { key: requester.key, json: { modelId, inputs: inputOf(v), verification: { mode }, maxPrice: "1000", escrow: { taskId: escrow } } });
  const conserved = async () => {
    const report = await adapter().conservation();
    expect(report.mismatches).toEqual([]);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  };

  beforeAll(async () => {
    chain = await startLocalChain({ demoAccounts: 3 });
    net = await startTestNetwork({ providers: 1, providerArgs: () => ["--price", "100"], env: { ...chain.env, CHAIN_POLL_MS: "100", ZK_FEE_PER_1K_CONSTRAINTS: "5" } });
    kit = localChainKit(chain, () => net);
    [requesterWallet, providerWallet, creatorWallet] = kit.demoWallets() as [DemoWallet, DemoWallet, DemoWallet];
    const { newAccount: account, link } = kit;
    requester = await account();
    const creator = await account();
    // The proof binds the provider's linked wallet: settleWithProof pays it (no Staking registration).
    await link(net.providerAccountId, providerWallet.account.address);
    await link(creator.id, creatorWallet.account.address);
    await link(requester.id, requesterWallet.account.address);
    modelId = await uploadModel(net.url, creator.key, mlp.bytes, "zk-mlp");
    const zk = await waitZkReady(net.url, creator.key, modelId);
    modelHash = BigInt(zk.modelHash);
    // The model's verifier on chain, registered through the timelock (the local deployer may propose).
    const source = readFileSync(await exportModelVerifier(artifacts()), "utf8");
    await deployAndRegisterZkVerifier(chain.anvil.wallets[0]!, {
      publicClient: chain.anvil.publicClient,
      marketplace: chain.addresses.marketplace,
      modelHash,
      source,
      waitForDelay: (s) => chain.anvil.increaseTime(s),
    });
  }, 600_000);
  afterAll(async () => {
    await net?.close();
    await chain?.stop();
    await shutdownZk();
  });

  it("the task takes the escrow's id, is proven, and the server settles the escrow with the proof once: the whole escrow, split as in the ledger", async () => {
    const chainLedger = await getLedgerBalance(net.db, "system:chain");
    const v = values();
    // The terms from the server (a client without @stun/circuits), checked here against the circuit.
    const terms = await api(net.url, "POST", `/models/${modelId}/zk/escrow-terms`, { key: requester.key, json: { inputs: inputOf(v) } });
    expect(terms.status).toBe(200);
    const { taskId: id, escrowId: id32 } = terms.body as { taskId: string; escrowId: Hex };
    expect(id32).toBe(idToBytes32(id).toLowerCase());
    expect(terms.body).toMatchObject({ modelHash: modelHash.toString(), inputHash: await inputHashOf(artifacts().model, v) });
    // A model no circuit can prove: said at once.
    const softmax = await uploadModel(net.url, requester.key, buildSoftmaxModel(), "softmax");
    const unprovable = await api(net.url, "POST", `/models/${softmax}/zk/escrow-terms`, { key: requester.key, json: { inputs: inputOf(v) } });
    expect([unprovable.status, unprovable.body.error.code]).toEqual([400, "MODEL_NOT_PROVABLE"]);
    const badShape = await api(net.url, "POST", `/models/${modelId}/zk/escrow-terms`, { key: requester.key, json: { inputs: inputOf([1, 2]) } });
    expect([badShape.status, badShape.body.error.code]).toEqual([400, "INPUT_SIZE_MISMATCH"]);
    await createZkEscrow(id32, BigInt(terms.body.inputHash));
    const providerBefore = await claimable(providerWallet.account.address);
    const creatorBefore = await claimable(creatorWallet.account.address);

    const sub = await submit(v, id32);
    expect(sub.status).toBe(202);
    expect(sub.body.id).toBe(id);
    const done = await waitTask(net.url, requester.key, id, 180);
    expect(done.status).toBe("completed");
    expect(done.receipt.zk.publicSignals.at(-1)).toBe(BigInt(providerWallet.account.address).toString());
    // The ledger charged the whole escrow (what the proof is paid on chain), mirrored from system:chain.
    expect(BigInt(done.cost)).toBe(ESCROW);
    expect((await getBalances(net.db, requester.id)).balance).toBe(0n);

    const row = await eventually(
      async () => {
        const r = await db().chainEscrow.findUnique({ where: { taskId: id } });
        return r?.status === "released" ? r : undefined;
      },
      60_000,
      "zk escrow released",
    );
    expect(row.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await onChain(id32)).toMatchObject({ status: TASK_STATUS.Released, cost: ESCROW });
    const split = splitFee([{ id: "p", amount: ESCROW }]);
    expect((await claimable(providerWallet.account.address)) - providerBefore).toBe(split.providers[0]!.amount);
    expect((await claimable(creatorWallet.account.address)) - creatorBefore).toBe(split.creator);
    expect(await getLedgerBalance(net.db, "system:chain")).toBe(chainLedger);
    // Settled once: one send, and later rounds find nothing to do.
    await adapter().tick();
    expect((await db().chainEscrow.findUniqueOrThrow({ where: { taskId: id } })).attempts).toBe(1);
    await conserved();
  });

  it("refuses escrows that do not fit the zk task with stable codes, and charges nothing", async () => {
    const tasks = await db().task.count({ where: { requesterId: requester.id } });
    const chainLedger = await getLedgerBalance(net.db, "system:chain");
    const v = values();
    const hash = BigInt(await inputHashOf(artifacts().model, v));

    // Committed to another input.
    const otherInput = idToBytes32(newTaskId());
    await createZkEscrow(otherInput, hash + 1n);
    const r1 = await submit(v, otherInput);
    expect([r1.status, r1.body.error.code]).toEqual([400, "ESCROW_INVALID"]);
    expect(r1.body.error.message).toMatch(/input hash/);

    // A zk escrow for a task that is not zk; a createTask escrow for a zk task.
    const zkEscrow = idToBytes32(newTaskId());
    await createZkEscrow(zkEscrow, hash);
    const r2 = await submit(v, zkEscrow, "none");
    expect([r2.status, r2.body.error.code]).toEqual([400, "ESCROW_INVALID"]);
    const plain = await kit.createEscrow(requesterWallet, keccak256(toHex(`plain-${++n}`)), ESCROW);
    const r3 = await submit(v, plain);
    expect([r3.status, r3.body.error.code]).toEqual([400, "ESCROW_INVALID"]);

    // An id that is no task id (the proof could not bind the task the server makes).
    const notAnId = idToBytes32(`job-${++n}`);
    await createZkEscrow(notAnId, hash);
    const r4 = await submit(v, notAnId);
    expect([r4.status, r4.body.error.code]).toEqual([400, "ESCROW_INVALID"]);

    // Less than the task may cost (maxPrice 1000).
    const small = idToBytes32(newTaskId());
    await createZkEscrow(small, hash, { amount: 999n });
    const r5 = await submit(v, small);
    expect([r5.status, r5.body.error.code]).toEqual([402, "ESCROW_TOO_SMALL"]);

    expect(await db().task.count({ where: { requesterId: requester.id } })).toBe(tasks);
    expect(await getLedgerBalance(net.db, "system:chain")).toBe(chainLedger);

    // Eight submits of one zk escrow at once: one task (under the escrow's id), seven ESCROW_IN_USE.
    const all = await Promise.all(Array.from({ length: 8 }, () => submit(v, zkEscrow)));
    expect(all.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409, 409, 409, 409]);
    const won = all.find((r) => r.status === 202)!.body.id as string;
    expect(idToBytes32(won)).toBe(zkEscrow);
    expect(await db().task.count({ where: { requesterId: requester.id } })).toBe(tasks + 1);
    expect((await waitTask(net.url, requester.key, won, 180)).status).toBe("completed");
    await eventually(async () => (await db().chainEscrow.findUnique({ where: { taskId: won } }))?.status === "released", 60_000, "zk escrow released");
    // Submitted again after it ran: the task exists.
    const again = await submit(v, zkEscrow);
    expect(again.status).toBe(409);
    await conserved();
  });
});
