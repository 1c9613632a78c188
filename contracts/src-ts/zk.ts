/**
 * Settlement of zk tasks with a zkML proof (ComputeMarketplace.createZkTask / settleWithProof):
 * the encodings the contract checks, compiling and deploying a model's snarkjs-exported Groth16
 * verifier, registering it (directly or through the timelock), and submitting a proof.
 *
 * Public signals of Stun's zkML circuit (@stun/circuits), in order:
 * `[modelHash, inputHash, out_0 … out_{m−1}, taskId, provider]`, where `taskId` is
 * {@link zkTaskField} of the task's bytes32 id (= circuits' `taskIdToField(stunId)`) and `provider`
 * the paid EVM address as an integer (= circuits' `addressToField("0x…")`).
 */
import { type Abi, type Address, type Hex, type PublicClient, encodeFunctionData, encodePacked, getAddress, hexToBytes, keccak256, parseEventLogs, sha256, zeroHash } from "viem";
import type { DeployWalletClient } from "./deploy";
import { computeMarketplaceAbi, timelockControllerAbi } from "./generated";

/** The snarkjs Groth16 proof JSON (what `proveInference` / `groth16.fullProve` return). */
export interface SnarkjsProof {
  pi_a: readonly string[];
  pi_b: readonly (readonly string[])[];
  pi_c: readonly string[];
}

/** `settleWithProof`'s arguments after the task id. */
export type ZkProofArgs = readonly [pA: readonly [bigint, bigint], pB: readonly [readonly [bigint, bigint], readonly [bigint, bigint]], pC: readonly [bigint, bigint], pubSignals: readonly bigint[]];

/**
 * The field element a proof must bind as its task id for the task `taskId` (bytes32): sha256 of the
 * id's bytes without the trailing zeros (the Stun id `idToBytes32` padded), first 31 bytes, as an
 * integer — `ZkProofChecker.taskField` on chain, circuits' `taskIdToField(stunId)` off chain.
 */
export function zkTaskField(taskId: Hex): bigint {
  const bytes = hexToBytes(taskId, { size: 32 });
  let len = 32;
  while (len > 0 && bytes[len - 1] === 0) len--;
  return BigInt(sha256(bytes.subarray(0, len))) >> 8n;
}

/** A provider's EVM address as the proof's provider signal. */
export function zkProviderField(provider: Address): bigint {
  return BigInt(getAddress(provider));
}

/** keccak256 of the output signals (publicSignals[2 … n−3], 32 bytes each): the `resultDigest` of a settlement with a proof. */
export function zkResultDigest(publicSignals: readonly (string | bigint)[]): Hex {
  if (publicSignals.length < 5) throw new Error(`a zkML proof has at least 5 public signals, got ${publicSignals.length}`);
  const outputs = publicSignals.slice(2, -2).map((s) => BigInt(s));
  return keccak256(encodePacked(["uint256[]"], [outputs]));
}

/**
 * The Solidity arguments of a snarkjs proof (the same as snarkjs' `exportSolidityCallData` /
 * circuits' `solidityCalldata`: pB's coordinates swapped to the precompile's order).
 */
export function zkProofArgs(proof: SnarkjsProof, publicSignals: readonly (string | bigint)[]): ZkProofArgs {
  const n = (v: string | undefined) => {
    if (v === undefined) throw new Error("malformed Groth16 proof");
    return BigInt(v);
  };
  const [a, b, c] = [proof.pi_a, proof.pi_b, proof.pi_c];
  return [
    [n(a[0]), n(a[1])],
    [
      [n(b[0]?.[1]), n(b[0]?.[0])],
      [n(b[1]?.[1]), n(b[1]?.[0])],
    ],
    [n(c[0]), n(c[1])],
    publicSignals.map((s) => BigInt(s)),
  ];
}

/** {@link zkProofArgs} from the output of circuits' `solidityCalldata(proof, publicSignals)` ([pA, pB, pC, pubSignals], hex strings). */
export function zkProofArgsFromCalldata(calldata: readonly unknown[]): ZkProofArgs {
  const [a, b, c, s] = calldata as [string[], string[][], string[], string[]];
  const big = (v: string | undefined) => BigInt(v ?? NaN);
  return [
    [big(a[0]), big(a[1])],
    [
      [big(b[0]?.[0]), big(b[0]?.[1])],
      [big(b[1]?.[0]), big(b[1]?.[1])],
    ],
    [big(c[0]), big(c[1])],
    s.map((v) => BigInt(v)),
  ];
}

export interface CompiledZkVerifier {
  contractName: string;
  abi: Abi;
  bytecode: Hex;
  /** Its number of public signals (the N of `uint[N] _pubSignals`). */
  nPublic: number;
}

/**
 * Compiles a snarkjs-exported Groth16 verifier (circuits' `exportModelVerifier` writes one) with the
 * contracts' solc-js (the `solc` package, loaded on first use), optimizer on. `contractName`: the
 * contract in `source` (default: the first `contract X`).
 */
export async function compileZkVerifier(source: string, contractName?: string): Promise<CompiledZkVerifier> {
  const name = contractName ?? /\bcontract\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(source)?.[1];
  if (!name) throw new Error("no contract in the verifier source");
  // Node only, loaded on first use (the rest of this module also runs in a browser).
  const { createRequire } = await import("node:module");
  const require = createRequire(import.meta.url);
  const solc = require("solc") as { compile(input: string): string };
  const input = {
    language: "Solidity",
    sources: { [`${name}.sol`]: { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: Array<{ severity: string; formattedMessage: string }>;
    contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(`solc failed on ${name}:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  const c = output.contracts?.[`${name}.sol`]?.[name];
  if (!c) throw new Error(`solc produced no contract ${name}`);
  const verify = c.abi.find((i) => i.type === "function" && i.name === "verifyProof");
  const last = verify && "inputs" in verify ? verify.inputs[verify.inputs.length - 1]?.type : undefined;
  const nPublic = Number(/^uint256\[(\d+)\]$/.exec(last ?? "")?.[1]);
  if (!Number.isInteger(nPublic)) throw new Error(`${name} has no verifyProof(uint[2],uint[2][2],uint[2],uint[N])`);
  return { contractName: name, abi: c.abi, bytecode: `0x${c.evm.bytecode.object}`, nPublic };
}

/**
 * Compiles ({@link compileZkVerifier}) and deploys a model's verifier; returns its address, nPublic
 * and ABI, and the deployment's gas.
 */
export async function deployZkVerifier(
  walletClient: DeployWalletClient,
  publicClient: PublicClient,
  source: string,
  contractName?: string,
): Promise<{ address: Address; nPublic: number; contractName: string; abi: Abi; deployGas: bigint }> {
  const compiled = await compileZkVerifier(source, contractName);
  const hash = await walletClient.deployContract({ abi: compiled.abi, bytecode: compiled.bytecode, args: [] } as Parameters<DeployWalletClient["deployContract"]>[0]);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`verifier deployment failed (tx ${hash})`);
  return { address: getAddress(receipt.contractAddress), nPublic: compiled.nPublic, contractName: compiled.contractName, abi: compiled.abi, deployGas: receipt.gasUsed };
}

export interface RegisterZkVerifierOptions {
  publicClient: PublicClient;
  marketplace: Address;
  /** The model hash (publicSignals[0], decimal string or bigint). */
  modelHash: string | bigint;
  /** The verifier (address(0): remove) and its number of public signals. */
  verifier: Address;
  nPublic: number;
  /**
   * When the marketplace's owner is a TimelockController (deployStun) and the wallet may propose to
   * it (deployStun's `extraProposers`, e.g. local mode): called with the timelock's delay between
   * schedule and execute — e.g. anvil's `increaseTime`. Default: wait it out in real time.
   */
  waitForDelay?: (seconds: bigint) => Promise<void>;
}

/**
 * `setZkVerifier(modelHash, verifier, nPublic)` on the marketplace: directly when the wallet owns
 * it, else through its owner, a TimelockController (schedule, wait the delay, execute). For a
 * production deployment the call goes through a governance proposal instead.
 */
export async function registerZkVerifier(walletClient: DeployWalletClient, opts: RegisterZkVerifierOptions): Promise<void> {
  const { publicClient, marketplace } = opts;
  const confirm = async (hash: Hex) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction reverted (tx ${hash})`);
  };
  const args = [BigInt(opts.modelHash), opts.verifier, opts.nPublic] as const;
  const owner = await publicClient.readContract({ address: marketplace, abi: computeMarketplaceAbi, functionName: "owner" });
  if (getAddress(owner) === getAddress(walletClient.account.address)) {
    await confirm(await walletClient.writeContract({ address: marketplace, abi: computeMarketplaceAbi, functionName: "setZkVerifier", args }));
    return;
  }
  const data = encodeFunctionData({ abi: computeMarketplaceAbi, functionName: "setZkVerifier", args });
  const salt = keccak256(encodePacked(["bytes", "uint256"], [data, BigInt(Date.now())]));
  const delay = await publicClient.readContract({ address: owner, abi: timelockControllerAbi, functionName: "getMinDelay" });
  const op = [marketplace, 0n, data, zeroHash, salt] as const;
  await confirm(await walletClient.writeContract({ address: owner, abi: timelockControllerAbi, functionName: "schedule", args: [...op, delay] }));
  await (opts.waitForDelay ?? ((s: bigint) => new Promise<void>((r) => setTimeout(r, Number(s) * 1000 + 1000))))(delay);
  await confirm(await walletClient.writeContract({ address: owner, abi: timelockControllerAbi, functionName: "execute", args: op }));
}

/**
 * {@link deployZkVerifier} then {@link registerZkVerifier}: deploys the verifier of the model whose
 * circuit publishes `modelHash` from its Solidity source (circuits' `exportModelVerifier`) and
 * registers it on the marketplace with its nPublic. Returns the verifier's address and nPublic.
 */
export async function deployAndRegisterZkVerifier(
  walletClient: DeployWalletClient,
  opts: Omit<RegisterZkVerifierOptions, "verifier" | "nPublic"> & { source: string; contractName?: string },
): Promise<{ address: Address; nPublic: number; contractName: string }> {
  const deployed = await deployZkVerifier(walletClient, opts.publicClient, opts.source, opts.contractName);
  await registerZkVerifier(walletClient, { ...opts, verifier: deployed.address, nPublic: deployed.nPublic });
  return deployed;
}

/** What {@link settleZkTask} returns: the `TaskSettledWithProof` log's values and the gas used. */
export interface ZkSettlement {
  provider: Address;
  modelHash: bigint;
  cost: bigint;
  resultDigest: Hex;
  gasUsed: bigint;
  transactionHash: Hex;
}

/**
 * Submits `settleWithProof(taskId, proof)` from any wallet (the proof is the evidence; the provider
 * bound in the proof is paid, not the sender) and waits for it. Throws (viem's decoded custom error,
 * e.g. `InvalidProof`, `ProofTaskMismatch`) when the marketplace refuses the proof.
 */
export async function settleZkTask(walletClient: DeployWalletClient, opts: { publicClient: PublicClient; marketplace: Address; taskId: Hex; proof: ZkProofArgs }): Promise<ZkSettlement> {
  const { publicClient, marketplace, taskId, proof } = opts;
  const { request } = await publicClient.simulateContract({
    address: marketplace,
    abi: computeMarketplaceAbi,
    functionName: "settleWithProof",
    args: [taskId, ...proof],
    account: walletClient.account,
  });
  const hash = await walletClient.writeContract(request);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`settleWithProof reverted (tx ${hash})`);
  const [log] = parseEventLogs({ abi: computeMarketplaceAbi, logs: receipt.logs, eventName: "TaskSettledWithProof" });
  if (!log) throw new Error(`no TaskSettledWithProof in tx ${hash}`);
  return { ...log.args, gasUsed: receipt.gasUsed, transactionHash: hash };
}
