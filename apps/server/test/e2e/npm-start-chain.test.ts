import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type Hex, createPublicClient, createWalletClient, defineChain, http, parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { accountToBytes32, computeMarketplaceAbi, mockERC20Abi } from "@stun/contracts";
import { localKeysFile } from "../../src/local-secrets";
import { testDbKind } from "../support/database";
import { api } from "../support/api";
import { eventually, freePort } from "../support/network";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

interface Started {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

async function npmStart(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: root,
    env: { ...process.env, STUN_PROVIDERS: "0", LOG_LEVEL: "warn", STUN_WEB_BUILD: "off", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const until = Date.now() + 90_000;
  while (!out.includes("Ctrl-C stops everything")) {
    if (Date.now() > until || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`npm start did not come up:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, out: () => out, exited };
}

const line = (out: string, re: RegExp): string => {
  const m = re.exec(out);
  if (!m) throw new Error(`no ${re} in:\n${out}`);
  return m[1]!;
};

/**
 * npm start's local chain: anvil with the Stun contracts, the server settling on it, the RPC on a
 * stable port, a funded demo wallet printed. A deposit from that wallet is credited to the
 * requester's Stun balance once — also after a restart, which resumes the same chain and contracts.
 * (npm-start.test.ts covers the rest of npm start, with STUN_CHAIN=off.)
 */
describe.runIf(testDbKind === "pglite")("npm start: local chain", () => {
  it("starts anvil with the contracts, prints the RPC URL, addresses and a demo key; deposits are credited once, across a restart", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-start-chain-"));
    const port = await freePort();
    const rpcPort = await freePort();
    const secrets = mkdtempSync(path.join(os.tmpdir(), "stun-secrets-"));
    const env = { PORT: String(port), DATA_DIR: dataDir, STUN_SECRETS_DIR: secrets, STUN_CHAIN_RPC_PORT: String(rpcPort) };
    const url = `http://127.0.0.1:${port}`;
    let run: Started | undefined;
    try {
      run = await npmStart(env);
      const out = run.out();
      const rpc = line(out, /Chain +anvil \(local, chain id 31337\), RPC (\S+)/);
      expect(rpc).toBe(`http://127.0.0.1:${rpcPort}`);
      const marketplace = line(out, /Marketplace (0x[0-9a-fA-F]{40})/) as Hex;
      const token = line(out, /mUSD +(0x[0-9a-fA-F]{40})/) as Hex;
      const demoKey = line(out, /private key (0x[0-9a-f]{64})/) as Hex;
      const demo = privateKeyToAccount(demoKey);
      expect(line(out, /Demo wallet (0x[0-9a-fA-F]{40})/)).toBe(demo.address);

      // The server settles on it, and tells browsers the stable RPC URL.
      const info = await (await fetch(`${url}/api/v1/chain`)).json();
      expect(info).toMatchObject({ enabled: true, chainId: 31337, rpcUrl: rpc, marketplace, ledgerToken: token });

      // A deposit from the demo wallet, through the printed RPC URL, for the requester's account.
      const keys = JSON.parse(readFileSync(localKeysFile(dataDir, { STUN_SECRETS_DIR: secrets }), "utf8")) as { requester: { accountId: string; apiKey: string } };
      const key = keys.requester.apiKey;
      const before = BigInt((await api(url, "GET", "/accounts/me", { key })).body.balance);
      const chain = defineChain({ id: 31337, name: "local", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpc] } } });
      const publicClient = createPublicClient({ chain, transport: http(rpc) });
      const wallet = createWalletClient({ chain, transport: http(rpc), account: demo });
      const amount = parseUnits("5", 6);
      const mined = async (hash: Hex) => expect((await publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
      await mined(await wallet.writeContract({ address: token, abi: mockERC20Abi, functionName: "approve", args: [marketplace, amount] }));
      await mined(await wallet.writeContract({ address: marketplace, abi: computeMarketplaceAbi, functionName: "deposit", args: [token, amount, accountToBytes32(keys.requester.accountId)] }));
      await eventually(async () => BigInt((await api(url, "GET", "/accounts/me", { key })).body.balance) === before + amount, 20_000, "the deposit's credit");

      run.child.kill("SIGINT");
      expect(await run.exited).toBe(0);

      // Restart: the same chain and contracts, the deposit not credited again.
      run = await npmStart(env);
      expect(line(run.out(), /Marketplace (0x[0-9a-fA-F]{40})/)).toBe(marketplace);
      expect(await publicClient.readContract({ address: token, abi: mockERC20Abi, functionName: "balanceOf", args: [marketplace] })).toBe(amount);
      // The scanner has processed every block up to the deposit's and past it (its cursor, not a sleep).
      const depositBlock = await publicClient.getBlockNumber();
      await eventually(
        async () => BigInt(((await (await fetch(`${url}/api/v1/chain`)).json()) as { depositsScannedTo: string }).depositsScannedTo) >= depositBlock,
        30_000,
        "the deposit scanner's cursor past the deposit",
      );
      expect(BigInt((await api(url, "GET", "/accounts/me", { key })).body.balance)).toBe(before + amount);
      run.child.kill("SIGINT");
      expect(await run.exited).toBe(0);
    } finally {
      if (run && run.child.exitCode === null) run.child.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(secrets, { recursive: true, force: true });
    }
  }, 180_000);
});
