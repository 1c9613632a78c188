/**
 * Which server instances are alive, for several instances sharing Redis. Each instance keeps a key
 * `<REDIS_PREFIX>:instance:<INSTANCE_ID>` alive (rewritten every BEAT_MS, expiring after TTL_MS).
 * Every instance sweeps: a provider row that says it is online on an instance whose key has
 * expired (the instance crashed: `kill -9`, a lost machine) is set offline, and its live
 * assignments go back to the queue without using an attempt (`restart`, as after a single
 * instance's restart) — instead of waiting for their leases, and instead of counting in /health
 * forever. Each change is conditional, so two instances sweeping at once recover it once. An
 * instance that was only slow finds its connected providers' rows offline and takes them back.
 */
import type { Redis } from "ioredis";
import type { AppContext, InstanceLiveness } from "../context";
import { loseAssignment } from "../tasks/lifecycle";
import { LIVE_STATUS_IN } from "../tasks/statuses";

/** How often an instance rewrites its key, and how long the key outlives a silent instance. */
export const BEAT_MS = 2_000;
export const TTL_MS = 10_000;

export class InstancePresence implements InstanceLiveness {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly app: AppContext,
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(instanceId: string): string {
    return `${this.prefix}:instance:${instanceId}`;
  }

  /** Writes this instance's key, then keeps it alive and sweeps every BEAT_MS. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick().finally(() => {
        this.running = undefined;
      });
    }, BEAT_MS);
  }

  private async beat(): Promise<void> {
    await this.redis.set(this.key(this.app.config.INSTANCE_ID), String(Date.now()), "PX", TTL_MS);
  }

  private async tick(): Promise<void> {
    try {
      await this.beat();
      await this.reclaim();
      await this.sweep();
    } catch (err) {
      this.app.log.warn({ err }, "instance presence sweep failed");
    }
  }

  /**
   * This instance's own providers whose rows another instance took offline (this one missed its
   * beats for TTL_MS: a stall, a Redis outage) are online here again; their lost work was
   * re-queued. A row another instance holds now (the provider moved) is left alone.
   */
  private async reclaim(): Promise<void> {
    const ids = this.app.providers.list().map((p) => p.id);
    if (ids.length === 0) return;
    const { count } = await this.app.db.prisma.provider.updateMany({
      where: { id: { in: ids }, online: false, instanceId: null },
      data: { online: true, instanceId: this.app.config.INSTANCE_ID, lastSeenAt: new Date() },
    });
    if (count) this.app.log.warn({ providers: count }, "marked this instance's providers online again after another instance took them offline");
  }

  /** Recovers the providers of every instance whose key has expired; returns those instances. */
  async sweep(): Promise<string[]> {
    const rows = await this.app.db.prisma.provider.findMany({
      where: { online: true, instanceId: { not: null } },
      distinct: ["instanceId"],
      select: { instanceId: true },
    });
    const dead: string[] = [];
    for (const { instanceId } of rows) {
      if (!instanceId || (await this.isAlive(instanceId))) continue;
      const r = await recoverInstance(this.app, instanceId);
      this.app.log.warn({ instanceId, ...r }, "recovered the providers of an instance that stopped answering");
      dead.push(instanceId);
    }
    return dead;
  }

  /** Whether `instanceId`'s key is alive (this instance always is). */
  async isAlive(instanceId: string): Promise<boolean> {
    return instanceId === this.app.config.INSTANCE_ID || (await this.redis.exists(this.key(instanceId))) > 0;
  }

  /** Stops beating and deletes the key (a clean shutdown has already set its providers offline). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.redis.del(this.key(this.app.config.INSTANCE_ID)).catch(() => undefined);
  }
}

/**
 * A dead instance's providers: offline (unless they re-registered elsewhere since: the update is
 * conditional on the row still naming that instance), their live assignments lost (`restart`).
 */
export async function recoverInstance(app: AppContext, instanceId: string): Promise<{ providers: number; requeued: number }> {
  // One statement: the assignments are those live when the providers were taken offline, never
  // one another instance hands a provider that re-registers a moment later.
  const rows = await app.db.prisma.$queryRaw<Array<{ providerId: string; assignmentId: string | null }>>`
    WITH p AS (
      UPDATE "Provider" SET online = false, "instanceId" = NULL
      WHERE online AND "instanceId" = ${instanceId} RETURNING id
    )
    SELECT p.id AS "providerId", a.id AS "assignmentId" FROM p
    LEFT JOIN "Assignment" a ON a."providerId" = p.id AND a.status ${LIVE_STATUS_IN}`;
  let requeued = 0;
  for (const { assignmentId } of rows) if (assignmentId && (await loseAssignment(app, assignmentId, "restart"))) requeued++;
  return { providers: new Set(rows.map((r) => r.providerId)).size, requeued };
}
