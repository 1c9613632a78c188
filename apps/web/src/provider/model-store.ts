/**
 * The browser provider's model cache on disk: IndexedDB (database `stun-provider`), keyed by the
 * model's sha256, so a model survives reloads and is downloaded once. IndexedDB rather than Cache
 * Storage because it also exists outside secure contexts and in every worker. Two object stores:
 * `files` (sha256 → ArrayBuffer) and `entries` (sha256 → { size, usedAt }), so the size cap and
 * the least-recently-used eviction never read model bytes. Callers verify the bytes' sha256 on
 * every read (model-cache.ts); this module only stores them.
 */

export interface ModelStore {
  get(sha256: string): Promise<Uint8Array | undefined>;
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  delete(sha256: string): Promise<void>;
  /** What is stored (sha256 and size, least recently used first). */
  list(): Promise<Array<{ sha256: string; size: number; usedAt: number }>>;
  close(): void;
  readonly kind: "indexeddb" | "memory";
}

interface Entry {
  sha256: string;
  size: number;
  usedAt: number;
}

const DB_NAME = "stun-provider";
const DB_VERSION = 1;

const promisify = <T>(req: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("IndexedDB request failed"));
  });

const done = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });

/** Opens the IndexedDB store, or an in-memory one where IndexedDB is missing or refused (private modes). */
export async function openModelStore(opts: { maxBytes: number; dbName?: string }): Promise<ModelStore> {
  if (typeof indexedDB === "undefined") return new MemoryModelStore(opts.maxBytes);
  try {
    return await IdbModelStore.open(opts.dbName ?? DB_NAME, opts.maxBytes);
  } catch {
    return new MemoryModelStore(opts.maxBytes);
  }
}

class IdbModelStore implements ModelStore {
  readonly kind = "indexeddb" as const;
  private constructor(
    private readonly db: IDBDatabase,
    private readonly maxBytes: number,
  ) {}

  static async open(name: string, maxBytes: number): Promise<IdbModelStore> {
    const req = indexedDB.open(name, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("files")) db.createObjectStore("files");
      if (!db.objectStoreNames.contains("entries")) db.createObjectStore("entries", { keyPath: "sha256" });
    };
    const db = await promisify(req);
    return new IdbModelStore(db, maxBytes);
  }

  async get(sha256: string): Promise<Uint8Array | undefined> {
    const tx = this.db.transaction(["files", "entries"], "readwrite");
    const buf = (await promisify(tx.objectStore("files").get(sha256))) as ArrayBuffer | undefined;
    if (buf) {
      const entries = tx.objectStore("entries");
      const e = (await promisify(entries.get(sha256))) as Entry | undefined;
      entries.put({ sha256, size: buf.byteLength, usedAt: Math.max(Date.now(), (e?.usedAt ?? 0) + 1) } satisfies Entry);
    }
    await done(tx);
    return buf ? new Uint8Array(buf) : undefined;
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength > this.maxBytes) return; // larger than the whole cache: used, not kept
    // Evict least recently used files until this one fits.
    const entries = await this.list();
    let total = entries.reduce((s, e) => s + (e.sha256 === sha256 ? 0 : e.size), 0);
    for (const e of entries) {
      if (total + bytes.byteLength <= this.maxBytes) break;
      if (e.sha256 === sha256) continue;
      await this.delete(e.sha256);
      total -= e.size;
    }
    const copy = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
    const tx = this.db.transaction(["files", "entries"], "readwrite");
    tx.objectStore("files").put(copy, sha256);
    tx.objectStore("entries").put({ sha256, size: bytes.byteLength, usedAt: Date.now() } satisfies Entry);
    await done(tx);
  }

  async delete(sha256: string): Promise<void> {
    const tx = this.db.transaction(["files", "entries"], "readwrite");
    tx.objectStore("files").delete(sha256);
    tx.objectStore("entries").delete(sha256);
    await done(tx);
  }

  async list(): Promise<Entry[]> {
    const tx = this.db.transaction("entries", "readonly");
    const all = (await promisify(tx.objectStore("entries").getAll())) as Entry[];
    return all.sort((a, b) => a.usedAt - b.usedAt);
  }

  close(): void {
    this.db.close();
  }
}

class MemoryModelStore implements ModelStore {
  readonly kind = "memory" as const;
  private readonly files = new Map<string, Uint8Array>();
  constructor(private readonly maxBytes: number) {}
  async get(sha256: string) {
    const b = this.files.get(sha256);
    if (b) {
      this.files.delete(sha256);
      this.files.set(sha256, b);
    }
    return b;
  }
  async put(sha256: string, bytes: Uint8Array) {
    if (bytes.byteLength > this.maxBytes) return;
    this.files.delete(sha256);
    let total = [...this.files.values()].reduce((s, b) => s + b.byteLength, 0);
    for (const [k, b] of this.files) {
      if (total + bytes.byteLength <= this.maxBytes) break;
      this.files.delete(k);
      total -= b.byteLength;
    }
    this.files.set(sha256, bytes);
  }
  async delete(sha256: string) {
    this.files.delete(sha256);
  }
  async list() {
    return [...this.files].map(([sha256, b], i) => ({ sha256, size: b.byteLength, usedAt: i }));
  }
  close() {}
}
