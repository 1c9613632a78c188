/**
 * Browser provider throughput: the Contribute tab's runner (apps/web/src/provider/runner.ts:
 * wire tensor in → onnxruntime-web WASM → wire tensor out, session from its model cache) in a
 * Web Worker in real Chromium, against the native provider's runner (onnxruntime-node, CPU EP, as
 * bench/provider-throughput.ts measures it), on the same models and machine at batch 1: the
 * 784-512-256-10 MLP and the small CNN. Prints inferences/s of each (and of bare session.run on
 * both sides) and the fraction browser/native (goal ≥ 33%).
 *
 *   npx tsx bench/browser-provider.ts [--seconds 0.25] [--rounds 21] [--threads N] [--native-threads N]
 *
 * --threads: WASM threads in the browser (default: the Contribute tab's default for this machine,
 * half the cores, at most 4); --native-threads: onnxruntime-node intra-op threads (default: its own
 * choice, as the native agent runs). The browser side is served by a throwaway HTTP server with the
 * same COOP/COEP headers and `/ort/` layout as the Stun server; the worker is the provider's
 * runner bundled with esbuild. Rounds alternate native/browser so background load hits both alike;
 * reported are medians and the median of the per-round ratios.
 */
import { workerCall } from "./support/page-worker";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import ort from "onnxruntime-node";
import { chromium } from "playwright-core";
import { ModelCache, Runner, quietOrtLogs } from "@stun/provider-native";
import { buildMlp, buildSmallCnn, wireTensor } from "@stun/testkit";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "0.25" },
    rounds: { type: "string", default: "21" },
    threads: { type: "string" },
    "native-threads": { type: "string" },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CORES = os.availableParallelism();
const BROWSER_THREADS = values.threads ? Number(values.threads) : Math.max(1, Math.min(4, Math.ceil(CORES / 2)));
const nativeSessionOptions: ort.InferenceSession.SessionOptions = values["native-threads"] ? { intraOpNumThreads: Number(values["native-threads"]) } : {};
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PROVIDER_SRC = path.join(ROOT, "apps/web/src/provider");
const ORT_DIST = path.dirname(createRequire(path.join(ROOT, "apps/web/package.json")).resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));

quietOrtLogs();

interface Case {
  name: string;
  bytes: Uint8Array;
  sha256: string;
  inputName: string;
  outputName: string;
  dims: number[];
}
const mk = (name: string, bytes: Uint8Array, inputName: string, outputName: string, dims: number[]): Case => ({
  name,
  bytes,
  sha256: createHash("sha256").update(bytes).digest("hex"),
  inputName,
  outputName,
  dims,
});
const mlp = buildMlp({ inputSize: 784, hidden: [512, 256], outputSize: 10, seed: 1, batch: 1 });
const cnn = buildSmallCnn({ seed: 1 });
const cases: Case[] = [mk("MLP 784-512-256-10, batch 1", mlp.bytes, "x", "y", [1, 784]), mk("small CNN 1x1x8x8", cnn.bytes, "image", "logits", [1, 1, 8, 8])];

// ---- the browser side: the provider's runner in a module worker ------------------------------

const WORKER_ENTRY = `
import { WebRunner } from ${JSON.stringify(path.join(PROVIDER_SRC, "runner.ts"))};
import { openModelStore } from ${JSON.stringify(path.join(PROVIDER_SRC, "model-store.ts"))};
import { loadOrt, sessionOptionsFor } from ${JSON.stringify(path.join(PROVIDER_SRC, "ort-loader.ts"))};

let ort, runner;
const sessions = new Map();
async function timed(fn, seconds) {
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 20; i++) await fn();
    n += 20;
  }
  return n / ((performance.now() - t0) / 1000);
}
self.onmessage = async (e) => {
  const m = e.data;
  try {
    if (m.type === "init") {
      ort = await loadOrt(location.origin, "wasm", m.threads);
      const store = await openModelStore({ maxBytes: 1 << 30, dbName: "stun-bench" });
      runner = new WebRunner({ ort, store, server: location.origin, apiKey: "bench", sessionOptions: sessionOptionsFor("wasm") });
      self.postMessage({ ok: true, version: ort.env.versions.web, isolated: self.crossOriginIsolated, threads: ort.env.wasm.numThreads });
      return;
    }
    const { c, seconds, mode } = m;
    const count = c.dims.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.1));
    const model = { sha256: c.sha256, url: "/models/" + c.sha256, sizeBytes: c.size };
    const wire = { dtype: "float32", dims: c.dims, data: new Uint8Array(x.buffer) };
    if (mode === "check") {
      const out = await runner.run({ model, inputs: { [c.inputName]: wire } });
      self.postMessage({ ok: true, out: Array.from(new Float32Array(out.outputs[c.outputName].data.slice().buffer)) });
      return;
    }
    let fn;
    if (mode === "bare") {
      let s = sessions.get(c.sha256);
      if (!s) sessions.set(c.sha256, (s = await ort.InferenceSession.create(await (await fetch(model.url)).arrayBuffer().then((b) => new Uint8Array(b)), sessionOptionsFor("wasm"))));
      fn = () => s.run({ [c.inputName]: new ort.Tensor("float32", x, c.dims) });
    } else {
      fn = () => runner.run({ model, inputs: { [c.inputName]: wire } });
    }
    self.postMessage({ ok: true, ips: await timed(fn, seconds) });
  } catch (err) {
    self.postMessage({ ok: false, error: String(err && err.stack || err) });
  }
};
`;

async function bundleWorker(): Promise<string> {
  const out = await build({
    stdin: { contents: WORKER_ENTRY, resolveDir: PROVIDER_SRC, sourcefile: "bench-worker.js", loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    minify: true,
    logLevel: "error",
  });
  return out.outputFiles[0]!.text;
}

async function serve(workerJs: string): Promise<{ url: string; close(): Promise<void> }> {
  const models = new Map(cases.map((c) => [c.sha256, c.bytes]));
  const isolation = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" };
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = (req.url ?? "/").split("?")[0]!;
      try {
        if (url === "/") {
          res.writeHead(200, { ...isolation, "content-type": "text/html" }).end("<!doctype html><title>browser provider bench</title>");
        } else if (url === "/favicon.ico") {
          res.writeHead(204, isolation).end();
        } else if (url === "/bench-worker.js") {
          res.writeHead(200, { ...isolation, "content-type": "text/javascript" }).end(workerJs);
        } else if (url.startsWith("/models/") && models.has(url.slice(8))) {
          res.writeHead(200, { ...isolation, "content-type": "application/octet-stream" }).end(models.get(url.slice(8)));
        } else if (/^\/ort\/[\w.-]+\.(mjs|wasm)$/.test(url)) {
          const bytes = await readFile(path.join(ORT_DIST, url.slice(5)));
          res.writeHead(200, { ...isolation, "content-type": url.endsWith(".wasm") ? "application/wasm" : "text/javascript" }).end(bytes);
        } else {
          res.writeHead(404, isolation).end();
        }
      } catch {
        res.writeHead(500, isolation).end();
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

// ---- the native side: as bench/provider-throughput.ts -----------------------------------------

async function timed(fn: () => Promise<unknown>, seconds: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 20; i++) await fn();
    n += 20;
  }
  return n / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ips: number) => `${ips.toFixed(0).padStart(7)} inf/s  (${(1000 / ips).toFixed(4)} ms)`;

const dir = await mkdtemp(path.join(os.tmpdir(), "stun-bench-"));
const profile = await mkdtemp(path.join(os.tmpdir(), "stun-bench-chromium-"));
const site = await serve(await bundleWorker());
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  for (const c of cases) await writeFile(path.join(dir, `${c.sha256}.onnx`), c.bytes);
  const cache = await ModelCache.open({ server: "http://127.0.0.1:9", apiKey: "unused", dir, maxBytes: 1 << 30, sessionOptions: nativeSessionOptions });
  const runner = new Runner(cache);

  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`${site.url}/`);
  const call = await workerCall(page, "/bench-worker.js");
  const info = await call<{ version: string; isolated: boolean; threads: number }>({ type: "init", threads: BROWSER_THREADS });
  const chromiumVersion = browser.browser()?.version() ?? "?";

  console.log(`browser provider throughput (${os.cpus()[0]?.model.trim()}, ${CORES} cores)`);
  console.log(`  native : onnxruntime-node ${ort.env.versions.common}, CPU EP, intra-op threads: ${values["native-threads"] ?? "default"} — the native provider's Runner`);
  console.log(
    `  browser: Chromium ${chromiumVersion}, onnxruntime-web ${info.version} WASM, ${info.threads} thread(s), cross-origin isolated: ${info.isolated} — the Contribute tab's WebRunner in a Web Worker`,
  );
  console.log(`${ROUNDS} alternating rounds of ${SECONDS}s each; median inferences/s\n`);

  for (const c of cases) {
    const wc = { sha256: c.sha256, size: c.bytes.byteLength, inputName: c.inputName, outputName: c.outputName, dims: c.dims };
    const model = { sha256: c.sha256, url: "/unused", sizeBytes: c.bytes.byteLength };
    const count = c.dims.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.1));
    const wire = { ...wireTensor("float32", c.dims, x), data: Buffer.from(x.buffer) };
    const nativeRun = () => runner.run({ model, inputs: { [c.inputName]: wire } });
    const bare = await ort.InferenceSession.create(c.bytes, { ...nativeSessionOptions, executionProviders: ["cpu"] });
    const bareRun = () => bare.run({ [c.inputName]: new ort.Tensor("float32", x, c.dims) });

    // Same answer both ways (to float tolerance: different kernels).
    const nativeOut = (await nativeRun()).outputs[c.outputName]!;
    const n = new Float32Array(new Uint8Array(nativeOut.data as Uint8Array).buffer);
    const { out } = await call<{ out: number[] }>({ type: "run", mode: "check", c: wc });
    const maxDiff = Math.max(...out.map((v, i) => Math.abs(v - n[i]!)));
    if (out.length !== n.length || !(maxDiff < 1e-4)) throw new Error(`${c.name}: browser output differs from native (max |Δ| ${maxDiff})`);

    await timed(nativeRun, 0.3);
    await call({ type: "run", mode: "runner", c: wc, seconds: 0.3 });
    await call({ type: "run", mode: "bare", c: wc, seconds: 0.3 });
    const nativeIps: number[] = [];
    const browserIps: number[] = [];
    const nativeBare: number[] = [];
    const browserBare: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const browserRound = async () => browserIps.push((await call<{ ips: number }>({ type: "run", mode: "runner", c: wc, seconds: SECONDS })).ips);
      const nativeRound = async () => nativeIps.push(await timed(nativeRun, SECONDS));
      if (r % 2 === 0) {
        await nativeRound();
        await browserRound();
      } else {
        await browserRound();
        await nativeRound();
      }
      if (r % 4 === 0) {
        nativeBare.push(await timed(bareRun, SECONDS));
        browserBare.push((await call<{ ips: number }>({ type: "run", mode: "bare", c: wc, seconds: SECONDS })).ips);
      }
    }
    const ratios = browserIps.map((b, i) => b / nativeIps[i]!);
    const q = [...ratios].sort((a, b) => a - b);
    console.log(c.name);
    console.log(`  native  provider runner : ${fmt(median(nativeIps))}   bare session.run ${median(nativeBare).toFixed(0)} inf/s`);
    console.log(`  browser provider runner : ${fmt(median(browserIps))}   bare session.run ${median(browserBare).toFixed(0)} inf/s`);
    console.log(
      `  browser / native        : ${(median(ratios) * 100).toFixed(1)}% (median of ${ROUNDS} paired rounds; quartiles ${(q[Math.floor(ROUNDS / 4)]! * 100).toFixed(0)}–${(q[Math.floor((3 * ROUNDS) / 4)]! * 100).toFixed(0)}%)  goal ≥ 33%`,
    );
    console.log(`  outputs agree           : max |Δ| ${maxDiff.toExponential(1)}\n`);
    await bare.release();
  }
  await cache.close();
} finally {
  await browser.close();
  await site.close();
  await rm(dir, { recursive: true, force: true });
  await rm(profile, { recursive: true, force: true });
}
