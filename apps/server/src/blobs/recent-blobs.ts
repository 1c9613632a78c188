/**
 * The small blobs this instance wrote or read last, by sha256, within a byte budget (least recently
 * used out first). Blobs are content-addressed, so a copy here is never stale: the dispatcher's read
 * of an input the submit just wrote, and the long-poll's read of an output the result just wrote,
 * are served from memory instead of a query each (PostgresBlobStore).
 *
 * A blob is remembered before the transaction that writes it commits; a reader only asks for a
 * sha256 a committed row references, and those bytes are the same bytes.
 */
export class RecentBlobs {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(
    /** Most bytes held in all. */
    private readonly budget = 16 * 1024 * 1024,
    /** The largest blob remembered. */
    private readonly maxEntry = 64 * 1024,
  ) {}

  get(sha256: string): Buffer | undefined {
    const hit = this.entries.get(sha256);
    if (hit) {
      this.entries.delete(sha256);
      this.entries.set(sha256, hit);
    }
    return hit;
  }

  remember(sha256: string, bytes: Uint8Array): void {
    if (bytes.byteLength > this.maxEntry || this.entries.has(sha256)) return;
    // A copy: the caller's buffer may be a view into a larger one it reuses.
    this.entries.set(sha256, Buffer.from(bytes));
    this.bytes += bytes.byteLength;
    for (const [sha, b] of this.entries) {
      if (this.bytes <= this.budget) break;
      this.entries.delete(sha);
      this.bytes -= b.byteLength;
    }
  }

  forget(sha256: string): void {
    const b = this.entries.get(sha256);
    if (!b) return;
    this.entries.delete(sha256);
    this.bytes -= b.byteLength;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
