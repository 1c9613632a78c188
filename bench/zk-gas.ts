/**
 * On-chain verification gas of Stun's Groth16 proofs, measured on a local EVM (anvil, cancun) with
 * the real contracts and real proofs (snarkjs, development keys):
 *
 *   - the result-commitment verifier (16 outputs, 3 public signals),
 *   - a small MLP 4-8-3 (input committed, 7 public signals) — the tests' model,
 *   - the MNIST-size MLP 784-56-10 (44,530 parameters, `commitInput: false`, 14 public signals),
 *
 * each as the bare `verifyProof` (a transaction to the exported verifier) and, for the zkML models,
 * `ComputeMarketplace.settleWithProof` (escrow → provider / treasury / creator, verifier included).
 *
 *   npx tsx bench/zk-gas.ts
 *
 * The MNIST circuit needs the 2^12 development ceremony (~75 s the first time, then cached in
 * circuits/.cache/ptau). Gas is deterministic: one run is the figure.
 */
import { type Abi, type Address, type Hex, encodeFunctionData, parseEther } from "viem";
import {
  commitmentCircuit,
  compileModelCircuit,
  inputHashOf,
  proveCommitment,
  proveInference,
  quantizeToField,
  randomSalt,
  shutdownZk,
  solidityCalldata,
  solidityVerifier,
  type ModelArtifacts,
} from "@stun/circuits";
import { ETH, deployZkVerifier, computeMarketplaceAbi, deployStun, idToBytes32, registerZkVerifier, settleZkTask, zkProofArgs, zkProofArgsFromCalldata } from "@stun/contracts";
import { startAnvil } from "@stun/contracts/anvil";
import { buildMlp, mulberry32 } from "@stun/testkit";

const log = (line: string) => console.log(`  ${line}`);
const anvil = await startAnvil({ accounts: 4 });
type Wallet = (typeof anvil.wallets)[0];
const [deployer, provider, requester, creator] = anvil.wallets as [Wallet, Wallet, Wallet, Wallet];
const stun = await deployStun(deployer, {
  publicClient: anvil.publicClient,
  settlers: [deployer.account.address],
  settlerThreshold: 1n,
  timelockDelay: 60n,
  extraProposers: [deployer.account.address],
});

/** verifyProof sent as a transaction (what a contract calling it pays, plus the 21k base and calldata). */
async function verifyGas(address: Address, abi: Abi, args: readonly unknown[]): Promise<{ gas: bigint; ok: boolean }> {
  const data = encodeFunctionData({ abi, functionName: "verifyProof", args });
  const ok = (await anvil.publicClient.call({ to: address, data })).data?.endsWith("1") ?? false;
  const hash = await deployer.sendTransaction({ to: address, data, gas: 1_000_000n });
  return { gas: (await anvil.publicClient.waitForTransactionReceipt({ hash })).gasUsed, ok };
}

interface Row {
  circuit: string;
  nPublic: number;
  verifyProof: bigint;
  settleWithProof?: bigint;
  firstSettle?: bigint;
  deploy: bigint;
}
const rows: Row[] = [];

// 1. Result commitment (16 outputs).
console.log("1. result commitment (16 outputs)");
{
  const { keys } = await commitmentCircuit(16, { log });
  const outputs = quantizeToField(Array.from({ length: 10 }, (_, i) => Math.sin(i)));
  const p = await proveCommitment({ taskId: "tsk_gas_commitment_000000001", provider: provider.account.address, outputs, salt: randomSalt() });
  const v = await deployZkVerifier(deployer, anvil.publicClient, await solidityVerifier(keys.zkeyPath, "GasCommitmentVerifier"), "GasCommitmentVerifier");
  const args = await solidityCalldata(p.proof, p.publicSignals);
  const r = await verifyGas(v.address, v.abi, args);
  if (!r.ok) throw new Error("the commitment proof did not verify on chain");
  rows.push({ circuit: "result commitment (16 outputs)", nPublic: 3, verifyProof: r.gas, deploy: v.deployGas });
}

/**
 * A zkML model: bare verifier gas, then createZkTask + settleWithProof through the marketplace —
 * twice, reporting the second: the first credit to the provider's, treasury's and creator's
 * `claimable` slots costs ~50k more (zero → non-zero storage), a one-off per address and token.
 */
async function zkml(label: string, artifacts: ModelArtifacts, input: Float32Array, taskId: string) {
  const proof = await proveInference(artifacts, input, { taskId, provider: provider.account.address });
  const name = `Gas${artifacts.model.onnxSha256.slice(0, 8)}Verifier`;
  const v = await deployZkVerifier(deployer, anvil.publicClient, await solidityVerifier(artifacts.keys.zkeyPath, name), name);
  const args = zkProofArgsFromCalldata(await solidityCalldata(proof.proof, proof.publicSignals));
  const bare = await verifyGas(v.address, v.abi, args);
  if (!bare.ok) throw new Error(`${label}: the proof did not verify on chain`);
  await registerZkVerifier(deployer, {
    publicClient: anvil.publicClient,
    marketplace: stun.marketplace,
    modelHash: artifacts.modelHash,
    verifier: v.address,
    nPublic: v.nPublic,
    waitForDelay: (s) => anvil.increaseTime(s),
  });
  const settle = async (id: string, p: typeof proof) => {
    const price = parseEther("0.01");
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 30 * 86_400);
    const hash = await requester.writeContract({
      address: stun.marketplace,
      abi: computeMarketplaceAbi,
      functionName: "createZkTask",
      args: [idToBytes32(id), ETH, price, deadline, creator.account.address, BigInt(artifacts.modelHash), BigInt(await inputHashOf(artifacts.model, input))],
      value: price,
    });
    await anvil.publicClient.waitForTransactionReceipt({ hash });
    return settleZkTask(deployer, { publicClient: anvil.publicClient, marketplace: stun.marketplace, taskId: idToBytes32(id) as Hex, proof: zkProofArgs(p.proof, p.publicSignals) });
  };
  const first = await settle(taskId, proof);
  const again = `${taskId.slice(0, -1)}2`;
  const second = await settle(again, await proveInference(artifacts, input, { taskId: again, provider: provider.account.address }));
  rows.push({ circuit: label, nPublic: v.nPublic, verifyProof: bare.gas, settleWithProof: second.gasUsed, firstSettle: first.gasUsed, deploy: v.deployGas });
}

console.log("2. MLP 4-8-3 (input committed)");
{
  const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 11, batch: 1 });
  await zkml("MLP 4-8-3, input committed", await compileModelCircuit(mlp.bytes, { log }), new Float32Array([0.5, -1.25, 2, 0.75]), "tsk_gas_mlp_483_000000000001");
}

console.log("3. MNIST-size MLP 784-56-10 (commitInput: false)");
{
  const mlp = buildMlp({ inputSize: 784, hidden: [56], outputSize: 10, batch: 1, seed: 2024 });
  const rand = mulberry32(7);
  const input = Float32Array.from({ length: 784 }, () => rand());
  await zkml("MLP 784-56-10, commitInput: false", await compileModelCircuit(mlp.bytes, { commitInput: false, log }), input, "tsk_gas_mnist_0000000000001");
}

console.log("\nGas on anvil (cancun), real proofs; verifyProof as a transaction (incl. 21,000 base + calldata)\n");
console.log("| circuit | public signals | verifyProof | settleWithProof (first credit to the payees) | verifier deployment |");
console.log("|---|---:|---:|---:|---:|");
const g = (v: bigint | undefined) => v?.toLocaleString("en") ?? "–";
for (const r of rows) {
  console.log(`| ${r.circuit} | ${r.nPublic} | ${g(r.verifyProof)} | ${g(r.settleWithProof)}${r.firstSettle ? ` (${g(r.firstSettle)})` : ""} | ${g(r.deploy)} |`);
}
await shutdownZk();
await anvil.stop();
