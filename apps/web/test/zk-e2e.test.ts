/**
 * Issue 5's end-to-end path: a zk task on a small MLP (4-8-3) is proven by a native provider (a
 * real `stun-provider` process) and then by a browser provider (the Contribute tab in Chromium,
 * snarkjs in its Web Worker); the server verifies each proof before accepting and pays the provider
 * on its ledger; the proof on the receipt then settles the requester's on-chain escrow on a local
 * EVM (anvil, the real contracts): ComputeMarketplace checks it with the model's exported Groth16
 * verifier and credits the provider's wallet — the address the proof binds — without any settler.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { type Address, parseEther } from "viem";
import { buildMlp } from "@stun/testkit";
import { compileModelCircuit, inputHashOf, shutdownZk, solidityVerifier, type ModelArtifacts } from "@stun/circuits";
import { ETH, computeMarketplaceAbi, deployAndRegisterZkVerifier, deployStun, idToBytes32, settleZkTask, zkProofArgs, type StunDeployment } from "@stun/contracts";
import { type Anvil, startAnvil } from "@stun/contracts/anvil";
import { api, float32Of, toJsonTensor, waitTask, waitZkReady } from "../../server/test/support/api";
import { launchBrowser, type TestBrowser } from "./support/browser";
import { eventually, startWebNetwork, type TestNetwork } from "./support/network";

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 11, batch: 1 });
const PRICE = parseEther("0.01");

describe("zk tasks end to end: native and browser provers, verified by the server and on chain", () => {
  let net: TestNetwork;
  let anvil: Anvil;
  let stun: StunDeployment;
  let browser: TestBrowser;
  let modelId: string;
  let artifacts: ModelArtifacts;
  let providerWallet: Address;

  const claimable = (who: Address) => anvil.publicClient.readContract({ address: stun.marketplace, abi: computeMarketplaceAbi, functionName: "claimable", args: [ETH, who] });

  /**
   * The requester's zk task: submitted to the marketplace server, and its escrow put on chain under
   * the same id with the terms the proof must meet (the model's hash, the input's hash).
   */
  async function submitAndEscrow(input: Float32Array): Promise<string> {
    const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(input.buffer.slice(0)) });
    const res = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: { x }, verification: { mode: "zk" }, maxPrice: "100" } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const taskId = res.body.id as string;
    const requester = anvil.wallets[2]!;
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
    const hash = await requester.writeContract({
      address: stun.marketplace,
      abi: computeMarketplaceAbi,
      functionName: "createZkTask",
      args: [idToBytes32(taskId), ETH, PRICE, deadline, anvil.accounts[3]!.address, BigInt(artifacts.modelHash), BigInt(await inputHashOf(artifacts.model, input))],
      value: PRICE,
    });
    expect((await anvil.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
    return taskId;
  }

  /** The server's answer, then the chain's: anyone (here an outsider) submits the receipt's proof. */
  async function expectVerifiedAndPaid(taskId: string, input: Float32Array) {
    const done = await waitTask(net.url, net.apiKey, taskId, 120);
    expect(done.error).toBeUndefined();
    expect(done.status).toBe("completed");
    expect(done.receipt.qa.check).toBe("proof");
    const y = float32Of(done.outputs[mlp.outputName]);
    const ref = mlp.forward(input, 1);
    ref.forEach((v, i) => expect(Math.abs(y[i]! - v)).toBeLessThan(1e-3));
    // The server's ledger paid the provider account (80% of price + proving fee).
    expect(BigInt(done.receipt.providers[0].paid)).toBeGreaterThan(0n);

    const before = await claimable(providerWallet);
    const outsider = anvil.wallets[4]!;
    const settled = await settleZkTask(outsider, {
      publicClient: anvil.publicClient,
      marketplace: stun.marketplace,
      taskId: idToBytes32(taskId),
      proof: zkProofArgs(done.receipt.zk.proof, done.receipt.zk.publicSignals),
    });
    expect(settled.provider.toLowerCase()).toBe(providerWallet.toLowerCase());
    expect(settled.cost).toBe(PRICE);
    // 80% to the provider's wallet, claimable now (no dispute window for a proven result).
    expect((await claimable(providerWallet)) - before).toBe((PRICE * 8000n) / 10000n);
    // The same proof cannot settle the task twice.
    await expect(
      settleZkTask(outsider, {
        publicClient: anvil.publicClient,
        marketplace: stun.marketplace,
        taskId: idToBytes32(taskId),
        proof: zkProofArgs(done.receipt.zk.proof, done.receipt.zk.publicSignals),
      }),
    ).rejects.toThrow();
    return done;
  }

  beforeAll(async () => {
    anvil = await startAnvil({ accounts: 5 });
    const deployer = anvil.wallets[0]!;
    stun = await deployStun(deployer, {
      publicClient: anvil.publicClient,
      settlers: [anvil.accounts[0]!.address],
      settlerThreshold: 1n,
      timelockDelay: 60n,
      extraProposers: [anvil.accounts[0]!.address],
    });
    net = await startWebNetwork({ providers: 0, env: { ZK_FEE_PER_1K_CONSTRAINTS: "5" } });
    // The provider account's linked wallet is the address its proofs bind, and the chain pays.
    providerWallet = anvil.accounts[1]!.address;
    await net.db.prisma.account.update({ where: { id: net.providerAccountId }, data: { walletAddress: providerWallet.toLowerCase() } });

    const up = await api(net.url, "POST", "/models", { key: net.apiKey, bytes: mlp.bytes });
    modelId = up.body.id;
    const status = await waitZkReady(net.url, net.apiKey, modelId);
    // The verifier deployed on chain is the one of the server's keys (the development ceremony is
    // reproducible: the same circuit gives the same proving key here and on the server).
    artifacts = await compileModelCircuit(mlp.bytes);
    expect(artifacts.modelHash).toBe(status.modelHash);
    expect(createHash("sha256").update(readFileSync(artifacts.keys.zkeyPath)).digest("hex")).toBe(status.circuitHash);
    await deployAndRegisterZkVerifier(deployer, {
      publicClient: anvil.publicClient,
      marketplace: stun.marketplace,
      modelHash: artifacts.modelHash,
      source: await solidityVerifier(artifacts.keys.zkeyPath, "Mlp483Verifier"),
      waitForDelay: (s) => anvil.increaseTime(s),
    });
    browser = await launchBrowser();
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    await net?.close();
    await anvil?.stop();
    await shutdownZk();
  });

  it("a native provider proves; the server accepts the proof and the chain pays the provider's wallet", async () => {
    const native = await net.addProvider({ name: "native-prover" });
    const input = new Float32Array([0.5, -1.25, 2, 0.75]);
    const taskId = await submitAndEscrow(input);
    const done = await expectVerifiedAndPaid(taskId, input);
    expect(done.receipt.providers[0].backend).toBe("cpu");
    await native.kill();
  });

  it("a browser provider (Contribute tab) proves in its worker; the server and the chain accept it too", async () => {
    const page: Page = await browser.newPage();
    const status = () => page.getByTestId("provider-status").getAttribute("data-status");
    await page.goto(`${net.url}/provide?backend=wasm`);
    await page.evaluate((k) => window.localStorage.setItem("stun.apiKey", k), net.providerApiKey);
    await page.goto(`${net.url}/provide?backend=wasm`);
    await expect.poll(status, { timeout: 60_000 }).toBe("idle");
    await page.getByRole("button", { name: "Start contributing" }).click();
    await expect.poll(status, { timeout: 90_000 }).toBe("online");
    // Only the browser is online now (the native provider was stopped).
    await eventually(async () => (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers.length === 1, 20_000, "one provider online");

    const input = new Float32Array([-0.3, 1.1, 0.25, -2]);
    const taskId = await submitAndEscrow(input);
    const done = await expectVerifiedAndPaid(taskId, input);
    expect(done.receipt.providers[0].backend).toBe("wasm");
    await expect.poll(() => page.getByTestId("zk-proofs").textContent(), { timeout: 10_000 }).toMatch(/^1 · avg/);
    expect(browser.errors()).toEqual([]);
  });
});
