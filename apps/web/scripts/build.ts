/**
 * Builds the web app's static export (apps/web/out) with `next build` when it is missing or stale.
 * Staleness is a content hash of everything the export is made from (apps/web sources and config,
 * and @stun/shared, @stun/provider-core and @stun/tee, which are bundled), kept in out/.stun-build-stamp. Concurrent callers (test
 * runs, npm start) share one build through a lock file.
 *
 * Used by `npm start` (scripts/start.ts), the web tests' global setup, and `npm run build -w @stun/web`
 * (this file as a program: `tsx apps/web/scripts/build.ts [--force]`).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import zlib from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const WEB_OUT = path.join(WEB_ROOT, "out");
const REPO_ROOT = path.resolve(WEB_ROOT, "../..");
const STAMP = path.join(WEB_OUT, ".stun-build-stamp");
const LOCK = path.join(os.tmpdir(), `stun-web-build-${createHash("sha256").update(WEB_ROOT).digest("hex").slice(0, 12)}.lock`);

/** What the export is built from: these files and folders (recursively). */
const INPUTS = [
  "apps/web/src",
  "apps/web/public",
  "apps/web/next.config.ts",
  "apps/web/postcss.config.mjs",
  "apps/web/package.json",
  "apps/web/tsconfig.json",
  "packages/shared/src",
  "packages/shared/package.json",
  "packages/provider-core/src",
  "packages/provider-core/package.json",
  "packages/tee/src",
  "packages/tee/package.json",
];

function listFiles(abs: string, out: string[]): void {
  if (!existsSync(abs)) return;
  const st = statSync(abs);
  if (st.isFile()) {
    out.push(abs);
    return;
  }
  for (const e of readdirSync(abs, { withFileTypes: true })) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    listFiles(path.join(abs, e.name), out);
  }
}

/** sha256 over the inputs' paths and contents (and the Next.js version). */
export function webSourceHash(): string {
  const files: string[] = [];
  for (const rel of INPUTS) listFiles(path.join(REPO_ROOT, rel), files);
  files.sort();
  const h = createHash("sha256");
  try {
    h.update(readFileSync(path.join(REPO_ROOT, "node_modules/next/package.json")));
  } catch {
    // no next installed: the build will say so
  }
  for (const f of files) {
    h.update(path.relative(REPO_ROOT, f)).update("\0").update(readFileSync(f)).update("\0");
  }
  return h.digest("hex");
}

export type WebBuildState = { fresh: true } | { fresh: false; reason: string };

export function webBuildState(hash = webSourceHash()): WebBuildState {
  if (!existsSync(path.join(WEB_OUT, "index.html"))) return { fresh: false, reason: "apps/web/out is missing" };
  if (!existsSync(STAMP)) return { fresh: false, reason: "apps/web/out has no build stamp" };
  if (readFileSync(STAMP, "utf8").trim() !== hash) return { fresh: false, reason: "the web sources changed since the last build" };
  return { fresh: true };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** One build at a time across processes: a lock file holding the builder's pid (stale locks are taken over). */
async function withLock<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(LOCK, "wx");
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      const holder = Number(readFileSync(LOCK, { encoding: "utf8", flag: "a+" }) || "0");
      if (!holder || !alive(holder)) {
        rmSync(LOCK, { force: true });
        continue;
      }
      if (Date.now() > until) throw new Error(`timed out waiting for another web build (pid ${holder}, lock ${LOCK})`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

function runNextBuild(log: (line: string) => void): Promise<void> {
  const nextBin = path.join(REPO_ROOT, "node_modules/next/dist/bin/next");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [nextBin, "build"], {
      cwd: WEB_ROOT,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve();
      else {
        log(output);
        reject(new Error(`next build failed (exit ${code}):\n${output.slice(-4000)}`));
      }
    });
  });
}

const COMPRESSIBLE = /\.(js|css|html|txt|svg|json|map)$/;

/**
 * Writes .br and .gz next to every compressible file of the export: the server sends them to
 * browsers that accept them (@fastify/static `preCompressed`), ~4× fewer bytes than plain files.
 */
export function compressExport(dir = WEB_OUT): { files: number; bytes: number; brotli: number } {
  const files: string[] = [];
  listFiles(dir, files);
  let bytes = 0;
  let brotli = 0;
  let n = 0;
  for (const f of files) {
    if (!COMPRESSIBLE.test(f)) continue;
    const data = readFileSync(f);
    if (data.length < 1024) continue;
    const br = zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length } });
    writeFileSync(`${f}.br`, br);
    writeFileSync(`${f}.gz`, zlib.gzipSync(data, { level: 9 }));
    bytes += data.length;
    brotli += br.length;
    n++;
  }
  return { files: n, bytes, brotli };
}

export interface WebBuildResult {
  built: boolean;
  ms: number;
  reason?: string;
}

/** Runs `next build` in apps/web unless out/ is fresh; returns whether it built and how long it took. */
export async function buildWeb(opts: { log?: (line: string) => void; timeoutMs?: number; force?: boolean } = {}): Promise<WebBuildResult> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  if (opts.force) rmSync(STAMP, { force: true });
  if (webBuildState().fresh) return { built: false, ms: 0 };
  return withLock(async () => {
    const hash = webSourceHash();
    const state = webBuildState(hash);
    if (state.fresh) return { built: false, ms: Date.now() - started }; // another process just built it
    log(`Building the web app (${state.reason}): next build in apps/web…`);
    await runNextBuild(log);
    mkdirSync(WEB_OUT, { recursive: true });
    compressExport(WEB_OUT);
    writeFileSync(STAMP, `${hash}\n`);
    return { built: true, ms: Date.now() - started, reason: state.reason };
  }, opts.timeoutMs ?? 600_000);
}

// As a program: build when stale (or always with --force), say what happened.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes("--force");
  buildWeb({ force, log: (line) => console.log(line) }).then(
    (r) => console.log(r.built ? `web app built in ${(r.ms / 1000).toFixed(1)} s → ${WEB_OUT}` : `web app is up to date (${WEB_OUT}); --force rebuilds it`),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
