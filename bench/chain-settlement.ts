/**
 * What settling on chain costs, under concurrency, against real components: anvil with the Stun
 * contracts (startLocalChain: automine, so a transaction is mined the moment it arrives), the real
 * server in this process with CHAIN set (PGlite with fsync on, or a PostgreSQL database of its own),
 * one native `stun-provider` process (onnxruntime-node, CPU, one slot) whose linked wallet is
 * registered in Staking, and this process as the requesters (REST: POST /tasks, then
 * GET /tasks/:id?wait=30). `--tasks` tasks of a tiny MLP, `--in-flight` outstanding at a time, in two flows:
 *
 * - escrow: each task paid from an on-chain escrow (`approve` + `createTask` by the requester's
 *   wallet, all made before the clock starts), submitted naming it; the server's EscrowSubmitter
 *   settles it with `settle` / `settleBatch` (ChainEscrow → 'confirmed').
 * - deposit: the requester deposits mUSD on chain once (credited to its Stun balance), its tasks are
 *   paid from that balance and settled on chain by the SettlementSubmitter's `settleFromDeposits`
 *   batches (ChainSettlement → 'confirmed').
 *
 * Per flow: tasks/s and p50/p90/p99 submit → completed (as the requester sees it), p50/p99
 * completed → confirmed on chain (the task's completedAt to the row's confirmation, both stamped by
 * the server), how many settle transactions were sent and their gas per settled task (receipts of
 * the rows' txHash). Also, once: the requester's gas for approve + createTask, and approve + deposit.
 * Exits non-zero when a task does not complete or a settlement is not confirmed within `--settle-timeout`.
 *
 *   npx tsx bench/chain-settlement.ts [--tasks 64] [--in-flight 8] [--db pglite|postgres] [--poll-ms 500] [--settle-timeout 120]
 *
 * `--poll-ms` is CHAIN_POLL_MS, the chain adapter's round interval (500: local mode's default).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { type Hex, keccak256, toHex, zeroAddress } from "viem";
import { accountToBytes32, computeMarketplaceAbi, mockERC20Abi, stakingAbi } from "@stun/contracts";
import { type ProviderProcess, spawnProviderProcess } from "@stun/provider-native";
import { buildMlp } from "@stun/testkit";
import { type LocalChain, startLocalChain } from "../apps/server/src/chain";
import { parseConfig } from "../apps/server/src/env";
import { getBalances } from "../apps/server/src/ledger";
import { type RunningServer, startServer } from "../apps/server/src/server";
import { createAccount, faucet } from "../apps/server/src/services/accounts";
import { stakeFunds } from "../apps/server/src/services/stake";
import { api, toJsonTensor, uploadModel, waitTask } from "../apps/server/test/support/api";
import { percentiles } from "./stats";
import { createBenchDatabase } from "./support/load";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "64" },
    "in-flight": { type: "string", default: "8" },
    db: { type: "string", default: "pglite" },
    "poll-ms": { type: "string", default: "500" },
    "settle-timeout": { type: "string", default: "120" },
  },
});
const N = Number(values.tasks);
const IN_FLIGHT = Number(values["in-flight"]);
const POLL_MS = values["poll-ms"];
const SETTLE_TIMEOUT_MS = Number(values["settle-timeout"]) * 1000;
if (values.db !== "pglite" && values.db !== "postgres") throw new Error(`--db ${values.db}: pglite or postgres`);

const PRICE = 100n;
const MAX_PRICE = 150n;
const ESCROW = 1_000n;

type Wallet = LocalChain["anvil"]["wallets"][number];

/** One flow's figures. */
interface FlowResult {
  name: string;
  submitToCompletedMs: number[];
  /** The POST /tasks alone (an escrowed submit reads the escrow on chain). */
  postMs: number[];
  completedToConfirmedMs: number[];
  /** First submit → last completed, and → last confirmed. */
  completedSecs: number;
  confirmedSecs: number;
  txs: Array<{ hash: Hex; tasks: number; gas: bigint }>;
  /** Where completed → confirmed went, when the rows stamp it (ChainSettlement: createdAt, submittedAt, confirmedAt). */
  stages?: Array<{ name: string; ms: number[] }>;
  /** Sends beyond one per task (a retried settle), and the last errors the rows noted. */
  extraAttempts: number;
  errors: string[];
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-chain-bench-"));
let chain: LocalChain | undefined;
let server: RunningServer | undefined;
let provider: ProviderProcess | undefined;
let benchDb: { url: string; drop: () => Promise<void> } | undefined;
let failed = false;

try {
  chain = await startLocalChain({ demoAccounts: 3 });
  benchDb = values.db === "postgres" ? await createBenchDatabase() : undefined;
  // One requester key per flow sends every task: the per-key rate limit is lifted, no canaries.
  server = await startServer(
    parseConfig({
      PORT: "0",
      DATA_DIR: dataDir,
      LOG_LEVEL: "error",
      CANARY_RATE: "0",
      RATE_LIMIT_PER_KEY: "0",
      STUN_FSYNC: process.env.STUN_FSYNC ?? "true",
      ...chain.env,
      CHAIN_POLL_MS: POLL_MS,
      ...(benchDb ? { DATABASE_URL: benchDb.url } : {}),
    }),
  );
  const results = await run(chain, server);
  for (const r of results) print(r);
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
} finally {
  await provider?.stop(5000).catch(() => undefined);
  await server?.close().catch(() => undefined);
  await chain?.stop().catch(() => undefined);
  await benchDb?.drop().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

async function run(chain: LocalChain, server: RunningServer): Promise<FlowResult[]> {
  const app = server.app;
  const prisma = app.db.prisma;
  const { publicClient } = chain.anvil;
  const walletOf = (address: string) => chain.anvil.wallets.find((w) => w.account.address === address)!;
  const [escrowWallet, providerWallet, depositWallet] = chain.demoAccounts.map((a) => walletOf(a.address)) as [Wallet, Wallet, Wallet];
  const link = (accountId: string, wallet: Wallet) => prisma.account.update({ where: { id: accountId }, data: { walletAddress: wallet.account.address.toLowerCase() } });
  const mined = async (hash: Promise<Hex>) => {
    const r = await publicClient.waitForTransactionReceipt({ hash: await hash });
    if (r.status !== "success") throw new Error(`transaction ${r.transactionHash} reverted`);
    return r;
  };
  const approve = (from: Wallet, amount: bigint) =>
    mined(from.writeContract({ address: chain.addresses.token, abi: mockERC20Abi, functionName: "approve", args: [chain.addresses.marketplace, amount] }));

  // The provider: staked in the ledger (paid work needs stake), its linked wallet registered in
  // Staking (`settle` pays only registered providers; the local chain's minimum stake is 0).
  const operator = await createAccount(app);
  await faucet(app, operator.accountId, 10_000_000n);
  await stakeFunds(app, operator.accountId, 10_000_000n);
  await link(operator.accountId, providerWallet);
  const staking = (await publicClient.readContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "staking" })) as Hex;
  await mined(providerWallet.writeContract({ address: staking, abi: stakingAbi, functionName: "registerProvider", args: [0n] }));
  provider = await spawnProviderProcess({
    server: server.url,
    apiKey: operator.apiKey,
    args: ["--name", "chain-bench", "--price", String(PRICE), "--threads", "1", "--cache-dir", path.join(dataDir, "cache")],
  });

  // The model's owner has no wallet: its creator share is paid on chain to the treasury.
  const creator = await createAccount(app);
  const mlp = buildMlp({ inputSize: 16, hidden: [8], outputSize: 4, seed: 5 });
  const modelId = await uploadModel(server.url, creator.apiKey, mlp.bytes, "chain-bench-mlp");
  const input = (i: number) => {
    const x = Float32Array.from({ length: 16 }, (_, j) => Math.sin(i + j));
    return { x: toJsonTensor({ dtype: "float32", dims: [1, 16], data: new Uint8Array(x.buffer) }) };
  };
  const body = (i: number, extra: Record<string, unknown> = {}) => ({ modelId, inputs: input(i), verification: { mode: "none" }, maxPrice: String(MAX_PRICE), ...extra });

  // Warm-up (model fetched and its session built by the provider), paid from faucet money: off chain.
  const warm = await createAccount(app);
  await faucet(app, warm.accountId, 10n ** 9n);
  for (let i = 0; i < 3; i++) {
    const sub = await api(server.url, "POST", "/tasks", { key: warm.apiKey, json: body(-1 - i) });
    if ((await waitTask(server.url, warm.apiKey, sub.body.id)).status !== "completed") throw new Error("warm-up task not completed");
  }

  /**
   * `N` tasks, `IN_FLIGHT` at a time (`submit(i)` sends task i), then every one's settlement watched
   * until confirmed: `confirmedAt(ids)` gives the confirmation time of those confirmed so far.
   */
  const flow = async (
    name: string,
    key: string,
    submit: (i: number) => Promise<{ status: number; body: { id: string } }>,
    confirmedAt: (ids: string[]) => Promise<Map<string, Date>>,
    rows: (ids: string[]) => Promise<Array<{ txHash: string | null; attempts: number; lastError: string | null }>>,
    stages?: (ids: string[], completedAt: Map<string, Date>) => Promise<FlowResult["stages"]>,
  ): Promise<FlowResult> => {
    const ids: string[] = [];
    const submitToCompletedMs: number[] = [];
    const postMs: number[] = [];
    let next = 0;
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < N) {
          const i = next++;
          const s = performance.now();
          const sub = await submit(i);
          postMs.push(performance.now() - s);
          if (sub.status !== 202) throw new Error(`${name}: submit ${i}: HTTP ${sub.status} ${JSON.stringify(sub.body)}`);
          const done = await waitTask(server.url, key, sub.body.id, 60);
          if (done.status !== "completed") throw new Error(`${name}: task ${sub.body.id} ended ${done.status}`);
          submitToCompletedMs.push(performance.now() - s);
          ids.push(sub.body.id);
        }
      }),
    );
    const completedSecs = (Date.now() - t0) / 1000;
    // Confirmations: polled often enough to see each row 'confirmed' well before the dispute window (60 s) releases it.
    const confirmed = new Map<string, Date>();
    const until = Date.now() + SETTLE_TIMEOUT_MS;
    while (confirmed.size < ids.length) {
      for (const [id, at] of await confirmedAt(ids.filter((id) => !confirmed.has(id)))) confirmed.set(id, at);
      if (confirmed.size === ids.length) break;
      if (Date.now() > until) {
        const stuck = (await rows(ids)).map((r) => r.lastError).filter(Boolean);
        throw new Error(
          `${name}: ${ids.length - confirmed.size} of ${ids.length} settlements not confirmed within ${SETTLE_TIMEOUT_MS / 1000} s${stuck.length ? ` (last errors: ${[...new Set(stuck)].join("; ")})` : ""}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const confirmedSecs = (Math.max(...[...confirmed.values()].map((d) => d.getTime())) - t0) / 1000;
    const tasks = await prisma.task.findMany({ where: { id: { in: ids } }, select: { id: true, completedAt: true } });
    const completedToConfirmedMs = tasks.map((t) => confirmed.get(t.id)!.getTime() - t.completedAt!.getTime());
    const completedAt = new Map(tasks.map((t) => [t.id, t.completedAt!]));
    const all = await rows(ids);
    const byTx = new Map<string, number>();
    for (const r of all) byTx.set(r.txHash!, (byTx.get(r.txHash!) ?? 0) + 1);
    const txs = await Promise.all([...byTx].map(async ([hash, n]) => ({ hash: hash as Hex, tasks: n, gas: (await publicClient.getTransactionReceipt({ hash: hash as Hex })).gasUsed })));
    return {
      name,
      submitToCompletedMs,
      postMs,
      completedToConfirmedMs,
      completedSecs,
      confirmedSecs,
      txs,
      ...(stages ? { stages: await stages(ids, completedAt) } : {}),
      extraAttempts: all.reduce((a, r) => a + r.attempts, 0) - all.length,
      errors: [...new Set(all.map((r) => r.lastError).filter((e): e is string => !!e))],
    };
  };

  // ─── escrow: createTask per task, submitted naming it ──────────────────────────────────────
  const escrowRequester = await createAccount(app);
  await link(escrowRequester.accountId, escrowWallet);
  let n = 0;
  const createEscrow = async () => {
    const id = keccak256(toHex(`chain-bench-${++n}-${Date.now()}`));
    const deadline = (await publicClient.getBlock()).timestamp + 3_600n;
    const r = await mined(
      escrowWallet.writeContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "createTask", args: [id, chain.addresses.token, ESCROW, deadline, zeroAddress] }),
    );
    return { id, gas: r.gasUsed };
  };
  // Once, as a requester pays it: approve + createTask for one escrow.
  const approveOne = await approve(escrowWallet, ESCROW);
  const first = await createEscrow();
  console.log(`# requester side, once: approve ${approveOne.gasUsed} gas + createTask ${first.gas} gas = ${approveOne.gasUsed + first.gas} gas per escrowed task`);
  // The rest under one allowance (not timed).
  await approve(escrowWallet, ESCROW * BigInt(N - 1));
  const escrows: Hex[] = [first.id];
  while (escrows.length < N) escrows.push((await createEscrow()).id);

  const escrowRows = (ids: string[]) =>
    prisma.chainEscrow.findMany({ where: { taskId: { in: ids } }, select: { taskId: true, status: true, updatedAt: true, txHash: true, attempts: true, lastError: true } });
  const escrowResult = await flow(
    "escrow",
    escrowRequester.apiKey,
    (i) => api(server.url, "POST", "/tasks", { key: escrowRequester.apiKey, json: body(i, { escrow: { taskId: escrows[i] } }) }),
    // markConfirmed stamps updatedAt; a later release would stamp it again (seen here as 'released': then late by at most one poll).
    async (ids) => new Map((await escrowRows(ids)).filter((r) => r.status === "confirmed" || r.status === "released").map((r) => [r.taskId, r.updatedAt])),
    escrowRows,
  );

  // ─── deposit: one on-chain deposit, tasks paid from the balance, settleFromDeposits ────────
  const depositRequester = await createAccount(app);
  await link(depositRequester.accountId, depositWallet);
  const depositAmount = PRICE * BigInt(N) + ESCROW;
  const approveDeposit = await approve(depositWallet, depositAmount);
  const deposited = await mined(
    depositWallet.writeContract({
      address: chain.addresses.marketplace,
      abi: computeMarketplaceAbi,
      functionName: "deposit",
      args: [chain.addresses.token, depositAmount, accountToBytes32(depositRequester.accountId)],
    }),
  );
  console.log(
    `# requester side, once: approve ${approveDeposit.gasUsed} gas + deposit ${deposited.gasUsed} gas = ${approveDeposit.gasUsed + deposited.gasUsed} gas for a deposit (any number of tasks)`,
  );
  const creditBy = Date.now() + 30_000;
  while ((await getBalances(app.db, depositRequester.accountId)).balance !== depositAmount) {
    if (Date.now() > creditBy) throw new Error("the deposit was not credited within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  const settlementRows = (ids: string[]) =>
    prisma.chainSettlement.findMany({ where: { taskId: { in: ids } }, select: { taskId: true, status: true, confirmedAt: true, txHash: true, attempts: true, lastError: true } });
  const depositResult = await flow(
    "deposit",
    depositRequester.apiKey,
    (i) => api(server.url, "POST", "/tasks", { key: depositRequester.apiKey, json: body(N + i) }),
    async (ids) => {
      const rows = await settlementRows(ids);
      const off = rows.find((r) => r.status === "offchain" || r.status === "failed");
      if (off) throw new Error(`deposit: task ${off.taskId} settled ${off.status} (${off.lastError ?? ""})`);
      return new Map(rows.filter((r) => r.confirmedAt !== null).map((r) => [r.taskId, r.confirmedAt!]));
    },
    settlementRows,
    async (ids, completedAt) => {
      const rows = await prisma.chainSettlement.findMany({ where: { taskId: { in: ids } }, select: { taskId: true, createdAt: true, submittedAt: true, confirmedAt: true } });
      const gap = (f: (r: (typeof rows)[number]) => number) => rows.map(f);
      return [
        { name: "completed → row written (enqueue)", ms: gap((r) => r.createdAt.getTime() - completedAt.get(r.taskId)!.getTime()) },
        { name: "row written → settleFromDeposits sent", ms: gap((r) => r.submittedAt!.getTime() - r.createdAt.getTime()) },
        { name: "sent → confirmed (next round's receipt)", ms: gap((r) => r.confirmedAt!.getTime() - r.submittedAt!.getTime()) },
      ];
    },
  );
  return [escrowResult, depositResult];
}

function print(r: FlowResult): void {
  const c = percentiles(r.submitToCompletedMs);
  const s = percentiles(r.completedToConfirmedMs);
  const post = percentiles(r.postMs);
  const gas = r.txs.reduce((a, t) => a + t.gas, 0n);
  const n = r.submitToCompletedMs.length;
  const perTx = r.txs.map((t) => t.tasks);
  console.log(
    `\n## ${r.name}: ${n} tasks, ${IN_FLIGHT} in flight, ${os.cpus().length} cores, ${server!.app.db.kind}, CHAIN_POLL_MS ${POLL_MS}\n` +
      `| figure | value |\n|---|---|\n` +
      `| tasks/s, submit → completed | ${(n / r.completedSecs).toFixed(1)} |\n` +
      `| submit → completed p50 / p90 / p99 | ${c.p50.toFixed(0)} / ${c.p90.toFixed(0)} / ${c.p99.toFixed(0)} ms |\n` +
      `| of which POST /tasks p50 / p99 | ${post.p50.toFixed(0)} / ${post.p99.toFixed(0)} ms |\n` +
      `| tasks/s, first submit → last confirmed on chain | ${(n / r.confirmedSecs).toFixed(1)} |\n` +
      `| completed → confirmed p50 / p99 (max) | ${s.p50.toFixed(0)} / ${s.p99.toFixed(0)} (${s.max.toFixed(0)}) ms |\n` +
      `| settle transactions | ${r.txs.length} (tasks per tx ${Math.min(...perTx)}–${Math.max(...perTx)}, mean ${(n / r.txs.length).toFixed(1)}) |\n` +
      (r.stages ?? []).map((g) => `| … ${g.name} p50 / p99 | ${percentiles(g.ms).p50.toFixed(0)} / ${percentiles(g.ms).p99.toFixed(0)} ms |\n`).join("") +
      `| gas per settled task | ${(gas / BigInt(n)).toString()} (${(gas / BigInt(r.txs.length)).toString()} per tx) |\n` +
      `| gas by tasks per tx | ${[...new Map(r.txs.map((t) => [t.tasks, t.gas])).entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([k, g]) => `${k}: ${g}`)
        .join(", ")} |\n` +
      `| extra sends (retries) | ${r.extraAttempts}${r.errors.length ? ` — ${r.errors.join("; ")}` : ""} |`,
  );
}
