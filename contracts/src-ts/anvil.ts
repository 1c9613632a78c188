/**
 * A real EVM for tests, scripts and local mode: starts the `anvil` binary (from
 * @foundry-rs/anvil-linux-amd64) on a free loopback port with funded accounts, and gives viem
 * clients bound to it. Import it as `@stun/contracts/anvil` (Node only; not in the main entry).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { type Account, type Chain, type HDAccount, type PublicClient, type TestClient, type Transport, type WalletClient, createPublicClient, createTestClient, createWalletClient, http } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { foundry } from "viem/chains";

/** Anvil's default mnemonic: its accounts are funded at genesis. */
export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

/**
 * The anvil binary: `ANVIL_BIN` when set, else the one npm installed from
 * @foundry-rs/anvil-linux-amd64 (Linux x64 only; elsewhere install Foundry and set ANVIL_BIN).
 */
export function anvilBinary(): string {
  if (process.env.ANVIL_BIN) return process.env.ANVIL_BIN;
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil");
  } catch {
    throw new Error("anvil is not installed (@foundry-rs/anvil-linux-amd64 is Linux x64 only): install Foundry and set ANVIL_BIN");
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface Anvil {
  rpcUrl: string;
  chain: Chain;
  publicClient: PublicClient<Transport, Chain>;
  testClient: TestClient<"anvil", Transport, Chain>;
  accounts: HDAccount[];
  /** One wallet client per account, same order. */
  wallets: Array<WalletClient<Transport, Chain, Account>>;
  /** Block timestamp of the latest block. */
  now(): Promise<bigint>;
  /** Moves time forward by `seconds` and mines a block. */
  increaseTime(seconds: bigint | number): Promise<void>;
  snapshot(): Promise<`0x${string}`>;
  revert(id: `0x${string}`): Promise<void>;
  stop(): Promise<void>;
}

export interface StartAnvilOptions {
  accounts?: number;
  /** ETH per account. */
  balance?: number;
  /** More anvil arguments (e.g. `--block-base-fee-per-gas 0`). */
  args?: readonly string[];
  /** The chain id anvil reports (default 31337): a stand-in for a public chain in deploy tests. */
  chainId?: number;
}

/** Starts anvil (`--silent`, automine, cancun) and waits until it answers. */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<Anvil> {
  const accountCount = options.accounts ?? 12;
  let child: ChildProcess | undefined;
  let port = 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    const proc = spawn(
      anvilBinary(),
      [
        "--silent",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--accounts",
        String(accountCount),
        "--balance",
        String(options.balance ?? 1_000_000),
        "--hardfork",
        "cancun",
        "--chain-id",
        String(options.chainId ?? foundry.id),
        ...(options.args ?? []),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    const ready = await waitUntilReady(`http://127.0.0.1:${port}`, exited);
    if (ready) child = proc;
    else {
      proc.kill("SIGKILL");
      lastError = new Error(`anvil did not start on port ${port}: ${stderr.trim()}`);
    }
  }
  if (!child) throw lastError;
  const proc = child;

  const rpcUrl = `http://127.0.0.1:${port}`;
  const chain: Chain = options.chainId === undefined ? foundry : { ...foundry, id: options.chainId };
  const transport = http(rpcUrl, { retryCount: 0 });
  // No block-number cache: snapshots revert the chain, and a cached number could be ahead of it.
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 50, cacheTime: 0 });
  const testClient = createTestClient({ chain, transport, mode: "anvil" });
  const accounts = Array.from({ length: accountCount }, (_, i) => mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i }));
  const wallets = accounts.map((account) => createWalletClient({ chain, transport, account, pollingInterval: 50, cacheTime: 0 }));

  return {
    rpcUrl,
    chain,
    publicClient,
    testClient,
    accounts,
    wallets,
    async now() {
      return (await publicClient.getBlock()).timestamp;
    },
    async increaseTime(seconds) {
      await testClient.increaseTime({ seconds: Number(seconds) });
      await testClient.mine({ blocks: 1 });
    },
    snapshot: () => testClient.snapshot(),
    async revert(id) {
      await testClient.revert({ id });
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitUntilReady(url: string, exited: Promise<number | null>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !gone) {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
