/**
 * Gas report: deploys the Stun stack on a fresh anvil and prints the gas each marketplace and
 * staking operation uses (transaction gasUsed, intrinsic gas and calldata included), as a Markdown
 * table, and next to it each contract's deployed bytecode size and its headroom under EIP-170.
 *
 * Figures are for the steady state: one warm-up round runs first, so the accounts already hold
 * token balances and claimable credits (their storage slots are non-zero), as on a live network;
 * a credit to an account whose claimable balance in that token is zero costs ~17,100 gas more
 * (a fresh storage slot). Settlements carry 2 of 3 settler signatures.
 *
 * `settleWithProof` is measured with a real Groth16 proof of @stun/testkit's MLP 4-8-3 (compiled by
 * @stun/circuits on its development keys: ~1 min the first time, cached after).
 *
 * Usage: `npx tsx contracts/scripts/gas-report.ts` (`npm run gas -w @stun/contracts`).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileModelCircuit, exportModelVerifier, inputHashOf, proveInference, shutdownZk } from "@stun/circuits";
import { buildMlp } from "@stun/testkit";
import { type Address, type Hex, type TransactionReceipt, getContract, keccak256, parseEther, parseEventLogs, toHex, zeroAddress } from "viem";
import { startAnvil } from "../src-ts/anvil";
import {
  type DepositSettlement,
  ETH,
  type Settlement,
  idToBytes32,
  computeMarketplaceAbi,
  deployMockToken,
  deployStun,
  marketplaceDomain,
  mockERC20Abi,
  signDepositSettlements,
  signDepositWithdrawal,
  signDispute,
  signSettlement,
  signSettlementBatch,
  signSlash,
  stakingAbi,
  stunTokenAbi,
  deployZkVerifier,
  registerZkVerifier,
  zkProofArgs,
} from "../src-ts";
import { EIP170_LIMIT, SETTINGS, SIZE_HEADROOM, compile, deployedSize, staleGeneratedFiles } from "./compile";

const BATCH = 10;

async function main() {
  const artifacts = compile({ quiet: true });
  if (staleGeneratedFiles(artifacts).length > 0) throw new Error("src-ts/generated is stale: run npm run compile -w @stun/contracts first");

  const chain = await startAnvil({ accounts: 10 });
  try {
    const account = (i: number) => chain.accounts[i] as (typeof chain.accounts)[number];
    const [deployer, s1, s2, s3, treasury, requester, p1, p2, p3, creator] = Array.from({ length: 10 }, (_, i) => account(i));
    const wallet = (address: Address) => chain.wallets.find((w) => w.account.address === address)!;
    const settlers = [s1!, s2!, s3!];
    const usd = await deployMockToken(chain.wallets[0]!, chain.publicClient);
    const d = await deployStun(chain.wallets[0]!, {
      publicClient: chain.publicClient,
      settlers: settlers.map((s) => s.address),
      settlerThreshold: 2n,
      treasury: treasury!.address,
      disputeWindow: 3_600n,
      unbondingDelay: 3_600n,
      allowedTokens: [usd],
      extraProposers: [deployer!.address], // registers the zkML verifier through the timelock
    });
    const domain = marketplaceDomain(chain.chain.id, d.marketplace);
    const market = (who: Address) => getContract({ address: d.marketplace, abi: computeMarketplaceAbi, client: { public: chain.publicClient, wallet: wallet(who) } });
    const mined = async (hash: Promise<Hex>): Promise<TransactionReceipt> => {
      const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: await hash });
      if (receipt.status !== "success") throw new Error("transaction reverted");
      return receipt;
    };
    const staking = (who: Address) => getContract({ address: d.staking, abi: stakingAbi, client: { public: chain.publicClient, wallet: wallet(who) } });
    const stun = (who: Address) => getContract({ address: d.token, abi: stunTokenAbi, client: { public: chain.publicClient, wallet: wallet(who) } });
    const musd = (who: Address) => getContract({ address: usd, abi: mockERC20Abi, client: { public: chain.publicClient, wallet: wallet(who) } });

    for (const who of [requester!, p1!, p2!, p3!]) {
      await mined(stun(deployer!.address).write.transfer([who.address, parseEther("1000000")]));
      await mined(musd(deployer!.address).write.mint([who.address, 10n ** 15n]));
      await mined(stun(who.address).write.approve([d.marketplace, 2n ** 256n - 1n]));
      await mined(stun(who.address).write.approve([d.staking, 2n ** 256n - 1n]));
      await mined(musd(who.address).write.approve([d.marketplace, 2n ** 256n - 1n]));
    }

    // A zkML model and its verifier (what settleWithProof checks proofs against).
    const model = await compileModelCircuit(buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 11 }).bytes);
    const tmp = mkdtempSync(join(tmpdir(), "stun-gas-verifier-"));
    const source = readFileSync(await exportModelVerifier(model, "GasMlpVerifier", tmp), "utf8");
    rmSync(tmp, { recursive: true, force: true });
    const verifier = await deployZkVerifier(wallet(deployer!.address), chain.publicClient, source, "GasMlpVerifier");
    await registerZkVerifier(wallet(deployer!.address), {
      publicClient: chain.publicClient,
      marketplace: d.marketplace,
      modelHash: model.modelHash,
      verifier: verifier.address,
      nPublic: verifier.nPublic,
      waitForDelay: (seconds) => chain.increaseTime(seconds),
    });
    const zkInput = [0.75, -1.5, 2.25, 0.3];
    const zkInputHash = BigInt(await inputHashOf(model.model, zkInput));

    const rows: Array<[string, bigint | string]> = [];
    const providers = [p1!.address, p2!.address, p3!.address];
    let n = 0;
    const newId = () => keccak256(toHex(`gas-${n++}`));
    const deadline = async () => (await chain.now()) + 86_400n;
    const settleOf = (taskId: Hex, k: number): Settlement => ({
      taskId,
      resultDigest: keccak256(taskId),
      providers: providers.slice(0, k),
      amounts: providers.slice(0, k).map(() => 300n),
    });
    const payoutOf = (receipt: TransactionReceipt) => parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "TaskSettled" }).map((l) => l.args.payout);

    for (const round of ["warm-up", "measured"] as const) {
      const record = (label: string, receipt: TransactionReceipt | bigint | string) => {
        if (round === "measured") rows.push([label, typeof receipt === "object" ? receipt.gasUsed : receipt]);
      };
      const r = requester!.address;
      if (round === "warm-up") {
        for (const p of providers) await mined(staking(p).write.registerProvider([parseEther("1000")]));
      } else {
        const fresh = chain.accounts[0]!.address; // the deployer registers as a provider only now
        await mined(stun(fresh).write.approve([d.staking, 2n ** 256n - 1n]));
        record("registerProvider (Staking)", await mined(staking(fresh).write.registerProvider([parseEther("1000")])));
        record("addStake (Staking)", await mined(staking(p1!.address).write.addStake([parseEther("1")])));
      }

      const erc20Task = newId();
      record("createTask (ERC-20)", await mined(market(r).write.createTask([erc20Task, usd, 1_000n, await deadline(), creator!.address])));
      const ethTask = newId();
      record("createTask (ETH)", await mined(market(r).write.createTask([ethTask, ETH, 1_000n, await deadline(), creator!.address], { value: 1_000n })));

      const s1p = settleOf(erc20Task, 1);
      const settled1 = await mined(market(r).write.settle([s1p, await signSettlement(settlers.slice(0, 2), domain, s1p)]));
      record("settle (1 provider, 2-of-3 signatures)", settled1);
      const s3p = settleOf(ethTask, 3);
      const settled3 = await mined(market(r).write.settle([s3p, await signSettlement(settlers.slice(0, 2), domain, s3p)]));
      record("settle (3 providers)", settled3);

      const batchIds: Hex[] = [];
      for (let i = 0; i < BATCH; i++) {
        const id = newId();
        await mined(market(r).write.createTask([id, usd, 1_000n, await deadline(), creator!.address]));
        batchIds.push(id);
      }
      const batch = batchIds.map((id) => settleOf(id, 1));
      const batchReceipt = await mined(market(r).write.settleBatch([batch, await signSettlementBatch(settlers.slice(0, 2), domain, batch)]));
      record(`settleBatch (${BATCH} tasks, 1 provider each)`, batchReceipt);
      record("settleBatch, per task", `${batchReceipt.gasUsed / BigInt(BATCH)}`);

      const disputed = newId();
      await mined(market(r).write.createTask([disputed, usd, 1_000n, await deadline(), creator!.address]));
      const sd = settleOf(disputed, 1);
      await mined(market(r).write.settle([sd, await signSettlement(settlers.slice(0, 2), domain, sd)]));
      record("dispute", await mined(market(r).write.dispute([disputed, await signDispute(settlers.slice(0, 2), domain, disputed, sd.resultDigest)])));

      const refunded = newId();
      await mined(market(r).write.createTask([refunded, usd, 1_000n, (await chain.now()) + 60n, zeroAddress]));
      await chain.increaseTime(3_601n);
      record("refund", await mined(market(r).write.refund([refunded])));
      record("release (1 provider)", await mined(market(r).write.release([erc20Task, payoutOf(settled1)[0]!])));
      record("release (3 providers)", await mined(market(r).write.release([ethTask, payoutOf(settled3)[0]!])));
      const batchPayouts = payoutOf(batchReceipt);
      const releaseBatch = await mined(market(r).write.releaseBatch([batchIds, batchPayouts]));
      record(`releaseBatch (${BATCH} tasks), per task`, `${releaseBatch.gasUsed / BigInt(BATCH)}`);

      // Deposits of a Stun account, spent task by task (settleFromDeposits), and withdrawn.
      const account = idToBytes32("acc_gasreport000000000000000");
      record("deposit (ERC-20)", await mined(market(r).write.deposit([usd, 100_000n, account])));
      record("deposit (ETH)", await mined(market(r).write.deposit([ETH, 1_000n, account], { value: 1_000n })));
      const fromDeposit = (k: number): DepositSettlement => {
        const taskId = newId();
        return {
          taskId,
          resultDigest: keccak256(taskId),
          account,
          token: usd,
          modelCreator: creator!.address,
          providers: providers.slice(0, k),
          amounts: providers.slice(0, k).map(() => 300n),
        };
      };
      const one = [fromDeposit(1)];
      const dep1 = await mined(market(r).write.settleFromDeposits([one, await signDepositSettlements(settlers.slice(0, 2), domain, one)]));
      record("settleFromDeposits (1 task, 1 provider)", dep1);
      const three = [fromDeposit(3)];
      record("settleFromDeposits (1 task, 3 providers)", await mined(market(r).write.settleFromDeposits([three, await signDepositSettlements(settlers.slice(0, 2), domain, three)])));
      const depBatch = Array.from({ length: BATCH }, () => fromDeposit(1));
      const depBatchReceipt = await mined(market(r).write.settleFromDeposits([depBatch, await signDepositSettlements(settlers.slice(0, 2), domain, depBatch)]));
      record(`settleFromDeposits (${BATCH} tasks, 1 provider each)`, depBatchReceipt);
      record("settleFromDeposits, per task", `${depBatchReceipt.gasUsed / BigInt(BATCH)}`);
      const w = { account, token: usd, amount: 1_000n, to: r, nonce: newId(), deadline: (await chain.now()) + 3_600n };
      record("withdrawDeposit", await mined(market(r).write.withdrawDeposit([w, await signDepositWithdrawal(settlers.slice(0, 2), domain, w)])));
      await chain.increaseTime(3_601n);
      record("release (a task paid from a deposit, 1 provider)", await mined(market(r).write.release([one[0]!.taskId, payoutOf(dep1)[0]!])));

      // A zk task in ETH, settled by anyone with a proof (the provider, treasury and creator hold ETH credits).
      const zkId = `tsk_gas_report_zk_${round}`;
      const zkTask = idToBytes32(zkId);
      record("createZkTask (ETH)", await mined(market(r).write.createZkTask([zkTask, ETH, 1_000n, await deadline(), creator!.address, BigInt(model.modelHash), zkInputHash], { value: 1_000n })));
      const zkProof = await proveInference(model, zkInput, { taskId: zkId, provider: p1!.address });
      record(`settleWithProof (MLP 4-8-3, ${verifier.nPublic} public signals)`, await mined(market(r).write.settleWithProof([zkTask, ...zkProofArgs(zkProof.proof, zkProof.publicSignals)])));

      if (round === "measured") {
        // (Not in the warm-up, so that every credit above lands on a non-zero balance.)
        record("withdraw (ERC-20)", await mined(market(p1!.address).write.withdraw([usd])));
        record("withdraw (ETH)", await mined(market(p1!.address).write.withdraw([ETH])));
      }

      const order = { provider: p2!.address, amount: 10n, beneficiary: r, beneficiaryAmount: 4n, nonce: newId() };
      record("slash (takes the stake from Staking)", await mined(market(r).write.slash([order, await signSlash(settlers.slice(0, 2), domain, order)])));
      record("requestUnstake (Staking)", await mined(staking(p3!.address).write.requestUnstake([1n])));
      await chain.increaseTime(3_601n);
      record("withdrawStake (Staking)", await mined(staking(p3!.address).write.withdrawStake()));
    }

    const compiler = `solc 0.8.30, ${SETTINGS.viaIR ? "via IR, " : ""}optimizer ${SETTINGS.optimizer.runs} runs, evm ${SETTINGS.evmVersion}`;
    console.log(`ComputeMarketplace and Staking gas (${compiler}; anvil ${chain.chain.id}):\n`);
    console.log("| operation | gas |\n|---|---:|");
    for (const [label, gas] of rows) console.log(`| ${label} | ${BigInt(gas).toLocaleString("en-US")} |`);
    const fmt = (n: number) => n.toLocaleString("en-US");
    console.log(`\nDeployed bytecode (EIP-170 limit ${fmt(EIP170_LIMIT)} bytes; every contract keeps ≥ ${fmt(SIZE_HEADROOM)} bytes of headroom):\n`);
    console.log("| contract | deployed bytes | headroom |\n|---|---:|---:|");
    for (const [name, a] of [...artifacts].filter(([, a]) => !a.sourceName.startsWith("test/"))) {
      console.log(`| ${name} | ${fmt(deployedSize(a))} | ${fmt(EIP170_LIMIT - deployedSize(a))} |`);
    }
  } finally {
    await chain.stop();
    await shutdownZk();
  }
}

await main();
