/// <reference path="../../../circuits/types/modules.d.ts" />
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ModelArtifacts, addressToField, compileModelCircuit, decodeOutputs, inputHashOf, shutdownZk, taskIdToField, verifyInference } from "@stun/circuits";
import type { Groth16Proof, ZkJob } from "@stun/shared";
import { buildMlp } from "@stun/testkit";
import { launchBrowser, type TestBrowser } from "./support/browser";

const PROVIDER_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/provider");
const API_KEY = "sk_test_zk_prover";
const PROVIDER = "0x8ba1f109551bD432803012645Ac136ddd64DBA72";

/**
 * The Contribute tab's zk prover (src/provider/zk-prover.ts: what its worker runs for a task whose
 * `task:assign` carries `zk`) in a real Web Worker in real Chromium, with snarkjs' real browser
 * build: it fetches the circuit's WASM and proving key from a cross-origin-isolated origin (with
 * the API key), checks the key against the job's circuit hash, caches both (memory, IndexedDB) and
 * proves; the proof is checked here in Node with @stun/circuits' verifier. The worker is the
 * prover module bundled with esbuild (browser conditions, as Next bundles the tab's worker).
 */
describe("zk: the browser provider proves a zk job in a Web Worker", () => {
  const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 11 });
  let artifacts: ModelArtifacts;
  let job: (taskId: string) => ZkJob;
  let site: { url: string; requests: string[]; close(): Promise<void> };
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    artifacts = await compileModelCircuit(mlp.bytes); // 2^11 dev ceremony, cached in circuits/.cache
    const zkey = readFileSync(artifacts.keys.zkeyPath);
    const circuitHash = createHash("sha256").update(zkey).digest("hex");
    const files = new Map<string, Buffer>([
      [`/api/v1/circuits/${circuitHash}/circuit.wasm`, readFileSync(artifacts.circuit.wasmPath)],
      [`/api/v1/circuits/${circuitHash}/circuit_final.zkey`, zkey],
      // A proving key that is not the one the job names.
      [`/api/v1/circuits/other/circuit_final.zkey`, Buffer.concat([zkey, Buffer.from([0])])],
    ]);
    site = await serve(await bundleWorker(), files);
    job = (taskId) => ({
      circuitHash,
      wasmUrl: `/api/v1/circuits/${circuitHash}/circuit.wasm`,
      zkeyUrl: `/api/v1/circuits/${circuitHash}/circuit_final.zkey`,
      input: "x",
      inputSize: artifacts.model.input.size,
      scaleBits: artifacts.model.options.scaleBits,
      taskSignal: taskIdToField(taskId).toString(),
      providerSignal: addressToField(PROVIDER).toString(),
    });
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(`${site.url}/`);
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await shutdownZk();
  });

  type Answer =
    | { ok: true; proof: Groth16Proof; publicSignals: string[]; proveMs: number; fetchMs: number; source: string; downloads: number; singleThreaded: boolean; isolated: boolean }
    | { ok: false; code: string; message: string };
  /** One job through the page's prover worker (started on first use; `fresh` starts a new one). */
  const prove = (j: ZkJob, x: Float32Array, opts: { fresh?: boolean } = {}): Promise<Answer> =>
    page.evaluate(
      ({ j, bytes, apiKey, fresh }) => {
        const w = window as unknown as { zkWorker?: Worker };
        if (fresh) w.zkWorker?.terminate();
        if (fresh || !w.zkWorker) w.zkWorker = new Worker("/zk-worker.js", { type: "module", name: "zk-test" });
        const worker = w.zkWorker;
        return new Promise<Answer>((resolve) => {
          worker.onmessage = (e: MessageEvent<Answer>) => resolve(e.data);
          worker.onerror = (e) => resolve({ ok: false, code: "WORKER_ERROR", message: e.message });
          worker.postMessage({ job: j, apiKey, inputs: { x: { dtype: "float32", dims: [1, j.inputSize], data: new Uint8Array(bytes) } } });
        });
      },
      { j, bytes: Array.from(new Uint8Array(x.buffer)), apiKey: API_KEY, fresh: opts.fresh ?? false },
    );

  const input = (seed: number) => Float32Array.from({ length: 4 }, (_, i) => Math.sin(i + seed) * 0.8);

  it("proves the model on the task's input; the proof verifies in Node, bound to task, provider and input", async () => {
    const taskId = "tsk_test_zk_browser_1";
    const x = input(1);
    const r = await prove(job(taskId), x);
    if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    expect(r.isolated).toBe(true);
    expect(r.singleThreaded).toBe(false); // snarkjs' nested workers start inside the provider's worker
    expect(r.source).toBe("download");
    expect(r.proveMs).toBeGreaterThan(0);
    expect(r.proof).toMatchObject({ protocol: "groth16", curve: "bn128" });

    const expectedInputHash = await inputHashOf(artifacts.model, x);
    const opts = { expectedInputHash, taskId, provider: PROVIDER };
    expect(await verifyInference(artifacts.vkey, r.proof, r.publicSignals, artifacts.modelHash, opts)).toBe(true);
    // The proven outputs are the model's (up to fixed-point rounding).
    const out = decodeOutputs(artifacts.model, r.publicSignals)[0]!.data;
    const ref = mlp.forward(x, 1);
    Array.from(ref).forEach((v, i) => expect(Math.abs(out[i]! - v)).toBeLessThan(1e-3));

    // Any public signal changed (an output, the task, the provider) and the proof no longer verifies.
    const outIndex = artifacts.model.outputs[0]!.offset;
    const tampered = r.publicSignals.map((s, i) => (i === outIndex ? (BigInt(s) + 1n).toString() : s));
    expect(await verifyInference(artifacts.vkey, r.proof, tampered, artifacts.modelHash, opts)).toBe(false);
    expect(await verifyInference(artifacts.vkey, r.proof, r.publicSignals, artifacts.modelHash, { ...opts, taskId: "tsk_test_other" })).toBe(false);
    expect(await verifyInference(artifacts.vkey, r.proof, r.publicSignals, artifacts.modelHash, { ...opts, expectedInputHash: await inputHashOf(artifacts.model, input(2)) })).toBe(false);
    // The API key went with every artifact request, and each artifact was fetched once.
    expect(site.requests.filter((u) => u.startsWith("/api/v1/circuits/"))).toHaveLength(2);
    expect(browser.errors()).toEqual([]);
  });

  it("keeps the circuit in memory and in IndexedDB: later proofs, and a new worker, download nothing", async () => {
    const before = site.requests.length;
    const again = await prove(job("tsk_test_zk_browser_2"), input(2));
    if (!again.ok) throw new Error(`${again.code}: ${again.message}`);
    expect(again.source).toBe("memory");
    expect(again.fetchMs).toBe(0);
    // A new worker (a reload of the tab) reads the circuit from IndexedDB, the key's hash checked.
    const reloaded = await prove(job("tsk_test_zk_browser_3"), input(3), { fresh: true });
    if (!reloaded.ok) throw new Error(`${reloaded.code}: ${reloaded.message}`);
    expect(reloaded.source).toBe("cache");
    expect(reloaded.downloads).toBe(0);
    expect(site.requests.slice(before).filter((u) => u.startsWith("/api/v1/circuits/"))).toEqual([]);
    const ok = await verifyInference(artifacts.vkey, reloaded.proof, reloaded.publicSignals, artifacts.modelHash, {
      expectedInputHash: await inputHashOf(artifacts.model, input(3)),
      taskId: "tsk_test_zk_browser_3",
      provider: PROVIDER,
    });
    expect(ok).toBe(true);
    expect(browser.errors()).toEqual([]);
  });

  it("fails with PROOF_FAILED and a clear message, never hangs: wrong proving key, missing circuit, off-origin URL, bad input", async () => {
    const base = job("tsk_test_zk_browser_4");
    const wrongKey = await prove({ ...base, circuitHash: "ab".repeat(32), zkeyUrl: "/api/v1/circuits/other/circuit_final.zkey" }, input(4));
    expect(wrongKey).toMatchObject({ ok: false, code: "PROOF_FAILED" });
    expect((wrongKey as { message: string }).message).toMatch(/hashes to [0-9a-f]{64}, but the job names circuit abab/);

    const missing = await browser.allowErrors(/404/, () => prove({ ...base, circuitHash: "cd".repeat(32), wasmUrl: "/api/v1/circuits/none/circuit.wasm" }, input(4)));
    expect(missing).toMatchObject({ ok: false, code: "PROOF_FAILED" });
    expect((missing as { message: string }).message).toMatch(/circuit\.wasm \(witness generator\) answered HTTP 404/);

    const offOrigin = await prove({ ...base, circuitHash: "ef".repeat(32), wasmUrl: "http://example.invalid/circuit.wasm" }, input(4));
    expect(offOrigin).toMatchObject({ ok: false, code: "PROOF_FAILED" });

    const wrongSize = await prove({ ...base, inputSize: 5 }, input(4));
    expect(wrongSize).toMatchObject({ ok: false, code: "PROOF_FAILED" });

    // Values the circuit cannot take: NaN before anything runs; a huge one fails the witness's range checks.
    const nan = await prove(base, Float32Array.from([Number.NaN, 0, 0, 0]));
    expect(nan).toMatchObject({ ok: false, code: "PROOF_FAILED" });
    expect((nan as { message: string }).message).toMatch(/cannot enter the circuit/);
    // (circom's witness calculator also logs the failing templates with console.error)
    const huge = await browser.allowErrors(/Error in template/, () => prove(base, Float32Array.from([3e9, -3e9, 3e9, 1])));
    expect(huge).toMatchObject({ ok: false, code: "PROOF_FAILED" });
    expect((huge as { message: string }).message).toMatch(/snarkjs could not prove circuit [0-9a-f]{12}: .*Assert Failed/s);

    // The worker is none the worse: the next job proves, from memory.
    const after = await prove(job("tsk_test_zk_browser_5"), input(5));
    expect(after).toMatchObject({ ok: true, source: "memory" });
    expect(browser.errors()).toEqual([]);
  });
});

/** The prover module in a module worker, as the tab's worker holds it (answers one message per job). */
const WORKER_ENTRY = `
import { ZkProver, zkInputValues } from ${JSON.stringify(path.join(PROVIDER_SRC, "zk-prover.ts"))};
import { openModelStore } from ${JSON.stringify(path.join(PROVIDER_SRC, "model-store.ts"))};
let prover;
self.onmessage = async (e) => {
  const { job, apiKey, inputs } = e.data;
  try {
    prover ??= new ZkProver({ server: location.origin, apiKey, store: await openModelStore({ maxBytes: 1 << 30, dbName: "stun-zk-test" }) });
    const r = await prover.prove(job, zkInputValues(job, inputs));
    self.postMessage({ ok: true, ...r, downloads: prover.downloadsMade, singleThreaded: prover.singleThreaded, isolated: self.crossOriginIsolated });
  } catch (err) {
    self.postMessage({ ok: false, code: err?.code ?? "UNCAUGHT", message: String(err?.message ?? err) });
  }
};
`;

async function bundleWorker(): Promise<string> {
  const out = await build({
    stdin: { contents: WORKER_ENTRY, resolveDir: PROVIDER_SRC, sourcefile: "zk-worker.js", loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "error",
  });
  return out.outputFiles[0]!.text;
}

/** A throwaway origin with the Stun server's isolation headers; circuit files need the API key. */
async function serve(workerJs: string, files: Map<string, Buffer>): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const isolation = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" };
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0]!;
    requests.push(url);
    if (url === "/") res.writeHead(200, { ...isolation, "content-type": "text/html" }).end("<!doctype html><title>zk prover test</title>");
    else if (url === "/favicon.ico") res.writeHead(204, isolation).end();
    else if (url === "/zk-worker.js") res.writeHead(200, { ...isolation, "content-type": "text/javascript" }).end(workerJs);
    else if (files.has(url)) {
      if (req.headers.authorization !== `Bearer ${API_KEY}`) res.writeHead(401, isolation).end();
      else res.writeHead(200, { ...isolation, "content-type": "application/octet-stream" }).end(files.get(url));
    } else res.writeHead(404, isolation).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}
