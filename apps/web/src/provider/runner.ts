/**
 * Runs one assignment in the browser: model (by sha256) → onnxruntime-web session → outputs.
 *
 * Models come from the {@link ModelStore} (IndexedDB) when it holds bytes that still hash to the
 * sha256, else they are downloaded from the server (@stun/provider-core's downloadModel: the API
 * key only to the server's own origin, size cap `sizeBytes`, sha256; abandoned when every task
 * waiting for it has been given up) and stored.
 * Concurrent requests for one model share one download and one session; a few sessions stay open
 * (least recently used closed first).
 */
import type * as Ort from "onnxruntime-web";
import { ProviderError, SharedInterest, SharedWork, abortable, downloadModel, errorMessage, ortToWire, refuseUnlessSelfContained, sha256Hex, wireToOrt } from "@stun/provider-core";
import type { Timings, WireTensorMap } from "@stun/shared";
import type { ModelStore } from "./model-store";
import type { OrtModule } from "./ort-loader";

export interface ModelRef {
  sha256: string;
  url: string;
  sizeBytes?: number;
}

export type ModelSource = "memory" | "cache" | "download";

export interface RunOutcome {
  outputs: WireTensorMap;
  timings: Timings;
  /** Where the session came from: already open, the on-disk cache, or a download. */
  source: ModelSource;
}

interface SessionEntry {
  ready: Promise<{ session: Ort.InferenceSession; fetchMs: number; loadMs: number; source: ModelSource }>;
  session?: Ort.InferenceSession;
  inputs?: ReadonlySet<string>;
  outputs?: readonly string[];
  refs: number;
  evicted: boolean;
  /** The load is abandoned (and the entry dropped) when every caller waiting for it has given up. */
  interest: SharedInterest;
}

export interface RunnerOptions {
  ort: OrtModule;
  store: ModelStore;
  /** The server's origin (e.g. `http://127.0.0.1:4000`); model URLs must be on it. */
  server: string;
  apiKey: string;
  sessionOptions: Ort.InferenceSession.SessionOptions;
  maxSessions?: number;
  fetchTimeoutMs?: number;
  fetch?: typeof fetch;
  /** Told when a model's bytes came from the network (tests and the UI count downloads). */
  onModel?: (e: { sha256: string; source: "cache" | "download"; bytes: number; ms: number }) => void;
}

export class WebRunner {
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly downloads = new SharedWork<{ bytes: Uint8Array; fetchMs: number; source: "cache" | "download" }>();
  private downloadCount = 0;

  constructor(private readonly o: RunnerOptions) {}

  get downloadsMade(): number {
    return this.downloadCount;
  }

  /** Runs the model on the inputs; `signal` aborts a model download this run waits for (the assignment was given up). */
  async run(req: { model: ModelRef; inputs: WireTensorMap; signal?: AbortSignal }): Promise<RunOutcome> {
    const { ort } = this.o;
    const entry = await this.acquire(req.model);
    try {
      if (!entry.session) entry.interest.join(req.signal); // only a load still under way can be abandoned
      const { session, fetchMs, loadMs, source } = await abortable(entry.ready, req.signal);
      const inputs = (entry.inputs ??= new Set(session.inputNames));
      const outputNames = (entry.outputs ??= [...session.outputNames]);
      const feeds: Record<string, Ort.Tensor> = {};
      for (const name in req.inputs) {
        if (!inputs.has(name)) throw new ProviderError("INPUT_INVALID", `input "${name}" is not an input of this model (inputs: ${[...inputs].join(", ")})`);
        feeds[name] = wireToOrt(ort, name, req.inputs[name]!);
      }
      const t0 = performance.now();
      let results: Ort.InferenceSession.ReturnType;
      try {
        results = await session.run(feeds);
      } catch (e) {
        throw new ProviderError("RUN_FAILED", `onnxruntime-web: ${errorMessage(e)}`, { cause: e });
      }
      const runMs = performance.now() - t0;
      const outputs: WireTensorMap = {};
      for (const name of outputNames) outputs[name] = ortToWire(name, results[name]!);
      return { outputs, timings: { fetchMs, loadMs, runMs }, source: fetchMs === 0 && loadMs === 0 ? "memory" : source };
    } finally {
      this.release(entry);
    }
  }

  /** A session entry for the model (opening it if needed); the first waiter reports fetch/load times. */
  private async acquire(model: ModelRef): Promise<SessionEntry> {
    let entry = this.sessions.get(model.sha256);
    if (entry && !entry.evicted) {
      this.sessions.delete(model.sha256);
      this.sessions.set(model.sha256, entry); // most recently used last
      entry.refs++;
      if (entry.session) entry.ready = Promise.resolve({ session: entry.session, fetchMs: 0, loadMs: 0, source: "memory" });
      return entry;
    }
    entry = this.open(model);
    this.sessions.set(model.sha256, entry);
    entry.refs++;
    return entry;
  }

  private release(entry: SessionEntry): void {
    entry.refs--;
    if (entry.evicted && entry.refs === 0) void entry.session?.release().catch(() => undefined);
    const max = this.o.maxSessions ?? 4;
    if (this.sessions.size <= max) return;
    for (const [sha, e] of this.sessions) {
      if (this.sessions.size <= max) break;
      if (e.refs > 0 || !e.session) continue;
      this.sessions.delete(sha);
      e.evicted = true;
      void e.session.release().catch(() => undefined);
    }
  }

  private open(model: ModelRef): SessionEntry {
    const entry: SessionEntry = { refs: 0, evicted: false, interest: new SharedInterest(), ready: undefined as never };
    // Abandoned: out of the map at once, so the next caller starts a fresh load.
    entry.interest.signal.addEventListener("abort", () => !entry.session && this.sessions.get(model.sha256) === entry && this.sessions.delete(model.sha256), { once: true });
    entry.ready = (async () => {
      try {
        const { bytes, fetchMs, source } = await this.getBytes(model, entry.interest.signal);
        refuseUnlessSelfContained(model.sha256, bytes);
        const t0 = performance.now();
        let session: Ort.InferenceSession;
        try {
          session = await this.o.ort.InferenceSession.create(bytes, this.o.sessionOptions);
        } catch (e) {
          throw new ProviderError("MODEL_LOAD_FAILED", `onnxruntime-web could not load model ${model.sha256}: ${errorMessage(e)}`, { cause: e });
        }
        entry.session = session;
        return { session, fetchMs, loadMs: performance.now() - t0, source };
      } catch (e) {
        if (this.sessions.get(model.sha256) === entry) this.sessions.delete(model.sha256);
        throw e;
      }
    })();
    entry.ready.catch(() => undefined);
    return entry;
  }

  /** The model's verified bytes: from the store when they still hash right, else downloaded (once for concurrent callers). */
  getBytes(model: ModelRef, signal?: AbortSignal): Promise<{ bytes: Uint8Array; fetchMs: number; source: "cache" | "download" }> {
    return this.downloads.run(model.sha256, signal, (shared) => this.load(model, shared));
  }

  private async load(model: ModelRef, signal: AbortSignal): Promise<{ bytes: Uint8Array; fetchMs: number; source: "cache" | "download" }> {
    const t0 = performance.now();
    const stored = await this.o.store.get(model.sha256).catch(() => undefined);
    if (stored) {
      if ((await sha256Hex(stored)) === model.sha256) {
        const fetchMs = performance.now() - t0;
        this.o.onModel?.({ sha256: model.sha256, source: "cache", bytes: stored.byteLength, ms: fetchMs });
        return { bytes: stored, fetchMs, source: "cache" };
      }
      await this.o.store.delete(model.sha256).catch(() => undefined); // corrupt: fetch it again
    }
    const bytes = await this.download(model, signal);
    const fetchMs = performance.now() - t0;
    await this.o.store.put(model.sha256, bytes).catch(() => undefined); // a full disk only costs the next download
    this.o.onModel?.({ sha256: model.sha256, source: "download", bytes: bytes.byteLength, ms: fetchMs });
    return { bytes, fetchMs, source: "download" };
  }

  private download(model: ModelRef, signal: AbortSignal): Promise<Uint8Array> {
    this.downloadCount++;
    return downloadModel(this.o, model, signal);
  }

  /** Closes every session not in use (those in use close when released). */
  async close(): Promise<void> {
    const entries = [...this.sessions.values()];
    this.sessions.clear();
    for (const e of entries) {
      e.evicted = true;
      if (e.refs === 0) await e.session?.release().catch(() => undefined);
    }
  }
}
