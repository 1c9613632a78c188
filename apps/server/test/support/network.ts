import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig, type Config } from "../../src/env";
import { startServer, type RunningServer } from "../../src/server";
import { createAccount, faucet } from "../../src/services/accounts";
import type { Database } from "../../src/db/database";
import { openTestDatabase } from "./database";

const here = path.dirname(fileURLToPath(import.meta.url));
export const PROVIDER_BIN = path.resolve(here, "../../../provider-native/bin/stun-provider.mjs");

export interface ProviderProcess {
  name: string;
  child: ChildProcess;
  providerId: string;
  /** Everything it wrote to stderr (JSON log lines). */
  log: string[];
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

export interface TestNetwork {
  url: string;
  server: RunningServer;
  db: Database;
  dataDir: string;
  /** A funded requester. */
  apiKey: string;
  accountId: string;
  /** The account the providers run under. */
  providerApiKey: string;
  providerAccountId: string;
  providers: ProviderProcess[];
  addProvider(opts?: { name?: string; args?: string[] }): Promise<ProviderProcess>;
  /** Stops the server (not the providers, not the database), then starts it again on the same port. */
  restartServer(): Promise<void>;
  close(): Promise<void>;
}

export interface TestNetworkOptions {
  providers?: number;
  /** Extra CLI args per provider index. */
  providerArgs?: (i: number) => string[];
  env?: Record<string, string>;
  funds?: bigint;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Starts a real provider process (onnxruntime-node) and waits until it has registered. */
export function spawnProvider(url: string, apiKey: string, name: string, args: string[] = [], cacheDir?: string): Promise<ProviderProcess> {
  const child = spawn(
    process.execPath,
    [PROVIDER_BIN, "--server", url, "--api-key", apiKey, "--name", name, "--cache-dir", cacheDir ?? mkdtempSync(path.join(os.tmpdir(), "stun-cache-")), ...args],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, STUN_LOG_LEVEL: "info" } },
  );
  const log: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`provider ${name} did not register in 30 s:\n${log.join("\n")}`)), 30_000);
    let buffer = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        log.push(line);
        if (line.includes('"registered"')) {
          const providerId = /"providerId":"([^"]+)"/.exec(line)?.[1] ?? "";
          clearTimeout(timer);
          resolve({ name, child, providerId, log, exited });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`provider ${name} exited with ${code} before registering:\n${log.join("\n")}`));
    });
  });
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
    ...opts.env,
  });
  let server = await startServer(config, { db });
  const requester = await createAccount(server.app);
  await faucet(server.app, requester.accountId, opts.funds ?? 1_000_000_000n);
  const providerAccount = await createAccount(server.app);
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
    async addProvider(o = {}) {
      const p = await spawnProvider(server.url, providerAccount.apiKey, o.name ?? `p${providers.length + 1}`, o.args ?? []);
      providers.push(p);
      return p;
    },
    async restartServer() {
      await server.close();
      server = await startServer(config, { db });
      net.server = server;
    },
    async close() {
      await Promise.all(
        providers.map(async (p) => {
          if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
          await p.exited;
        }),
      );
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
