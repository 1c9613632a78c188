import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { spawnProviderProcess, type ProviderProcess as SpawnedProvider } from "@stun/provider-native";
import { parseConfig, type Config } from "../../src/env";
import { startServer, type RunningServer } from "../../src/server";
import { createAccount, faucet } from "../../src/services/accounts";
import { stakeFunds } from "../../src/services/stake";
import { openTestDatabase, type TestDatabase } from "./database";
import type { Logger } from "../../src/logger";

export interface ProviderProcess extends SpawnedProvider {
  name: string;
  /** The account it runs under ("" when started with a bare key), and that account's API key. */
  accountId: string;
  apiKey: string;
}

/** An account providers run under. */
export interface ProviderAccount {
  accountId: string;
  apiKey: string;
}

/** Starts a real provider process (onnxruntime-node) and waits until it has registered. */
export async function spawnProvider(url: string, key: string | ProviderAccount, name: string, args: string[] = []): Promise<ProviderProcess> {
  const account = typeof key === "string" ? { apiKey: key, accountId: "" } : key;
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), "stun-cache-"));
  const p = await spawnProviderProcess({ server: url, apiKey: account.apiKey, args: ["--name", name, "--cache-dir", cacheDir, ...args] });
  return Object.assign(p, { name, accountId: account.accountId, apiKey: account.apiKey });
}

export interface TestNetwork {
  url: string;
  server: RunningServer;
  db: TestDatabase;
  dataDir: string;
  /** A funded requester. */
  apiKey: string;
  accountId: string;
  /**
   * The first provider's account. Every provider runs under an account of its own (one operator
   * each: QA never lets one operator's providers check each other) unless `addProvider` is given one.
   */
  providerApiKey: string;
  providerAccountId: string;
  providers: ProviderProcess[];
  /** A new account with the network's provider stake (what each provider gets by default). */
  addProviderAccount(): Promise<ProviderAccount>;
  /** Starts a provider, under `account` (e.g. another provider's, for a Sybil) or else a new account of its own. */
  addProvider(opts?: { name?: string; args?: string[]; account?: ProviderAccount }): Promise<ProviderProcess>;
  /** Stops the server (not the providers, not the database), then starts it again on the same port. */
  restartServer(): Promise<void>;
  close(): Promise<void>;
}

export interface TestNetworkOptions {
  providers?: number;
  /** Extra CLI args per provider index. */
  providerArgs?: (i: number) => string[];
  env?: Record<string, string>;
  /** The server's logger (default: JSON at LOG_LEVEL warn on stdout); tests that read the logs pass their own. */
  logger?: Logger;
  funds?: bigint;
  /**
   * Staked for the provider account (from the faucet, so its balance stays 0): paid work needs
   * stake ≥ slashMultiple × the prices of its live executions. Default 1,000,000; 0n stakes nothing.
   */
  providerStake?: bigint;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** How many listeners the server's bus has for task announcements, of every task or of one (a push subscription holds one while open). */
export function taskListeners(net: TestNetwork): number {
  const { bus } = net.server.app;
  return bus.taskListeners + bus.oneTaskListeners;
}

/** Waits until `check` returns a truthy value (polling), or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, ms = 20_000, what = "condition"): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The whole marketplace for an integration test: the real server (on the suite's database —
 * PGlite or PostgreSQL), real provider processes, a funded requester account.
 */
export async function startTestNetwork(opts: TestNetworkOptions = {}): Promise<TestNetwork> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-test-"));
  const db = await openTestDatabase();
  const port = await freePort();
  const config: Config = parseConfig({
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    STUN_FSYNC: "false",
    // Canaries and referee audits are drawn at random: tests that want them turn them on
    // (test/e2e/canaries.test.ts, qa-adversaries.test.ts).
    CANARY_RATE: "0",
    REFEREE_AUDIT_RATE: "0",
    REFEREE_AUDIT_UNTRUSTED: "0",
    ...opts.env,
  });
  let server = await startServer(config, { db, ...(opts.logger ? { logger: opts.logger } : {}) });
  const requester = await createAccount(server.app);
  await faucet(server.app, requester.accountId, opts.funds ?? 1_000_000_000n);
  const providerStake = opts.providerStake ?? 1_000_000n;
  const newProviderAccount = async (): Promise<ProviderAccount> => {
    const account = await createAccount(server.app);
    if (providerStake > 0n) {
      await faucet(server.app, account.accountId, providerStake);
      await stakeFunds(server.app, account.accountId, providerStake);
    }
    return account;
  };
  const providerAccount = await newProviderAccount();
  const providers: ProviderProcess[] = [];
  const net: TestNetwork = {
    url: server.url,
    server,
    db,
    dataDir,
    apiKey: requester.apiKey,
    accountId: requester.accountId,
    providerApiKey: providerAccount.apiKey,
    providerAccountId: providerAccount.accountId,
    providers,
    addProviderAccount: newProviderAccount,
    async addProvider(o = {}) {
      const account = o.account ?? (providers.length === 0 ? providerAccount : await newProviderAccount());
      const p = await spawnProvider(server.url, account, o.name ?? `p${providers.length + 1}`, o.args ?? []);
      providers.push(p);
      return p;
    },
    async restartServer() {
      await server.close();
      server = await startServer(config, { db, ...(opts.logger ? { logger: opts.logger } : {}) });
      net.server = server;
    },
    async close() {
      await Promise.all(providers.map((p) => p.kill()));
      await server.close();
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < (opts.providers ?? 0); i++) await net.addProvider({ args: opts.providerArgs?.(i) ?? [] });
  } catch (e) {
    await net.close();
    throw e;
  }
  return net;
}
