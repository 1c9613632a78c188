import { randomBytes } from "node:crypto";
import { createReadStream, type ReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { SHA_RE, checkSha256, sha256Hex, type BlobStore } from "./blob-store";
import { RecentBlobs } from "./recent-blobs";

/**
 * Content-addressed blob store on the filesystem: models, task inputs and outputs, each stored
 * once under its sha256. Writes go to a temporary file, are fsynced, then renamed into place, so
 * a blob that exists is complete — a task never points at half a file after a crash. One instance
 * (or several on a shared filesystem); `tx` arguments are ignored (blob-store.ts).
 */
export class FsBlobStore implements BlobStore {
  readonly kind = "fs";
  /** Small blobs written or read here lately: a dispatch's input and a long-poll's output are read from memory. */
  readonly recent = new RecentBlobs();

  constructor(
    private readonly dir: string,
    private readonly fsync = true,
  ) {}

  async init(): Promise<void> {
    await fs.mkdir(path.join(this.dir, "tmp"), { recursive: true });
  }

  pathOf(sha256: string): string {
    return path.join(this.dir, checkSha256(sha256).slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return fs.access(this.pathOf(sha256)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Stores the bytes (if new) and returns their sha256. A blob already there is touched (mtime =
   * now): the garbage collector keeps blobs younger than its grace period, so a new reference to an
   * old unreferenced blob is not collected before its row is written (storage/blob-gc.ts).
   */
  async put(bytes: Uint8Array, knownSha256?: string): Promise<string> {
    const sha = knownSha256 ?? sha256Hex(bytes);
    const target = this.pathOf(sha);
    const now = new Date();
    if (
      await fs.utimes(target, now, now).then(
        () => true,
        () => false,
      )
    ) {
      this.recent.remember(sha, bytes);
      return sha;
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = path.join(this.dir, "tmp", `${sha}.${randomBytes(6).toString("hex")}`);
    const handle = await fs.open(tmp, "w");
    try {
      await handle.writeFile(bytes);
      if (this.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, target);
    this.recent.remember(sha, bytes);
    return sha;
  }

  async get(sha256: string): Promise<Buffer> {
    const known = this.recent.get(checkSha256(sha256));
    if (known) return known;
    const bytes = await fs.readFile(this.pathOf(sha256));
    this.recent.remember(sha256, bytes);
    return bytes;
  }

  stream(sha256: string): ReadStream {
    return createReadStream(this.pathOf(sha256));
  }

  /** Deletes a blob; false when it was not there. */
  async remove(sha256: string): Promise<boolean> {
    this.recent.forget(sha256);
    return fs.unlink(this.pathOf(sha256)).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return false;
        throw e;
      },
    );
  }

  /**
   * Every stored blob last written (or touched) before `before`, in pages of `pageSize` (the
   * collector checks references a page at a time). Files that are not blobs are left alone.
   */
  async *listOlderThan(before: Date, pageSize: number): AsyncGenerator<string[]> {
    let page: string[] = [];
    for (const shard of await fs.readdir(this.dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of await fs.readdir(path.join(this.dir, shard)).catch(() => [] as string[])) {
        if (!SHA_RE.test(name) || name.slice(0, 2) !== shard) continue;
        const st = await fs.stat(path.join(this.dir, shard, name)).catch(() => undefined);
        if (!st?.isFile() || st.mtime >= before) continue;
        page.push(name);
        if (page.length >= pageSize) {
          yield page;
          page = [];
        }
      }
    }
    if (page.length) yield page;
  }

  /** Deletes temporary files older than `before`: writes a crash or a failed request left behind. */
  async removeStaleTemp(before: Date): Promise<number> {
    const tmp = path.join(this.dir, "tmp");
    let removed = 0;
    for (const name of await fs.readdir(tmp).catch(() => [] as string[])) {
      const file = path.join(tmp, name);
      const st = await fs.stat(file).catch(() => undefined);
      if (
        st?.isFile() &&
        st.mtime < before &&
        (await fs.unlink(file).then(
          () => true,
          () => false,
        ))
      )
        removed++;
    }
    return removed;
  }
}
