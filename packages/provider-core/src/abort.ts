/**
 * Cancellation for work that several callers share (one model download for every task that needs
 * the model): the work stops when the last caller still waiting gives up, never before, and each
 * caller stops waiting the moment its own signal aborts.
 */

/** Rejects with the signal's reason as soon as it aborts; otherwise settles like `promise`. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** An AbortSignal that aborts once every joined caller's signal has aborted (a caller without one never gives up). */
export class SharedInterest {
  private readonly controller = new AbortController();
  private waiting = 0;
  private forever = false;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  join(signal: AbortSignal | undefined): void {
    if (!signal) {
      this.forever = true;
      return;
    }
    if (signal.aborted) {
      this.check(signal.reason);
      return;
    }
    this.waiting++;
    signal.addEventListener(
      "abort",
      () => {
        this.waiting--;
        this.check(signal.reason);
      },
      { once: true },
    );
  }

  private check(reason: unknown): void {
    if (this.waiting === 0 && !this.forever && !this.controller.signal.aborted) this.controller.abort(reason);
  }
}

/** Work keyed by name (a model's sha256), done once for concurrent callers and abandoned when they all give up. */
export class SharedWork<T> {
  private readonly pending = new Map<string, { promise: Promise<T>; interest: SharedInterest }>();

  run(key: string, signal: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let job = this.pending.get(key);
    if (!job || job.interest.signal.aborted) {
      const interest = new SharedInterest();
      const promise = work(interest.signal).finally(() => {
        if (this.pending.get(key) === entry) this.pending.delete(key);
      });
      promise.catch(() => undefined); // failures reach whoever awaits; never an unhandled rejection
      const entry = { promise, interest };
      // Abandoned work leaves the map at once, so a caller arriving later starts afresh.
      interest.signal.addEventListener("abort", () => this.pending.get(key) === entry && this.pending.delete(key), { once: true });
      this.pending.set(key, entry);
      job = entry;
    }
    job.interest.join(signal);
    return abortable(job.promise, signal);
  }

  get size(): number {
    return this.pending.size;
  }
}
