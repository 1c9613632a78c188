/**
 * `npm start`: the whole marketplace on one machine, with no set-up — the web app (built first
 * when apps/web/out is missing or stale), the server on embedded PGlite under DATA_DIR,
 * STUN_PROVIDERS native providers (default 1), and a first API key.
 * Honours PORT (API and web app, default 4000), DATA_DIR (default ./.stun), STUN_PROVIDERS,
 * STUN_WEB_BUILD (`off`: never run `next build`), and every server variable in README § Configuration.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { accountView, createAccount, faucet, parseConfig, stakeFunds, startServer } from "@stun/server";
import { WEB_OUT, buildWeb } from "../apps/web/scripts/build";

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

const config = parseConfig(process.env);
const providerCount = Number(process.env.STUN_PROVIDERS ?? "1");
if (!Number.isInteger(providerCount) || providerCount < 0) {
  console.error(`STUN_PROVIDERS must be a whole number, got "${process.env.STUN_PROVIDERS}"`);
  process.exit(2);
}

const server = await startServer(config);
const app = server.app;

/** The local operator's and the local providers' accounts persist in DATA_DIR between runs. */
interface LocalKeys {
  requester: { accountId: string; apiKey: string };
  provider: { accountId: string; apiKey: string };
}
const keysFile = path.join(config.dataDir, "local-keys.json");
async function localKeys(): Promise<LocalKeys> {
  if (existsSync(keysFile)) {
    const keys = JSON.parse(readFileSync(keysFile, "utf8")) as LocalKeys;
    const known = await app.db.prisma.account.count({ where: { id: { in: [keys.requester.accountId, keys.provider.accountId] } } });
    if (known === 2) return keys;
  }
  const keys = { requester: await createAccount(app), provider: await createAccount(app) };
  if (config.local) await faucet(app, keys.requester.accountId, 1_000_000n);
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}
const keys = await localKeys();

// Paid work needs stake (slashMultiple × the price of each live execution): in local mode the
// providers' account is topped up to LOCAL_PROVIDER_STAKE from the faucet at every start.
const LOCAL_PROVIDER_STAKE = 100_000n;
if (config.local) {
  const short = LOCAL_PROVIDER_STAKE - BigInt((await accountView(app, keys.provider.accountId)).stake);
  if (short > 0n) {
    await faucet(app, keys.provider.accountId, short);
    await stakeFunds(app, keys.provider.accountId, short);
  }
}

const providers: ChildProcess[] = [];
const providerBin = path.join(root, "apps/provider-native/bin/stun-provider.mjs");
for (let i = 0; i < providerCount; i++) {
  const child = spawn(
    process.execPath,
    [providerBin, "--server", server.url, "--api-key", keys.provider.apiKey, "--name", `local-${i + 1}`, "--cache-dir", path.join(config.dataDir, "provider-cache")],
    { stdio: ["ignore", "inherit", "pipe"] },
  );
  child.stderr?.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (line.includes('"registered"')) console.log(`  provider local-${i + 1} registered`);
      else if (line.includes('"level":50') || line.includes('"level":60')) console.error(line);
    }
  });
  providers.push(child);
}

console.log(`
  Stun is running (local mode, ${app.db.kind}, data in ${config.dataDir})

  Web app    ${config.webDir ? `${server.url}/` : "not built (npm run build -w @stun/web, then restart)"}
  API        ${server.url}/api/v1   (OpenAPI: ${server.url}/api/v1/openapi.json)
  tRPC       ${server.url}/trpc
  Metrics    ${server.url}/metrics
  Providers  ${providerCount} native (onnxruntime-node, cpu)

  Your API key (requester, funded): ${keys.requester.apiKey}
    sign in to the web app with it, or use it from a shell:
    export STUN_API_KEY=${keys.requester.apiKey} STUN_SERVER=${server.url}
    npx stun models upload model.onnx

  Ctrl-C stops everything.
`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  console.log("Stopping providers and server…");
  await Promise.all(
    providers.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null) return resolve();
          p.once("exit", () => resolve());
          p.kill("SIGTERM");
          setTimeout(() => p.kill("SIGKILL"), 10_000).unref();
        }),
    ),
  );
  await server.close();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
