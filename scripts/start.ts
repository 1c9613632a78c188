/**
 * `npm start`: the whole marketplace on one machine, with no set-up — the web app (built first
 * when apps/web/out is missing or stale), the server on embedded PGlite under DATA_DIR,
 * STUN_PROVIDERS native providers (default 1), a first API key, and — in local mode — a local chain
 * (anvil with the Stun contracts, from the chain adapter's startLocalChain) the server settles on.
 * It prints its banner (URLs and key: "Stun is running") only once every local provider has
 * registered and /health counts them; a provider that exits first, or is not registered within
 * STUN_PROVIDERS_READY_SECONDS (default 60), stops everything with a message saying which and why,
 * and exit code 1 — a marketplace without its own providers is not ready (STUN_PROVIDERS=0 runs none).
 * Honours PORT (API and web app, default 4000), DATA_DIR (default ./.stun), STUN_PROVIDERS,
 * STUN_PROVIDERS_READY_SECONDS, STUN_WEB_BUILD (`off`: never run `next build`), STUN_CHAIN (`off`: no
 * local chain), STUN_SECRETS_DIR (where the local API keys are kept, default $XDG_STATE_HOME/stun or
 * ~/.local/state/stun), and every server variable in docs/CONFIGURATION.md (a CHAIN already set is
 * used as it is).
 */
import { accessSync, constants as fsConstants } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type LocalChain,
  accountView,
  assertOutside,
  createAccount,
  faucet,
  localKeysFile,
  moveLegacySecret,
  parseConfig,
  readSecretFile,
  secretsDir,
  stakeFunds,
  startLocalChain,
  startRpcForwarder,
  startServer,
  webAppOrigins,
  writeSecretFile,
} from "@stun/server";
import { anvilBinary } from "@stun/contracts/anvil";
import { WEB_OUT, buildWeb } from "../apps/web/scripts/build";
import { type LocalProvider, allRegistered, healthShowsOnline, spawnLocalProvider } from "./local-providers";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

// The web app: a static export the server serves on its own port. Built here when missing or
// older than its sources (unless WEB_DIR points elsewhere or STUN_WEB_BUILD=off).
const webBuild = process.env.STUN_WEB_BUILD !== "off" && (!process.env.WEB_DIR || path.resolve(process.env.WEB_DIR) === WEB_OUT);
if (webBuild) {
  try {
    const r = await buildWeb({ log: (line) => console.log(`  ${line}`) });
    if (r.built) console.log(`  Web app built in ${(r.ms / 1000).toFixed(1)} s`);
  } catch (e) {
    console.error(`  The web app did not build; the API runs without it.\n${(e as Error).message}`);
  }
}

const providerCount = Number(process.env.STUN_PROVIDERS ?? "1");
if (!Number.isInteger(providerCount) || providerCount < 0) {
  console.error(`STUN_PROVIDERS must be a whole number, got "${process.env.STUN_PROVIDERS}"`);
  process.exit(2);
}
const readySeconds = Number(process.env.STUN_PROVIDERS_READY_SECONDS ?? "60");
if (!Number.isFinite(readySeconds) || readySeconds <= 0) {
  console.error(`STUN_PROVIDERS_READY_SECONDS must be a number of seconds above 0, got "${process.env.STUN_PROVIDERS_READY_SECONDS}"`);
  process.exit(2);
}

// The local chain: anvil with the Stun contracts deployed, a mock stablecoin (mUSD) as the ledger
// token and funded demo wallets, kept in DATA_DIR/chain so a restart resumes the same chain. Only
// in local mode, when no CHAIN is configured and STUN_CHAIN is not `off`; when it cannot start
// (anvil's npm binary is Linux x64 only), everything else runs without a chain.
let localChain: LocalChain | undefined;
let rpcProxy: Awaited<ReturnType<typeof startRpcForwarder>> | undefined;
let chainNote = "";
const wantChain = process.env.STUN_CHAIN !== "off" && !process.env.CHAIN && (process.env.STUN_MODE ?? "local") === "local";
if (wantChain) {
  try {
    // anvilBinary() throws where npm has no anvil (not Linux x64) and ANVIL_BIN is unset; a binary
    // that is not there or not executable is caught here rather than by the spawn.
    accessSync(anvilBinary(), fsConstants.X_OK);
    // STUN_CHAIN_STAKE_TOKEN=ledger: providers stake mUSD (counted in the ledger) instead of STUN, at the chain's first deployment.
    localChain = await startLocalChain({
      dataDir: path.join(path.resolve(process.env.DATA_DIR ?? "./.stun"), "chain"),
      stakeToken: process.env.STUN_CHAIN_STAKE_TOKEN === "ledger" ? "ledger" : "stun",
    });
    // The server settles on it; deposits are credited after one block, polled twice a second.
    Object.assign(process.env, localChain.env);
    // anvil listens on a free port that changes at every start; browsers and wallets get a stable
    // one (STUN_CHAIN_RPC_PORT, default 8545) that forwards to it.
    rpcProxy = await startRpcProxy(localChain.rpcUrl, Number(process.env.STUN_CHAIN_RPC_PORT ?? "8545"));
    if (rpcProxy) process.env.CHAIN_PUBLIC_RPC_URL ??= rpcProxy.url;
  } catch (e) {
    chainNote = `not started (${(e as Error).message.split("\n")[0]}); STUN_CHAIN=off skips it`;
    console.error(`  The local chain did not start, so on-chain settlement is off: ${(e as Error).message.split("\n")[0]}`);
  }
} else {
  chainNote = process.env.CHAIN ? `CHAIN=${process.env.CHAIN} (from the environment)` : process.env.STUN_CHAIN === "off" ? "off (STUN_CHAIN=off)" : "off (production mode)";
}

// QA in a one-provider local network: a new provider's result is checked before delivery, by the
// server's own reference run when no provider of another operator is online. For a model the server
// cannot run itself there is no checker at all, so with one local provider such tasks run alone,
// unchecked (receipt check "single"), rather than wait for one (ALLOW_SINGLE; said in the banner).
const localMode = (process.env.STUN_MODE ?? "local") === "local";
if (localMode && providerCount === 1 && process.env.ALLOW_SINGLE === undefined) process.env.ALLOW_SINGLE = "true";

let config: ReturnType<typeof parseConfig>;
let keysFile: string;
try {
  config = parseConfig(process.env);
  // The local API keys live outside every working directory and DATA_DIR (issue #12).
  assertOutside(secretsDir(), { "working directory": process.cwd(), "data directory (DATA_DIR)": config.dataDir });
  keysFile = localKeysFile(config.dataDir);
  moveLegacySecret(path.join(config.dataDir, "local-keys.json"), keysFile); // where versions before #12 kept them
} catch (e) {
  await localChain?.stop();
  throw e;
}

let server: Awaited<ReturnType<typeof startServer>>;
try {
  server = await startServer(config);
} catch (e) {
  await localChain?.stop();
  throw e;
}
const app = server.app;

/**
 * The local operator's and the local providers' accounts persist between runs (keys in `keysFile`,
 * 0600). Each local provider has an account of its own (`provider` is local-1's, `providers` the
 * others'): QA never lets one operator's providers check each other, so two local providers under
 * one account would never replicate.
 */
type AccountKey = { accountId: string; apiKey: string };
interface LocalKeys {
  requester: AccountKey;
  provider: AccountKey;
  providers?: AccountKey[];
}
async function localKeys(): Promise<LocalKeys> {
  const saved = readSecretFile(keysFile);
  let keys: LocalKeys | undefined;
  if (saved !== undefined) {
    const read = JSON.parse(saved) as LocalKeys;
    const ids = [read.requester, read.provider, ...(read.providers ?? [])].map((k) => k.accountId);
    if ((await app.db.prisma.account.count({ where: { id: { in: ids } } })) === ids.length) keys = read;
  }
  let changed = false;
  if (!keys) {
    keys = { requester: await createAccount(app), provider: await createAccount(app) };
    if (config.local) await faucet(app, keys.requester.accountId, 1_000_000n);
    changed = true;
  }
  const others = keys.providers ?? [];
  while (others.length < providerCount - 1) {
    others.push(await createAccount(app));
    changed = true;
  }
  keys.providers = others;
  if (changed) writeSecretFile(keysFile, JSON.stringify(keys, null, 2));
  return keys;
}
const keys = await localKeys();
const providerKeys = [keys.provider, ...(keys.providers ?? [])].slice(0, providerCount);

// Paid work needs stake (slashMultiple × the price of each live execution): in local mode each
// provider's account is topped up to LOCAL_PROVIDER_STAKE from the faucet at every start.
const LOCAL_PROVIDER_STAKE = 100_000n;
if (config.local) {
  for (const k of providerKeys) {
    const short = LOCAL_PROVIDER_STAKE - BigInt((await accountView(app, k.accountId)).stake);
    if (short > 0n) {
      await faucet(app, k.accountId, short);
      await stakeFunds(app, k.accountId, short);
    }
  }
}

const providers: LocalProvider[] = [];
const providerBin = path.join(root, "apps/provider-native/bin/stun-provider.mjs");
let stopping = false;
async function stop(exitCode = 0) {
  if (stopping) return;
  stopping = true;
  console.log("Stopping providers and server…");
  await Promise.all(
    providers.map(
      ({ child: p }) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once("exit", () => resolve());
          p.kill("SIGTERM");
          setTimeout(() => p.kill("SIGKILL"), 10_000).unref();
        }),
    ),
  );
  await server.close();
  rpcProxy?.server.close();
  await localChain?.stop();
  process.exit(exitCode);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());

for (let i = 0; i < providerCount; i++) {
  providers.push(
    spawnLocalProvider({
      bin: providerBin,
      server: server.url,
      name: `local-${i + 1}`,
      cacheDir: path.join(config.dataDir, "provider-cache"),
      apiKey: providerKeys[i]!.apiKey,
      say: (line) => console.log(line),
      warn: (line) => console.error(line),
    }),
  );
}
// Ready means ready: the banner below (what people and scripts wait for) comes only once the local
// providers are registered and the server's /health counts them. Until then /health answers with
// fewer providers online, so a client polling it can tell too.
if (providerCount > 0) {
  try {
    const until = Date.now() + readySeconds * 1000;
    await allRegistered(providers, readySeconds * 1000);
    await healthShowsOnline(server.url, providerCount, Math.max(1000, until - Date.now()));
  } catch (e) {
    // Ctrl-C while waiting: the providers' exits are expected, and stop() is already ending the process.
    if (stopping) await new Promise(() => undefined);
    console.error(`\n  Stun did not start: ${(e as Error).message}.\n  Stopping. (STUN_PROVIDERS_READY_SECONDS waits longer on a slow machine; STUN_PROVIDERS=0 runs without local providers.)\n`);
    await stop(1);
  }
}

console.log(`
  Stun is running (local mode, ${app.db.kind}, data in ${config.dataDir})

  Web app    ${config.webDir ? `${server.url}/` : "not built (npm run build -w @stun/web, then restart)"}
  API        ${server.url}/api/v1   (OpenAPI: ${server.url}/api/v1/openapi.json)
  tRPC       ${server.url}/trpc
  Metrics    ${server.url}/metrics
  Providers  ${providerCount} native (onnxruntime-node, cpu)${providerCount > 0 ? ", registered" : ""}${providerCount > 1 ? ", each its own account" : ""}${providerCount > 0 ? ",\n             in the simulated TEE (privacy tee tasks run locally; it proves nothing: docs/TEE.md)" : ""}
  QA         ${qaLine()}
  Chain      ${localChain ? localChainLines(localChain) : chainNote}

  Your API key (requester, funded): ${keys.requester.apiKey}
    (the local accounts' keys are kept in ${keysFile})
    sign in to the web app with it, or use it from a shell:
    export STUN_API_KEY=${keys.requester.apiKey} STUN_SERVER=${server.url}
    npx stun models upload model.onnx

  Ctrl-C stops everything.
`);

/** How results are checked on this local network (docs/QA.md § Plan). */
function qaLine(): string {
  const checked = "new providers' results checked before delivery";
  if (providerCount > 1) return `${checked}: replicated on another local provider`;
  const single = config.ALLOW_SINGLE
    ? `; for models it cannot run, ${providerCount === 1 ? 'the one provider runs them alone, unchecked (ALLOW_SINGLE; receipt check "single")' : "tasks run alone, unchecked (ALLOW_SINGLE)"}`
    : "; for models it cannot run, tasks wait for a provider of another account";
  return `${checked} by the server's own reference run (one operator online)${single}`;
}

/**
 * A JSON-RPC forwarder on a fixed loopback port to anvil's changing one, so the RPC URL a browser
 * wallet saves for the local network keeps working across restarts. It answers only the web app's
 * origins (and wallet extensions) and never lets a caller use anvil's unlocked accounts or admin
 * methods (apps/server/src/chain/rpc-forwarder.ts). Undefined (anvil's own URL is used) when the
 * port is taken or 0.
 */
async function startRpcProxy(target: string, port: number): Promise<Awaited<ReturnType<typeof startRpcForwarder>> | undefined> {
  if (!Number.isInteger(port) || port <= 0) return undefined;
  return startRpcForwarder({ target, port, allowedOrigins: webAppOrigins(Number(process.env.PORT ?? "4000")) }).catch((e: NodeJS.ErrnoException) => {
    console.error(`  Port ${port} is taken (${e.code}): browsers use anvil's own URL ${target}, which changes at every start (STUN_CHAIN_RPC_PORT picks another port)`);
    return undefined;
  });
}

/** What to print about the local chain: where it is, its contracts, and a funded wallet to import. */
function localChainLines(c: LocalChain): string {
  const demo = c.demoAccounts[0];
  const rpc = rpcProxy?.url ?? c.rpcUrl;
  return [
    `anvil (local, chain id ${c.chainId}), RPC ${rpc}   (state in ${path.join(config.dataDir, "chain")})`,
    `             Marketplace ${c.addresses.marketplace}`,
    `             Staking     ${c.addresses.staking}`,
    `             mUSD        ${c.addresses.token}   (the ledger token: deposits credit your Stun balance)`,
    `             STUN        ${c.addresses.stunToken}`,
    ...(demo
      ? [
          `             Demo wallet ${demo.address}   (10,000 mUSD, 10,000 STUN, ETH for gas)`,
          `             private key ${demo.privateKey}   (anvil's public test key: never use it on a real chain)`,
          `               import it into a browser wallet, add the network (RPC ${rpc}, chain id ${c.chainId}),`,
          `               then use Connect wallet and the Wallet page (${server.url}/wallet) to deposit`,
        ]
      : []),
  ].join("\n");
}
