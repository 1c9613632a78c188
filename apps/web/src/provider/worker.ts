/**
 * The Contribute tab's provider worker: onnxruntime-web, the model cache and the socket.io
 * connection all live here, off the page's main thread, so inference never blocks the UI and a
 * background tab's timer throttling does not starve heartbeats. The page drives it with
 * {@link ToWorker} commands and renders the {@link FromWorker} events it posts back.
 *
 * One worker runs one backend with one thread count (onnxruntime-web fixes both when it loads);
 * the page starts a new worker to change them.
 */
import { RegisterSchema } from "@stun/shared";
import { BrowserProviderAgent } from "./agent";
import { buildBenchmarkMlp } from "./benchmark-model";
import { ProviderError, errorMessage } from "@stun/provider-core";
import type { FromWorker, StartConfig, TaskEvent, ToWorker, WebBackend, WorkerStats } from "./messages";
import { type ModelStore, openModelStore } from "./model-store";
import { type OrtModule, loadOrt, sessionOptionsFor } from "./ort-loader";
import { WebRunner } from "./runner";
import { ZkProver } from "./zk-prover";

export const BROWSER_PROVIDER_VERSION = "browser-0.1.0";
const MODEL_CACHE_BYTES = 1024 * 1024 * 1024;

interface WorkerScope {
  postMessage(m: FromWorker): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  crossOriginIsolated?: boolean;
}
const scope = globalThis as unknown as WorkerScope;
const post = (m: FromWorker) => scope.postMessage(m);

let runtime: { ort: OrtModule; backend: WebBackend; threads: number; store: ModelStore; benchmarkIps?: number } | undefined;
let agent: BrowserProviderAgent | undefined;
let runner: WebRunner | undefined;
/** One prover for the worker's life: its circuits (and snarkjs' threads) outlive pause/resume. */
let prover: ZkProver | undefined;
let starting = false;

const stats: WorkerStats = { done: 0, failed: 0, undelivered: 0, active: 0, runMsTotal: 0, downloads: 0, cacheHits: 0, recent: [] };
let statsTimer: ReturnType<typeof setTimeout> | undefined;
const STATS_EVERY_MS = 250;

/** Posts the counters now and then (never more than every STATS_EVERY_MS). */
function statsChanged(): void {
  if (statsTimer) return;
  statsTimer = setTimeout(() => {
    statsTimer = undefined;
    stats.active = agent?.active ?? 0;
    post({ type: "stats", stats: { ...stats, recent: [...stats.recent] } });
  }, STATS_EVERY_MS);
}

function onTask(e: TaskEvent): void {
  const at = Date.now();
  if (e.stage === "done") {
    stats.done++;
    if (e.runMs !== undefined) {
      stats.runMsTotal += e.runMs;
      stats.lastRunMs = e.runMs;
    }
    if (e.proveMs !== undefined) {
      stats.proofs = (stats.proofs ?? 0) + 1;
      stats.proveMsTotal = (stats.proveMsTotal ?? 0) + e.proveMs;
    }
  } else if (e.stage === "failed") {
    stats.failed++;
    stats.lastError = { code: e.code ?? "RUN_FAILED", message: e.message ?? "", at };
  } else if (e.stage === "undelivered") {
    stats.undelivered++;
    stats.lastError = { code: e.code ?? "UNDELIVERED", message: e.message ?? "the server did not take the result", at };
  }
  if (e.stage !== "assigned") {
    // One line per task: a zk task's "proving" line becomes its outcome.
    const i = stats.recent.findIndex((r) => r.taskId === e.taskId && r.stage === "proving");
    if (i >= 0) stats.recent.splice(i, 1);
    stats.recent.unshift({
      taskId: e.taskId,
      stage: e.stage,
      ...(e.runMs !== undefined ? { runMs: e.runMs } : {}),
      ...(e.proveMs !== undefined ? { proveMs: e.proveMs } : {}),
      ...(e.code ? { code: e.code } : {}),
      at,
    });
    if (stats.recent.length > 8) stats.recent.length = 8;
  }
  statsChanged();
}

async function benchmark(ort: OrtModule, backend: WebBackend, durationMs: number): Promise<number> {
  const m = buildBenchmarkMlp();
  const session = await ort.InferenceSession.create(m.bytes, sessionOptionsFor(backend));
  try {
    const x = new Float32Array(m.inputShape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i);
    const feeds = () => ({ [m.inputName]: new ort.Tensor("float32", x, m.inputShape) });
    for (let i = 0; i < (backend === "webgpu" ? 2 : 10); i++) await session.run(feeds());
    let runs = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < durationMs || runs < 3) {
      await session.run(feeds());
      runs++;
      elapsed = performance.now() - t0;
    }
    return Math.round((runs * 1000) / elapsed);
  } finally {
    await session.release();
  }
}

async function start(c: StartConfig): Promise<void> {
  if (agent || starting) return;
  starting = true;
  try {
    const isolated = scope.crossOriginIsolated === true;
    const threads = isolated ? Math.max(1, Math.floor(c.threads)) : 1;
    if (runtime && (runtime.backend !== c.backend || runtime.threads !== threads)) {
      post({ type: "fatal", code: "RESTART_NEEDED", message: "this worker already runs another backend or thread count" });
      return;
    }
    if (!runtime) {
      post({ type: "phase", phase: "loading", detail: `loading onnxruntime-web (${c.backend})` });
      let ort: OrtModule;
      try {
        ort = await loadOrt(c.server, c.backend, threads);
      } catch (e) {
        post({ type: "fatal", code: "ORT_LOAD_FAILED", message: `could not load onnxruntime-web from /ort/: ${errorMessage(e)}` });
        return;
      }
      const store = await openModelStore({ maxBytes: MODEL_CACHE_BYTES });
      runtime = { ort, backend: c.backend, threads, store };
      if (c.benchmarkMs > 0) {
        post({ type: "phase", phase: "benchmarking", detail: "timing a 784-512-256-10 MLP" });
        try {
          runtime.benchmarkIps = await benchmark(ort, c.backend, c.benchmarkMs);
        } catch (e) {
          const code = c.backend === "webgpu" ? "WEBGPU_UNAVAILABLE" : "BENCHMARK_FAILED";
          runtime = undefined;
          post({ type: "fatal", code, message: `onnxruntime-web could not run on ${c.backend}: ${errorMessage(e)}` });
          return;
        }
      }
      post({
        type: "runtime",
        backend: c.backend,
        ortVersion: ort.env.versions?.web ?? "?",
        threads,
        crossOriginIsolated: isolated,
        ...(runtime.benchmarkIps !== undefined ? { benchmarkIps: runtime.benchmarkIps } : {}),
        storage: store.kind,
        ...(!isolated && c.threads > 1 ? { note: "the page is not cross-origin isolated: WASM runs on 1 thread" } : {}),
      });
    }
    const rt = runtime;
    const registration = RegisterSchema.parse({
      name: c.name,
      kind: "browser",
      backend: c.backend,
      region: c.region ?? "local",
      price: c.price,
      pricePerUnit: c.pricePerUnit,
      slots: c.slots,
      specs: {
        cores: Math.max(1, c.cores),
        memoryMb: Math.max(0, Math.round(c.memoryMb)),
        gpus: c.gpu && !c.gpu.isFallbackAdapter ? [{ name: [c.gpu.vendor, c.gpu.architecture, c.gpu.description].filter(Boolean).join(" ") || "WebGPU adapter", vramMb: 0 }] : [],
        ...(rt.benchmarkIps !== undefined ? { benchmarkIps: rt.benchmarkIps } : {}),
        userAgent:
          `stun-browser-provider/${BROWSER_PROVIDER_VERSION} onnxruntime-web/${rt.ort.env.versions?.web ?? "?"} ${c.backend}${c.backend === "wasm" ? `x${rt.threads}` : ""} ${c.userAgent}`.slice(
            0,
            500,
          ),
      },
      version: BROWSER_PROVIDER_VERSION,
    });
    const r = (runner = new WebRunner({
      ort: rt.ort,
      store: rt.store,
      server: c.server,
      apiKey: c.apiKey,
      sessionOptions: sessionOptionsFor(c.backend),
      onModel: (e) => {
        if (e.source === "download") stats.downloads++;
        else stats.cacheHits++;
        post({ type: "model", ...e });
        statsChanged();
      },
    }));
    if (!prover || prover.server !== c.server || prover.apiKey !== c.apiKey) {
      prover = new ZkProver({
        server: c.server,
        apiKey: c.apiKey,
        store: rt.store,
        onArtifacts: (e) => post({ type: "circuit", ...e }),
      });
    }
    agent = new BrowserProviderAgent({
      server: c.server,
      apiKey: c.apiKey,
      registration,
      runner: r,
      prover,
      duty: c.duty,
      emit: (e) => {
        if (e.type === "task") return onTask(e);
        if (e.type === "fatal") {
          agent = undefined;
          void r.close();
        }
        post(e);
      },
    });
    agent.start();
  } catch (e) {
    post({ type: "fatal", code: e instanceof ProviderError ? e.code : "START_FAILED", message: errorMessage(e) });
  } finally {
    starting = false;
  }
}

scope.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "start":
      void start(m.config);
      break;
    case "pause": {
      const a = agent;
      const r = runner;
      agent = undefined;
      runner = undefined;
      if (a) void a.pause(m.graceMs).finally(() => r?.close());
      else post({ type: "phase", phase: "paused" });
      break;
    }
    case "duty":
      agent?.setDuty(m.duty);
      break;
    case "unload":
      agent?.unload();
      agent = undefined;
      break;
  }
};
