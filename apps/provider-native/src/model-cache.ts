/**
 * Models by content: downloaded once from the server (@stun/provider-core's downloadModel: the
 * API key only to the server's origin, size-capped, verified by sha256, abandoned when every task
 * waiting for it has been given up), kept as `<dir>/<sha256>.onnx` under a size cap with least-recently-used
 * eviction, and opened as onnxruntime sessions kept in a small in-memory LRU. Concurrent requests
 * for one model share one download and one session.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, stat, unlink, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import ort from "onnxruntime-node";
import { ProviderError, SharedInterest, SharedWork, abortable, downloadModel, errorMessage, refuseUnlessSelfContained, type ServerRef } from "@stun/provider-core";
import { type Logger, silentLogger } from "./logger";

export interface ModelRef {
  sha256: string;
  /** Path on the server (e.g. `/api/v1/models/mdl_1/file`) or an absolute URL on the server's origin. */
  url: string;
  sizeBytes?: number;
}

export interface ModelCacheOptions {
  /** The server, or how to find the one in use (several instances). */
  server: ServerRef;
  apiKey: string;
  dir: string;
  /** Size cap for the files on disk. */
  maxBytes: number;
  /** Sessions kept open (default 8); sessions in use are never closed. */
  maxSessions?: number;
  executionProviders?: string[];
  /** Extra onnxruntime session options (threads, optimisation level…); executionProviders wins. */
  sessionOptions?: ort.InferenceSession.SessionOptions;
  fetchTimeoutMs?: number;
  logger?: Logger;
  fetch?: typeof fetch;
}

export interface SessionLease {
  session: ort.InferenceSession;
  /** Time spent getting the bytes (download or disk read); 0 when the session was already open. */
  fetchMs: number;
  /** Time onnxruntime took to create the session; 0 when it was already open. */
  loadMs: number;
  /** Hands the session back (it may then be closed by the LRU). */
  release(): void;
}

interface SessionEntry {
  sha256: string;
  ready: Promise<{ session: ort.InferenceSession; fetchMs: number; loadMs: number }>;
  session?: ort.InferenceSession;
  settled: boolean;
  refs: number;
  evicted: boolean;
  /** The load is abandoned (and the entry dropped) when every caller waiting for it has given up. */
  interest: SharedInterest;
}

const MTIME_EVERY_MS = 10_000;
const FILE_RE = /^([0-9a-f]{64})\.onnx$/;
const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export class ModelCache {
  private readonly opts: Required<Omit<ModelCacheOptions, "fetch">> & { fetch: typeof fetch };
  /** sha256 → size on disk; Map order is least → most recently used. */
  private readonly files = new Map<string, number>();
  private diskBytes = 0;
  private readonly downloads = new SharedWork<{ bytes: Uint8Array; fetchMs: number }>();
  private readonly sessions = new Map<string, SessionEntry>();
  private downloadCount = 0;
  private lastSession: string | undefined;
  private lastFile: string | undefined;
  private readonly mtimeWritten = new Map<string, number>();

  private constructor(opts: ModelCacheOptions) {
    this.opts = {
      maxSessions: 8,
      executionProviders: ["cpu"],
      sessionOptions: {},
      fetchTimeoutMs: 120_000,
      logger: silentLogger,
      fetch: globalThis.fetch,
      ...opts,
    };
  }

  /** Opens (creating if needed) the cache directory and indexes the files already in it. */
  static async open(opts: ModelCacheOptions): Promise<ModelCache> {
    const cache = new ModelCache(opts);
    await cache.scan();
    return cache;
  }

  private async scan(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    const found: { sha: string; size: number; mtime: number }[] = [];
    for (const name of await readdir(this.opts.dir)) {
      const full = path.join(this.opts.dir, name);
      if (name.endsWith(".tmp")) {
        await unlink(full).catch(() => undefined); // a download interrupted by a crash
        continue;
      }
      const m = FILE_RE.exec(name);
      if (!m) continue;
      const st = await stat(full).catch(() => undefined);
      if (st?.isFile()) found.push({ sha: m[1]!, size: st.size, mtime: st.mtimeMs });
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const f of found) {
      this.files.set(f.sha, f.size);
      this.diskBytes += f.size;
    }
    await this.evictFiles();
  }

  filePath(sha256: string): string {
    return path.join(this.opts.dir, `${sha256}.onnx`);
  }

  /** What the cache holds now (for logs and tests). */
  stats(): { files: number; diskBytes: number; sessions: number; downloads: number; cached: string[] } {
    return { files: this.files.size, diskBytes: this.diskBytes, sessions: this.sessions.size, downloads: this.downloadCount, cached: [...this.files.keys()] };
  }

  /**
   * The open session for a model when it is loaded already — synchronous, the hot path for a
   * model in steady use; undefined otherwise (then use `acquire`). Call `release()` when done.
   */
  tryAcquire(model: ModelRef): SessionLease | undefined {
    const entry = this.sessions.get(model.sha256);
    if (!entry?.session || entry.evicted) return undefined;
    this.touchSession(model.sha256, entry);
    entry.refs++;
    return new Lease(this, entry, entry.session, 0, 0);
  }

  /**
   * An open session for the model (downloading and loading it if needed). Call `release()` when done.
   * When `signal` aborts this caller stops waiting (with the signal's reason), and a download that
   * nobody waits for any more stops.
   */
  async acquire(model: ModelRef, signal?: AbortSignal): Promise<SessionLease> {
    const ready = this.tryAcquire(model);
    if (ready) return ready;
    let entry = this.sessions.get(model.sha256);
    if (entry) {
      this.touchSession(model.sha256, entry);
    } else {
      entry = this.openSession(model);
      this.sessions.set(model.sha256, entry);
      this.lastSession = model.sha256;
    }
    entry.refs++;
    if (!entry.session) entry.interest.join(signal); // only a load still under way can be abandoned
    try {
      // Whoever waited for the load (first or joining) reports its fetch and load times.
      const { session, fetchMs, loadMs } = await abortable(entry.ready, signal);
      return new Lease(this, entry, session, fetchMs, loadMs);
    } catch (err) {
      this.releaseEntry(entry);
      throw err;
    }
  }

  /** Moves a session to the most recently used end (skipped when it is there already: no Map churn per inference). */
  private touchSession(sha: string, entry: SessionEntry): void {
    if (this.lastSession === sha) return;
    this.sessions.delete(sha);
    this.sessions.set(sha, entry);
    this.lastSession = sha;
    this.touchFile(sha);
  }

  /** @internal Lease.release */
  releaseEntry(e: SessionEntry): void {
    e.refs--;
    if (e.evicted) {
      if (e.refs === 0) void e.session?.release().catch(() => undefined);
    } else if (this.sessions.size > this.opts.maxSessions) {
      this.evictSessions();
    }
  }

  private openSession(model: ModelRef): SessionEntry {
    const entry: SessionEntry = { sha256: model.sha256, settled: false, refs: 0, evicted: false, interest: new SharedInterest(), ready: undefined as never };
    // Abandoned: out of the map at once, so the next caller starts a fresh load.
    entry.interest.signal.addEventListener("abort", () => !entry.session && this.forgetSession(model.sha256, entry), { once: true });
    entry.ready = (async () => {
      try {
        const { bytes, fetchMs } = await this.getBytes(model, entry.interest.signal);
        const t0 = performance.now();
        refuseUnlessSelfContained(model.sha256, bytes);
        let session: ort.InferenceSession;
        try {
          session = await ort.InferenceSession.create(bytes, { ...this.opts.sessionOptions, executionProviders: this.opts.executionProviders });
        } catch (e) {
          throw new ProviderError("MODEL_LOAD_FAILED", `onnxruntime could not load model ${model.sha256}: ${errorMessage(e)}`, { cause: e });
        }
        entry.session = session;
        return { session, fetchMs, loadMs: performance.now() - t0 };
      } catch (e) {
        this.forgetSession(model.sha256, entry);
        throw e;
      } finally {
        entry.settled = true;
      }
    })();
    entry.ready.catch(() => undefined); // failures reach whoever awaits; never an unhandled rejection
    return entry;
  }

  private forgetSession(sha: string, entry: SessionEntry): void {
    if (this.sessions.get(sha) !== entry) return;
    this.sessions.delete(sha);
    if (this.lastSession === sha) this.lastSession = undefined;
  }

  /** Closes the least recently used idle sessions beyond `maxSessions`. */
  private evictSessions(): void {
    if (this.sessions.size <= this.opts.maxSessions) return;
    for (const [sha, e] of this.sessions) {
      if (this.sessions.size <= this.opts.maxSessions) break;
      if (e.refs > 0 || !e.settled) continue;
      this.sessions.delete(sha);
      if (this.lastSession === sha) this.lastSession = undefined;
      e.evicted = true;
      void e.session?.release().catch(() => undefined);
    }
  }

  /**
   * The model's bytes, verified: from disk when cached there, else downloaded (once for concurrent
   * callers; stopped when all of their signals have aborted).
   */
  async getBytes(model: ModelRef, signal?: AbortSignal): Promise<{ bytes: Uint8Array; fetchMs: number }> {
    if (this.files.has(model.sha256)) {
      const t0 = performance.now();
      const bytes = await readFile(this.filePath(model.sha256)).catch(() => undefined);
      if (bytes && sha256Hex(bytes) === model.sha256) {
        this.touchFile(model.sha256);
        return { bytes, fetchMs: performance.now() - t0 };
      }
      this.opts.logger.warn("cached model file missing or corrupt; downloading again", { sha256: model.sha256 });
      await this.removeFile(model.sha256);
    }
    return this.downloads.run(model.sha256, signal, (shared) => this.download(model, shared));
  }

  private async download(model: ModelRef, signal: AbortSignal): Promise<{ bytes: Uint8Array; fetchMs: number }> {
    const t0 = performance.now();
    this.downloadCount++;
    const bytes = await downloadModel(this.opts, model, signal);
    const fetchMs = performance.now() - t0;
    await this.storeFile(model.sha256, bytes);
    return { bytes, fetchMs };
  }

  private async storeFile(sha: string, bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength > this.opts.maxBytes) {
      this.opts.logger.warn("model larger than the cache; not kept on disk", { sha256: sha, bytes: bytes.byteLength, maxBytes: this.opts.maxBytes });
      return;
    }
    const final = this.filePath(sha);
    const tmp = `${final}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, final);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      this.opts.logger.warn("could not write the model cache", { sha256: sha, err: e });
      return;
    }
    const previous = this.files.get(sha);
    if (previous !== undefined) this.diskBytes -= previous;
    this.files.delete(sha);
    this.files.set(sha, bytes.byteLength);
    this.lastFile = sha;
    this.diskBytes += bytes.byteLength;
    await this.evictFiles(sha);
  }

  /** Deletes least recently used files until the total fits the cap (never `keep`). */
  private async evictFiles(keep?: string): Promise<void> {
    for (const [sha] of this.files) {
      if (this.diskBytes <= this.opts.maxBytes) break;
      if (sha === keep) continue;
      this.opts.logger.debug("evicting cached model", { sha256: sha });
      await this.removeFile(sha);
    }
  }

  private async removeFile(sha: string): Promise<void> {
    const size = this.files.get(sha);
    if (size === undefined) return;
    this.files.delete(sha);
    this.mtimeWritten.delete(sha);
    if (this.lastFile === sha) this.lastFile = undefined;
    this.diskBytes -= size;
    await unlink(this.filePath(sha)).catch(() => undefined);
  }

  private touchFile(sha: string): void {
    if (this.lastFile === sha) return;
    const size = this.files.get(sha);
    if (size === undefined) return;
    this.files.delete(sha);
    this.files.set(sha, size);
    this.lastFile = sha;
    // The file's mtime carries the LRU order across restarts. It is written at most every
    // MTIME_EVERY_MS per file: a hot model is used thousands of times a second, and a filesystem
    // call per inference would cost more than the inference.
    const now = Date.now();
    if (now - (this.mtimeWritten.get(sha) ?? 0) < MTIME_EVERY_MS) return;
    this.mtimeWritten.set(sha, now);
    void utimes(this.filePath(sha), new Date(now), new Date(now)).catch(() => undefined);
  }

  /** Closes every idle session (sessions in use close when released). */
  async close(): Promise<void> {
    const entries = [...this.sessions.values()];
    this.sessions.clear();
    this.lastSession = undefined;
    for (const e of entries) {
      e.evicted = true;
      if (e.refs === 0) await e.session?.release().catch(() => undefined);
    }
  }
}

class Lease implements SessionLease {
  private released = false;
  constructor(
    private readonly cache: ModelCache,
    private readonly entry: SessionEntry,
    readonly session: ort.InferenceSession,
    readonly fetchMs: number,
    readonly loadMs: number,
  ) {}
  release(): void {
    if (this.released) return;
    this.released = true;
    this.cache.releaseEntry(this.entry);
  }
}
