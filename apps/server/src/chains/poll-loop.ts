/**
 * A chain rail's background loop: one pass now, then one every `pollMs` after the previous pass
 * ended (never two at once). A failing pass (the chain's API down) is logged and tried again next
 * time: the passes are idempotent (durable cursors and payout rows), so nothing is lost or doubled.
 */
export interface RailLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class PollLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly pass: () => Promise<void>,
    private readonly pollMs: number,
    private readonly log: RailLog,
  ) {}

  start(): this {
    this.schedule(0);
    return this;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass()
        .catch((e: unknown) => this.log.error({ error: e instanceof Error ? e.message : String(e) }, `${this.name}: pass failed (retried)`))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.pollMs);
        });
    }, ms);
  }

  /** Stops scheduling and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

/** A rail's pass: deposits up to date (at most 5 scans), then the payout queue's tick; what moved is logged. */
export async function depositsThenPayouts(
  name: string,
  scanner: { drain(maxPasses: number): Promise<{ credited: number; unmatched: number }> },
  payouts: { tick(): Promise<{ sent: number; confirmed: number; failed: number; expired: number }> } | undefined,
  log: RailLog,
): Promise<void> {
  const d = await scanner.drain(5);
  if (d.credited + d.unmatched > 0) log.info({ ...d }, `${name}: deposits recorded`);
  if (payouts) {
    const p = await payouts.tick();
    if (p.sent + p.confirmed + p.failed + p.expired > 0) log.info({ ...p }, `${name}: payouts`);
  }
}
