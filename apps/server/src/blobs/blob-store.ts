import { createHash, randomBytes } from "node:crypto";
import { createReadStream, type ReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

const SHA_RE = /^[0-9a-f]{64}$/;

/**
 * Content-addressed blob store on the filesystem: models, task inputs and outputs, each stored
 * once under its sha256. Writes go to a temporary file, are fsynced, then renamed into place, so
 * a blob that exists is complete — a task never points at half a file after a crash.
 */
export class BlobStore {
  constructor(
    private readonly dir: string,
    private readonly fsync = true,
  ) {}

  async init(): Promise<void> {
    await fs.mkdir(path.join(this.dir, "tmp"), { recursive: true });
  }

  pathOf(sha256: string): string {
    if (!SHA_RE.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.dir, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return fs.access(this.pathOf(sha256)).then(
      () => true,
      () => false,
    );
  }

  /** Stores the bytes (if new) and returns their sha256. */
  async put(bytes: Uint8Array, knownSha256?: string): Promise<string> {
    const sha = knownSha256 ?? sha256Hex(bytes);
    const target = this.pathOf(sha);
    if (await this.has(sha)) return sha;
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
    return sha;
  }

  async get(sha256: string): Promise<Buffer> {
    return fs.readFile(this.pathOf(sha256));
  }

  stream(sha256: string): ReadStream {
    return createReadStream(this.pathOf(sha256));
  }
}
