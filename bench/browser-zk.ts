/**
 * zk proving time in the browser vs native: Groth16 (snarkjs 0.7.6) in headless Chromium — the
 * Contribute tab's prover (apps/web/src/provider/zk-prover.ts) in a Web Worker with snarkjs'
 * browser build, on an origin with the Stun server's COOP/COEP headers — against snarkjs in Node
 * (WASM with worker threads, artifacts in memory: as the native agent proves a job with
 * `proveZkJob`), in the same run, for
 *
 *   - the result-commitment circuit (16 outputs, `commitmentCircuit(16)`), and
 *   - the MNIST-size MLP 784-56-10 (as bench/zk.ts builds it), `commitInput: false` (2^12 dev
 *     ceremony, built on demand and cached), and with its input commitment only when the 2^15
 *     development ceremony already exists in circuits/.cache/ptau (`npx tsx bench/zk.ts` builds it).
 *
 *   npx tsx bench/browser-zk.ts [--runs 5] [--no-single-thread]
 *
 * Each side: one warm-up proof (loads the key, starts snarkjs' workers), then `--runs` proofs;
 * medians (and minimums). Rounds alternate native/browser so background load hits both alike. The
 * browser's time is measured inside the worker around `groth16.fullProve` (witness + proof, as
 * `proveMs` in a task's result); artifacts are in memory after the warm-up on both sides. Every
 * browser proof is verified in Node. Goal (issue 5): ≤ 6 s in the browser for the MNIST-size MLP.
 * Prints a table; asserts no times.
 */
/// <reference path="../circuits/types/modules.d.ts" />
import { workerCall } from "./support/page-worker";
import { existsSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import * as snarkjs from "snarkjs";
import {
  addressToField,
  buildModelCircuit,
  commitmentCircuit,
  compileCircuit,
  computeCommitment,
  devPtau,
  devPtauPath,
  groth16Verify,
  quantizeToField,
  requiredPower,
  setupKeys,
  shutdownZk,
  taskIdToField,
  toField,
  type Groth16Proof,
  type VerificationKey,
} from "@stun/circuits";
import { type Groth16Prover, type ZkJob, proveZkJob, zkWitnessInput } from "@stun/shared";
import { buildMlp, mulberry32 } from "@stun/testkit";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    "no-single-thread": { type: "boolean", default: false },
  },
});
const RUNS = Math.max(1, Number(args.runs));
const GOAL_BROWSER_S = 6;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PROVIDER_SRC = path.join(ROOT, "apps/web/src/provider");
const PROVIDER = "0x8ba1f109551bD432803012645Ac136ddd64DBA72";
const log = (line: string) => console.log(`  ${line}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface Case {
  name: string;
  constraints: number;
  wasmPath: string;
  zkeyPath: string;
  vkey: VerificationKey;
  /** The witness input of run i (a new task each time, as a provider sees them). */
  witness(i: number): Record<string, unknown>;
  /** For zkML circuits: the job the server would send (the browser proves it through ZkProver). */
  job?(i: number): { job: ZkJob; input: number[] };
}

// ---- the circuits (compiled and keyed once; cached in circuits/.cache) -------------------------

console.log(`browser zk bench: snarkjs Groth16, ${RUNS} timed proofs per side after one warm-up (${os.cpus()[0]?.model.trim()}, ${os.availableParallelism()} cores)`);
const cases: Case[] = [];
{
  const { circuit, keys } = await commitmentCircuit(16, { log });
  const outputs = quantizeToField(Array.from({ length: 16 }, (_, i) => Math.sin(i)));
  const witnesses = new Map<number, Record<string, unknown>>();
  for (let i = 0; i < 2 * RUNS + 4; i++) {
    const taskId = `tsk_bench_commit_${i}`;
    const commitment = await computeCommitment({ taskId, provider: PROVIDER, outputs, salt: 12345n + BigInt(i) }, 16);
    witnesses.set(i, {
      taskId: taskIdToField(taskId).toString(),
      provider: addressToField(PROVIDER).toString(),
      commitment: commitment.toString(),
      outputs: outputs.map(String),
      salt: toField(12345n + BigInt(i)).toString(),
    });
  }
  cases.push({
    name: "result commitment (16 outputs)",
    constraints: circuit.info.constraints,
    wasmPath: circuit.wasmPath,
    zkeyPath: keys.zkeyPath,
    vkey: keys.vkey,
    witness: (i) => witnesses.get(i)!,
  });
}
{
  const mlp = buildMlp({ inputSize: 784, hidden: [56], outputSize: 10, batch: 1, seed: 2024 });
  const rand = mulberry32(7);
  const inputs = Array.from({ length: 2 * RUNS + 4 }, () => Array.from({ length: 784 }, () => rand()));
  const variants = [
    { label: "MLP 784-56-10, commitInput: false", commitInput: false, name: "bench_mnist_plain" },
    { label: "MLP 784-56-10, input committed", commitInput: true, name: "bench_mnist_commit" },
  ];
  for (const v of variants) {
    const model = await buildModelCircuit(mlp.bytes, { commitInput: v.commitInput });
    const circuit = await compileCircuit({ name: v.name, source: model.source, log });
    const power = requiredPower(circuit.info.constraints, model.nPublic);
    if (v.commitInput && !existsSync(devPtauPath(power))) {
      log(`${v.label}: ${circuit.info.constraints} constraints; skipped (its 2^${power} development ceremony is not in circuits/.cache/ptau; npx tsx bench/zk.ts builds it)`);
      continue;
    }
    const keys = await setupKeys(circuit, { ptauPath: (await devPtau(power, { log })).path, log });
    const circuitHash = createHash("sha256").update(readFileSync(keys.zkeyPath)).digest("hex");
    const job = (i: number): ZkJob => ({
      circuitHash,
      wasmUrl: `/circuits/${v.name}/circuit.wasm`,
      zkeyUrl: `/circuits/${v.name}/circuit.zkey`,
      input: mlp.inputName,
      inputSize: model.input.size,
      scaleBits: model.options.scaleBits,
      taskSignal: taskIdToField(`tsk_bench_mlp_${i}`).toString(),
      providerSignal: addressToField(PROVIDER).toString(),
    });
    cases.push({
      name: v.label,
      constraints: circuit.info.constraints,
      wasmPath: circuit.wasmPath,
      zkeyPath: keys.zkeyPath,
      vkey: keys.vkey,
      witness: (i) => zkWitnessInput(job(i), inputs[i % inputs.length]!),
      job: (i) => ({ job: job(i), input: inputs[i % inputs.length]! }),
    });
  }
}

// ---- the browser side: the provider's ZkProver (zkML jobs) and snarkjs' browser build in a module worker

const WORKER_ENTRY = `
import * as snarkjs from "snarkjs";
import { ZkProver } from ${JSON.stringify(path.join(PROVIDER_SRC, "zk-prover.ts"))};
const provers = new Map();
const raw = new Map();
self.onmessage = async (e) => {
  const m = e.data;
  try {
    const singleThread = m.singleThread;
    if (m.job) {
      // A zkML job exactly as the Contribute tab proves it.
      if (!provers.has(singleThread)) provers.set(singleThread, new ZkProver({ server: location.origin, apiKey: "bench", singleThread, loadSnarkjs: async () => snarkjs }));
      const r = await provers.get(singleThread).prove(m.job, m.input);
      self.postMessage({ ok: true, proof: r.proof, publicSignals: r.publicSignals, ms: r.proveMs });
      return;
    }
    let a = raw.get(m.name);
    if (!a) {
      const get = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
      raw.set(m.name, (a = { wasm: await get("/circuits/" + m.name + "/circuit.wasm"), zkey: await get("/circuits/" + m.name + "/circuit.zkey") }));
    }
    const t0 = performance.now();
    const r = await snarkjs.groth16.fullProve(m.witness, { type: "mem", data: a.wasm }, { type: "mem", data: a.zkey }, undefined, undefined, singleThread ? { singleThread: true } : undefined);
    self.postMessage({ ok: true, proof: r.proof, publicSignals: r.publicSignals, ms: performance.now() - t0 });
  } catch (err) {
    self.postMessage({ ok: false, error: String((err && err.stack) || err) });
  }
};
`;

const bundle = await build({
  stdin: { contents: WORKER_ENTRY, resolveDir: PROVIDER_SRC, sourcefile: "zk-bench-worker.js", loader: "js" },
  bundle: true,
  format: "esm",
  platform: "browser", // snarkjs and ffjavascript resolve to their browser builds
  target: "es2022",
  write: false,
  minify: true,
  logLevel: "error",
});
const workerJs = bundle.outputFiles[0]!.text;

const files = new Map<string, string>();
const caseFile = (c: Case) => (c.job ? c.job(0).job.wasmUrl.split("/")[2]! : c.name.replace(/\W+/g, "_"));
for (const c of cases) {
  files.set(`/circuits/${caseFile(c)}/circuit.wasm`, c.wasmPath);
  files.set(`/circuits/${caseFile(c)}/circuit.zkey`, c.zkeyPath);
}
const isolation = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" };
const server = http.createServer((req, res) => {
  const url = (req.url ?? "/").split("?")[0]!;
  if (url === "/") res.writeHead(200, { ...isolation, "content-type": "text/html" }).end("<!doctype html><title>browser zk bench</title>");
  else if (url === "/zk-bench-worker.js") res.writeHead(200, { ...isolation, "content-type": "text/javascript" }).end(workerJs);
  else if (files.has(url)) res.writeHead(200, { ...isolation, "content-type": url.endsWith(".wasm") ? "application/wasm" : "application/octet-stream" }).end(readFileSync(files.get(url)!));
  else res.writeHead(url === "/favicon.ico" ? 204 : 404, isolation).end();
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

const profile = await mkdtemp(path.join(os.tmpdir(), "stun-bench-chromium-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.STUN_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});

interface Row {
  circuit: string;
  constraints: number;
  native: number[];
  browser: number[];
  single: number[];
}
const rows: Row[] = [];
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`${origin}/`);
  const call = await workerCall(page, "/zk-bench-worker.js");
  const env = (await page.evaluate("({ isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency, ua: navigator.userAgent })")) as { isolated: boolean; cores: number; ua: string };
  console.log(`  native : Node ${process.version}, snarkjs 0.7.6 Node build (WASM, worker threads), artifacts in memory — proveZkJob as the native agent calls it`);
  console.log(
    `  browser: Chromium ${browser.browser()?.version() ?? "?"} headless, cross-origin isolated: ${env.isolated}, navigator.hardwareConcurrency ${env.cores} — the Contribute tab's ZkProver in a module Web Worker, snarkjs browser build (nested workers; "1 thread": singleThread)\n`,
  );

  type Answer = { proof: Groth16Proof; publicSignals: string[]; ms: number };
  const inBrowser = async (c: Case, i: number, singleThread: boolean): Promise<number> => {
    const msg = c.job ? { ...c.job(i), singleThread } : { name: caseFile(c), witness: c.witness(i), singleThread };
    const r = await call<Answer>(msg);
    if (!(await groth16Verify(c.vkey, r.publicSignals, r.proof))) throw new Error(`${c.name}: a browser proof did not verify`);
    return r.ms;
  };
  // Native: snarkjs' Node build on the same bytes in memory (the native agent's ZkProver does the same).
  const mem = new Map(cases.map((c) => [c, { wasm: new Uint8Array(readFileSync(c.wasmPath)), zkey: new Uint8Array(readFileSync(c.zkeyPath)) }]));
  const natively = async (c: Case, i: number): Promise<number> => {
    const a = mem.get(c)!;
    if (c.job) {
      const { job, input } = c.job(i);
      return (await proveZkJob(snarkjs as Groth16Prover, job, a, input)).proveMs;
    }
    const t0 = performance.now();
    await (snarkjs as Groth16Prover).groth16.fullProve(c.witness(i), { type: "mem", data: a.wasm }, { type: "mem", data: a.zkey });
    return performance.now() - t0;
  };

  for (const c of cases) {
    console.log(`${c.name} (${c.constraints.toLocaleString("en-US")} constraints)`);
    const row: Row = { circuit: c.name, constraints: c.constraints, native: [], browser: [], single: [] };
    const single = !args["no-single-thread"];
    await natively(c, 0);
    await inBrowser(c, 0, false);
    if (single) await inBrowser(c, 0, true);
    for (let r = 1; r <= RUNS; r++) {
      if (r % 2) {
        row.native.push(await natively(c, r));
        row.browser.push(await inBrowser(c, r, false));
      } else {
        row.browser.push(await inBrowser(c, r, false));
        row.native.push(await natively(c, r));
      }
      if (single) row.single.push(await inBrowser(c, r, true));
    }
    log(`native  ${row.native.map((ms) => sec(ms)).join(", ")}`);
    log(`browser ${row.browser.map((ms) => sec(ms)).join(", ")}`);
    if (single) log(`browser 1 thread ${row.single.map((ms) => sec(ms)).join(", ")}`);
    rows.push(row);
  }
} finally {
  await browser.close();
  server.close();
  await rm(profile, { recursive: true, force: true });
  await shutdownZk();
}

const cell = (xs: number[]) => (xs.length ? `${sec(median(xs))} (min ${sec(Math.min(...xs))})` : "–");
console.log("\n| circuit | constraints | native Node (median) | Chromium worker (median) | Chromium, 1 thread | browser / native | goal ≤ 6 s in the browser |");
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) {
  const goal = r.circuit.startsWith("MLP") ? (median(r.browser) <= GOAL_BROWSER_S * 1000 ? "met" : "not met") : "–";
  console.log(
    `| ${r.circuit} | ${r.constraints.toLocaleString("en-US")} | ${cell(r.native)} | ${cell(r.browser)} | ${cell(r.single)} | ${(median(r.browser) / median(r.native)).toFixed(2)}× | ${goal} |`,
  );
}
