/**
 * The public-chain deploy (src-ts/deploy-chain.ts, scripts/deploy.ts) as a dry run on anvil
 * standing in for Base Sepolia (chain id 84532): the contract set deployed and read back, the
 * deployment record and server settings written, and every refusal made before a transaction is
 * sent (wrong chain, mainnet without --yes-mainnet, bad settler set, no gas, a readable key file).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANVIL_MNEMONIC, type Anvil, startAnvil } from "../src-ts/anvil";
import { CHAIN_PRESETS } from "../src-ts/chains";
import { deployMockToken } from "../src-ts/deploy";
import { deployToChain, deploymentProblems } from "../src-ts/deploy-chain";
import { stakingAbi } from "../src-ts/generated";
import { main as deployCli } from "../scripts/deploy";

const BASE_SEPOLIA = CHAIN_PRESETS["base-sepolia"].id;
const keyOf = (i: number): Hex => {
  const pk = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i }).getHdKey().privateKey!;
  return `0x${Buffer.from(pk).toString("hex")}`;
};

let anvil: Anvil;
let dir: string;
let settlers: Address[];
let usdc: Address;
beforeAll(async () => {
  anvil = await startAnvil({ chainId: BASE_SEPOLIA, accounts: 6 });
  dir = mkdtempSync(join(tmpdir(), "stun-deploy-"));
  settlers = anvil.accounts.slice(1, 4).map((a) => a.address);
  usdc = await deployMockToken(anvil.wallets[5]!, anvil.publicClient, { name: "USD Coin", symbol: "USDC", decimals: 6 });
});
afterAll(async () => {
  await anvil?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const nonceOf = (address: Address) => anvil.publicClient.getTransactionCount({ address });

describe("deploying to a public chain (dry run on anvil as Base Sepolia)", () => {
  it("deploys the contract set, reads it back, and gives the server's settings", async () => {
    const { record, checks, env } = await deployToChain({ chain: "base-sepolia", rpcUrl: anvil.rpcUrl, deployerKey: keyOf(0), settlers, threshold: 2, depositToken: usdc });
    expect(record.chainId).toBe(BASE_SEPOLIA);
    expect(checks.length).toBeGreaterThanOrEqual(12);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(record.settlers).toEqual(settlers);
    expect(BigInt(record.marketplaceBlockNumber)).toBeLessThanOrEqual(BigInt(record.blockNumber));
    expect(env).toEqual({
      CHAIN: "base-sepolia",
      CHAIN_RPC_URL: anvil.rpcUrl,
      CHAIN_MARKETPLACE_ADDRESS: record.marketplace,
      CHAIN_TOKEN_ADDRESS: usdc,
      CHAIN_START_BLOCK: record.marketplaceBlockNumber,
      CHAIN_SETTLER_THRESHOLD: "2",
    });
  });

  it("the script reads the key from a private file and writes the record and the env file", async () => {
    const keyFile = join(dir, "deployer.key");
    writeFileSync(keyFile, `${keyOf(0)}\n`);
    chmodSync(keyFile, 0o644);
    const args = ["--chain", "base-sepolia", "--rpc-url", anvil.rpcUrl, "--deployer-key-file", keyFile, "--settlers", settlers.join(","), "--threshold", "2"];
    const before = await nonceOf(anvil.accounts[0]!.address);
    await expect(deployCli(args)).rejects.toThrow(/readable or writable by others/);
    expect(await nonceOf(anvil.accounts[0]!.address)).toBe(before);

    chmodSync(keyFile, 0o600);
    const out = join(dir, "base-sepolia.json");
    const envOut = join(dir, "deploy.env");
    await deployCli([...args, "--deposit-token", usdc, "--out", out, "--env-out", envOut]);
    const record = JSON.parse(readFileSync(out, "utf8")) as { marketplace: string; chain: string; marketplaceBlockNumber: string };
    expect(record.chain).toBe("base-sepolia");
    const env = readFileSync(envOut, "utf8");
    expect(env).toContain(`CHAIN_MARKETPLACE_ADDRESS=${record.marketplace}\n`);
    expect(env).toContain(`CHAIN_START_BLOCK=${record.marketplaceBlockNumber}\n`);
    expect(env).toContain(`CHAIN_TOKEN_ADDRESS=${usdc}\n`);
    expect(await anvil.publicClient.getCode({ address: record.marketplace as Address })).not.toBe("0x");
  });

  it("refuses before sending anything: another chain's RPC, a mainnet unconfirmed, a bad settler set, no gas", async () => {
    const deployer = anvil.accounts[0]!.address;
    const before = await nonceOf(deployer);
    const refused = (o: Partial<Parameters<typeof deployToChain>[0]>) => deployToChain({ chain: "base-sepolia", rpcUrl: anvil.rpcUrl, deployerKey: keyOf(0), settlers, threshold: 2, ...o });
    await expect(refused({ chain: "base" })).rejects.toThrow(`the RPC endpoint is chain ${BASE_SEPOLIA}, not base (8453)`);
    await expect(refused({ threshold: 4 })).rejects.toThrow("threshold 4 must be within 1..3");
    await expect(refused({ threshold: 0 })).rejects.toThrow("threshold 0 must be within 1..3");
    await expect(refused({ settlers: [settlers[0]!, settlers[0]!] })).rejects.toThrow("the same settler twice");
    await expect(refused({ settlers: [] })).rejects.toThrow("no settlers given");
    await expect(refused({ depositToken: "0x1234" as Address })).rejects.toThrow("is not an address");
    const broke = generatePrivateKey();
    await expect(refused({ deployerKey: broke })).rejects.toThrow("the deployer has no gas money");
    expect(await nonceOf(deployer)).toBe(before);
    expect(await nonceOf(privateKeyToAccount(broke).address)).toBe(0);
  });

  it("--stake-token ledger makes Staking take the deposit token; stun (the default) STUN; ledger without a deposit token is refused", async () => {
    const stakeTokenOf = (staking: Address) => anvil.publicClient.readContract({ address: staking, abi: stakingAbi, functionName: "stakeToken" });
    const keyFile = join(dir, "stake.key");
    writeFileSync(keyFile, `${keyOf(0)}\n`);
    chmodSync(keyFile, 0o600);
    const out = join(dir, "stake-ledger.json");
    const args = ["--chain", "base-sepolia", "--rpc-url", anvil.rpcUrl, "--deployer-key-file", keyFile, "--settlers", settlers.join(","), "--threshold", "2"];
    await deployCli([...args, "--deposit-token", usdc, "--stake-token", "ledger", "--out", out]);
    const ledger = JSON.parse(readFileSync(out, "utf8")) as { staking: Address; stakeToken: Address; token: Address; stakeTokenChoice: string };
    expect(ledger).toMatchObject({ stakeToken: usdc, stakeTokenChoice: "ledger" });
    expect(await stakeTokenOf(ledger.staking)).toBe(usdc);

    const { record, checks } = await deployToChain({ chain: "base-sepolia", rpcUrl: anvil.rpcUrl, deployerKey: keyOf(0), settlers, threshold: 2, depositToken: usdc });
    expect(checks.find((c) => c.what === "stake token")).toMatchObject({ ok: true, detail: record.token });
    expect(record).toMatchObject({ stakeToken: record.token, stakeTokenChoice: "stun" });
    expect(await stakeTokenOf(record.staking)).toBe(record.token);

    const before = await nonceOf(anvil.accounts[0]!.address);
    await expect(deployCli([...args, "--stake-token", "ledger"])).rejects.toThrow("a ledger-token stake needs the ledger token: pass --deposit-token");
    await expect(deployCli([...args, "--stake-token", "usdc"])).rejects.toThrow('stake token "usdc" must be one of stun, ledger');
    expect(await nonceOf(anvil.accounts[0]!.address)).toBe(before);
  });

  it("asks for --yes-mainnet on a mainnet (the rule, without a mainnet)", () => {
    for (const chain of ["ethereum", "base", "arbitrum"] as const) {
      expect(deploymentProblems({ chain, settlers, threshold: 2 }, CHAIN_PRESETS[chain].id, 1n)).toEqual([`${CHAIN_PRESETS[chain].label} is a mainnet: pass --yes-mainnet to deploy there`]);
      expect(deploymentProblems({ chain, settlers, threshold: 2, confirmMainnet: true }, CHAIN_PRESETS[chain].id, 1n)).toEqual([]);
    }
    for (const chain of ["sepolia", "base-sepolia", "arbitrum-sepolia", "local"] as const) expect(deploymentProblems({ chain, settlers, threshold: 2 }, CHAIN_PRESETS[chain].id, 1n)).toEqual([]);
  });
});
