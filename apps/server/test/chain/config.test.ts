/**
 * CHAIN_* configuration (chain/config.ts through env.ts's parseConfig) and the local chain helper's
 * persistence (startLocalChain with a dataDir resumes the same chain and deployment).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { computeMarketplaceAbi } from "@stun/contracts";
import { parseConfig } from "../../src/env";
import { startLocalChain } from "../../src/chain";

const KEY = `0x${"11".repeat(32)}`;
const KEY2 = `0x${"22".repeat(32)}`;
const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const full = { CHAIN: "base", CHAIN_RPC_URL: "https://rpc.example", CHAIN_MARKETPLACE_ADDRESS: MARKET.toLowerCase(), CHAIN_TOKEN_ADDRESS: "0x0000000000000000000000000000000000000000", CHAIN_SETTLER_KEYS: `${KEY}, ${KEY2}`, CHAIN_START_BLOCK: "123" };

describe("CHAIN_* configuration", () => {
  it("is off without CHAIN", () => {
    expect(parseConfig({}).chain).toBeUndefined();
  });

  it("resolves a chain: id, defaults per chain, checksummed addresses, M of N", () => {
    const c = parseConfig(full).chain!;
    expect(c).toMatchObject({
      name: "base",
      chainId: 8453,
      rpcUrl: "https://rpc.example",
      publicRpcUrl: "https://rpc.example",
      explorerUrl: "https://basescan.org",
      marketplace: MARKET,
      token: "0x0000000000000000000000000000000000000000",
      settlerKeys: [KEY, KEY2],
      threshold: 2,
      submitterKey: KEY,
      confirmations: 12,
      startBlock: 123n,
      batchSize: 20,
    });
    expect(parseConfig({ ...full, CHAIN_SETTLER_THRESHOLD: "1", CHAIN_CONFIRMATIONS: "3", CHAIN_POLL_MS: "250" }).chain).toMatchObject({ threshold: 1, confirmations: 3, pollMs: 250 });
    const ids = Object.fromEntries(
      (["local", "ethereum", "base", "arbitrum", "sepolia", "base-sepolia", "arbitrum-sepolia"] as const).map((name) => [name, parseConfig({ ...full, CHAIN: name }).chain!.chainId]),
    );
    expect(ids).toEqual({ local: 31337, ethereum: 1, base: 8453, arbitrum: 42161, sepolia: 11155111, "base-sepolia": 84532, "arbitrum-sepolia": 421614 });
    const local = parseConfig({ ...full, CHAIN: "local", CHAIN_START_BLOCK: undefined }).chain!;
    expect(local).toMatchObject({ confirmations: 1, startBlock: 0n, explorerUrl: undefined });
  });

  it("says what is missing or wrong", () => {
    expect(() => parseConfig({ CHAIN: "base" })).toThrow(/CHAIN_RPC_URL: required[\s\S]*CHAIN_MARKETPLACE_ADDRESS: required[\s\S]*CHAIN_TOKEN_ADDRESS: required[\s\S]*CHAIN_SETTLER_KEYS: required[\s\S]*CHAIN_START_BLOCK: required on base/);
    expect(() => parseConfig({ ...full, CHAIN: "mainnet" })).toThrow(/CHAIN/);
    expect(() => parseConfig({ ...full, CHAIN_MARKETPLACE_ADDRESS: "0x1234" })).toThrow(/CHAIN_MARKETPLACE_ADDRESS: must be a 0x-prefixed 20-byte address/);
    expect(() => parseConfig({ ...full, CHAIN_SETTLER_KEYS: "0x12" })).toThrow(/CHAIN_SETTLER_KEYS: key 1 is not 0x \+ 64 hex digits/);
    expect(() => parseConfig({ ...full, CHAIN_SETTLER_KEYS: `${KEY},${KEY}` })).toThrow(/the same key twice/);
    expect(() => parseConfig({ ...full, CHAIN_SETTLER_THRESHOLD: "3" })).toThrow(/CHAIN_SETTLER_THRESHOLD: 3 signatures asked for but only 2/);
  });
});

describe("startLocalChain", () => {
  it("deploys a chain with funded demo wallets and, with a dataDir, resumes it on the next start", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "stun-chain-"));
    try {
      const first = await startLocalChain({ dataDir: dir, demoAccounts: 2 });
      expect(first.env).toMatchObject({ CHAIN: "local", CHAIN_MARKETPLACE_ADDRESS: first.addresses.marketplace, CHAIN_TOKEN_ADDRESS: first.addresses.token, CHAIN_SETTLER_KEYS: first.settlerKey });
      expect(parseConfig(first.env).chain).toMatchObject({ chainId: 31337, startBlock: first.deployBlock });
      expect(first.demoAccounts).toHaveLength(2);
      const isSettler = await first.anvil.publicClient.readContract({ address: first.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "settlers" });
      expect(isSettler).toHaveLength(1);
      const head = await first.anvil.publicClient.getBlockNumber();
      await first.stop();

      const second = await startLocalChain({ dataDir: dir, demoAccounts: 2 });
      try {
        expect(second.addresses).toEqual(first.addresses);
        expect(second.deployBlock).toBe(first.deployBlock);
        expect(await second.anvil.publicClient.getBlockNumber()).toBeGreaterThanOrEqual(head);
        expect(await second.anvil.publicClient.readContract({ address: second.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "isTokenAllowed", args: [second.addresses.token] })).toBe(true);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
