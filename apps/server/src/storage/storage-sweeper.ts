/**
 * The storage sweep: retention purge, then blob garbage collection, once per STORAGE_SWEEP_SECONDS
 * for the whole network. Every instance ticks; the one that claims the `storage` SweepLease row runs
 * the sweep (a conditional upsert: the lease must have lapsed and the last run be old enough), so
 * several instances do not repeat the walk. Running twice at once is still safe (rows are
 * purged under SKIP LOCKED and blobs deleted under their advisory locks), the lease only saves work.
 */
import type { AppContext } from "../context";
import { collectGarbage, type CollectionResult } from "./blob-gc";
import { purgeExpiredTaskData } from "./retention";

const SWEEP_NAME = "storage";
/** A holder that dies mid-sweep lets another instance take over after this long. */
const LEASE_MS = 10 * 60 * 1000;
/** Instances look at the lease at least this often. */
const MAX_TICK_MS = 60_000;

export interface StorageSweepResult extends CollectionResult {
  /** Finished tasks whose data retention purged. */
  purgedTasks: number;
}

/** One sweep, now, on this instance (the timer's work; tests call it directly). */
export async function sweepStorage(app: AppContext, now = new Date()): Promise<StorageSweepResult> {
  const purgedTasks = await purgeExpiredTaskData(app, now);
  const collected = await collectGarbage(app, now);
  return { purgedTasks, ...collected };
}

/** Claims the network-wide sweep for this instance; false when another holds it or it ran recently. */
export async function claimSweep(app: AppContext, now = new Date()): Promise<boolean> {
  const holder = app.config.INSTANCE_ID;
  const due = new Date(now.getTime() - app.config.STORAGE_SWEEP_SECONDS * 1000);
  const rows = await app.db.prisma.$queryRaw<Array<{ name: string }>>`
    INSERT INTO "SweepLease" (name, holder, "leaseUntil") VALUES (${SWEEP_NAME}, ${holder}, ${new Date(now.getTime() + LEASE_MS)})
    ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "leaseUntil" = EXCLUDED."leaseUntil"
    WHERE "SweepLease"."leaseUntil" < ${now} AND ("SweepLease"."lastRunAt" IS NULL OR "SweepLease"."lastRunAt" <= ${due})
    RETURNING name`;
  return rows.length === 1;
}

async function finishSweep(app: AppContext): Promise<void> {
  const now = new Date();
  await app.db.prisma.$executeRaw`
    UPDATE "SweepLease" SET "leaseUntil" = ${now}, "lastRunAt" = ${now} WHERE name = ${SWEEP_NAME} AND holder = ${app.config.INSTANCE_ID}`;
}

/** The timer: claims and runs the sweep when due; `stop` waits for a sweep in progress. */
export class StorageSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly app: AppContext) {}

  start(): void {
    const every = Math.min(this.app.config.STORAGE_SWEEP_SECONDS * 1000, MAX_TICK_MS);
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, every);
  }

  private async tick(): Promise<void> {
    try {
      if (!(await claimSweep(this.app))) return;
      try {
        const r = await sweepStorage(this.app);
        if (r.purgedTasks || r.blobs || r.temp) this.app.log.info(r, "storage sweep");
      } finally {
        await finishSweep(this.app);
      }
    } catch (e) {
      this.app.log.error({ err: e }, "storage sweep failed");
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
