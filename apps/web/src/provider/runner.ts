/**
 * Runs one assignment in the browser: model (by sha256) → onnxruntime-web session → outputs.
 *
 * Models come from the {@link ModelStore} (IndexedDB) when it holds bytes that still hash to the
 * sha256, else they are downloaded from the server (`GET <origin><model.url>` with the API key,
 * only ever on the server's own origin), checked (size cap `sizeBytes`, sha256) and stored.
 * Concurrent requests for one model share one download and one session; a few sessions stay open
 * (least recently used closed first).
 */
import { serverUrl } from "./server-url";
import type * as Ort from "onnxruntime-web";
import { externalDataRefusal, type Timings, type WireTensorMap } from "@stun/shared";
import { ProviderError, errorMessage } from "./errors";
import type { ModelStore } from "./model-store";
import { sha256Hex } from "./sha256";
import { type OrtModule, ortToWire, wireToOrt } from "./tensors";

/** A model with external data would make onnxruntime fetch or read files it names: refused before any session. */
function refuseUnlessSelfContained(sha256: string, bytes: Uint8Array): void {
  const refusal = externalDataRefusal(bytes);
  if (!refusal) return;
  const code = refusal.code === "MODEL_EXTERNAL_DATA" ? "MODEL_EXTERNAL_DATA" : "MODEL_LOAD_FAILED";
  throw new ProviderError(code, `model ${sha256} refused: ${refusal.message}`);
}

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
  private readonly downloads = new Map<string, Promise<{ bytes: Uint8Array; fetchMs: number; source: "cache" | "download" }>>();
  private downloadCount = 0;

  constructor(private readonly o: RunnerOptions) {}

  get downloadsMade(): number {
    return this.downloadCount;
  }

  async run(req: { model: ModelRef; inputs: WireTensorMap; signal?: { cancelled: boolean } }): Promise<RunOutcome> {
    const { ort } = this.o;
    const entry = await this.acquire(req.model);
    try {
      const { session, fetchMs, loadMs, source } = await entry.ready;
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
    const entry: SessionEntry = { refs: 0, evicted: false, ready: undefined as never };
    entry.ready = (async () => {
      try {
        const { bytes, fetchMs, source } = await this.getBytes(model);
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
  getBytes(model: ModelRef): Promise<{ bytes: Uint8Array; fetchMs: number; source: "cache" | "download" }> {
    let pending = this.downloads.get(model.sha256);
    if (!pending) {
      pending = this.load(model).finally(() => this.downloads.delete(model.sha256));
      this.downloads.set(model.sha256, pending);
    }
    return pending;
  }

  private async load(model: ModelRef): Promise<{ bytes: Uint8Array; fetchMs: number; source: "cache" | "download" }> {
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
    const bytes = await this.download(model);
    const fetchMs = performance.now() - t0;
    await this.o.store.put(model.sha256, bytes).catch(() => undefined); // a full disk only costs the next download
    this.o.onModel?.({ sha256: model.sha256, source: "download", bytes: bytes.byteLength, ms: fetchMs });
    return { bytes, fetchMs, source: "download" };
  }

  private async download(model: ModelRef): Promise<Uint8Array> {
    const url = serverUrl(this.o.server, model.url, "MODEL_FETCH_FAILED");
    this.downloadCount++;
    const f = this.o.fetch ?? globalThis.fetch.bind(globalThis);
    let res: Response;
    try {
      res = await f(url, {
        headers: { authorization: `Bearer ${this.o.apiKey}` },
        signal: AbortSignal.timeout(this.o.fetchTimeoutMs ?? 120_000),
        cache: "no-store",
      });
    } catch (e) {
      throw new ProviderError("MODEL_FETCH_FAILED", `GET ${url} failed: ${errorMessage(e)}`, { cause: e });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new ProviderError("MODEL_FETCH_FAILED", `GET ${url} answered HTTP ${res.status}`);
    }
    const limit = model.sizeBytes && model.sizeBytes > 0 ? model.sizeBytes : Number.POSITIVE_INFINITY;
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      const reader = res.body?.getReader();
      for (;;) {
        if (!reader) break;
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > limit) {
          await reader.cancel().catch(() => undefined);
          throw new ProviderError("MODEL_HASH_MISMATCH", `model ${model.sha256}: the server sent more than the expected ${limit} bytes`);
        }
        chunks.push(value);
      }
    } catch (e) {
      if (e instanceof ProviderError) throw e;
      throw new ProviderError("MODEL_FETCH_FAILED", `GET ${url} failed while reading: ${errorMessage(e)}`, { cause: e });
    }
    const bytes = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      bytes.set(c, o);
      o += c.byteLength;
    }
    const digest = await sha256Hex(bytes);
    if (digest !== model.sha256) throw new ProviderError("MODEL_HASH_MISMATCH", `model bytes hash to ${digest}, expected ${model.sha256}; not used`);
    return bytes;
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
