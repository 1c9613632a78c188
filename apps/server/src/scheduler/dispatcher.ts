import {
  PROVIDER_EVENTS,
  deserializeTensorMap,
  type Assign,
  type AssignAck,
  type MatchRequest,
  type Requirements,
} from "@stun/shared";
import type { AppContext } from "../context";
import { newId } from "../ids";
import type { StoredVerification } from "../services/task-view";
import type { Tx } from "../db/database";
import type { Calibration } from "../qa/calibrate";
import { loadCandidateFacts, type CandidateFacts } from "../qa/candidates";
import { unpredictableUniform } from "../qa/unpredictable";
import { planExecution, preferTrusted, stakeCovers, type QaPolicy } from "../qa/policy";
import { loseAssignment, markRunning } from "./assignment-lifecycle";
import { LIVE_STATUSES } from "./live-assignments";
import type { LocalProvider } from "./provider-registry";
import { getModelRow } from "../services/models";
import { zkJobFor } from "../zk/zk-job";
import type { ReadyZkModel } from "../zk/zk-models";

const PAGE = 64;
const MAX_PAGES = 16;
const ACK_TIMEOUT_MS = 10_000;
/** How long a provider that answered BUSY is left out of matching. */
const BUSY_BACKOFF_MS = 1000;
/** Candidates asked of the index beyond those needed, for stake and trust to choose among. */
const EXTRA_CANDIDATES = 3;


interface ClaimRow {
  id: string;
  kind: string;
  status: string;
  requirements: unknown;
  verification: unknown;
  maxPrice: bigint;
  wanted: number;
  dispatched: number;
  inputSha256: string;
  modelId: string;
  modelSha256: string;
  modelSize: number;
  calibration: unknown;
}

interface Dispatch {
  assignmentId: string;
  taskId: string;
  provider: LocalProvider;
  row: ClaimRow;
  /** A zk task's circuit: the assignment carries a proving job. */
  zk?: ReadyZkModel;
}

/**
 * Matches queued work to the providers connected to this instance. Work is claimed from the
 * database with FOR UPDATE SKIP LOCKED (several instances never hand out the same execution);
 * assignments are committed before any provider hears of them.
 */
export class Dispatcher {
  private running = false;
  private again = false;
  private stopped = false;
  private readonly offs: Array<() => void> = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly app: AppContext) {}

  start(intervalMs = 500): void {
    this.offs.push(this.app.bus.onWork(() => this.poke()));
    this.timer = setInterval(() => this.poke(), intervalMs);
    this.timer.unref();
    this.poke();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const off of this.offs) off();
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }

  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.stopped);
    } catch (e) {
      this.app.log.error({ err: e }, "dispatch pass failed");
    } finally {
      this.running = false;
    }
  }

  /** One pass over the queue, page by page, until local capacity or the queue runs out. */
  private async pass(): Promise<void> {
    const seen: string[] = [];
    for (let page = 0; page < MAX_PAGES && this.app.providers.freeSlots() > 0 && !this.stopped; page++) {
      const { rows, dispatches } = await this.claimPage(seen);
      for (const d of dispatches) void this.send(d);
      if (rows < PAGE) break;
    }
  }

  private async claimPage(seen: string[]): Promise<{ rows: number; dispatches: Dispatch[] }> {
    const { db, providers, config } = this.app;
    const reserved: Dispatch[] = [];
    let rowCount = 0;
    try {
      await db.prisma.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<ClaimRow[]>`
          SELECT t.id, t.kind, t.status, t.requirements, t.verification, t."maxPrice", t.wanted, t.dispatched,
                 t."inputSha256", t."modelId", m.sha256 AS "modelSha256", m."sizeBytes" AS "modelSize", m.calibration
          FROM "Task" t JOIN "Model" m ON m.id = t."modelId"
          WHERE t.dispatched < t.wanted
            AND t.status IN ('queued', 'assigned', 'running', 'verifying')
            AND NOT (t.id = ANY(${seen}::text[]))
          ORDER BY t.priority DESC, t."createdAt" ASC, t.id ASC
          LIMIT ${PAGE}
          FOR UPDATE OF t SKIP LOCKED`;
        rowCount = rows.length;
        for (const row of rows) {
          seen.push(row.id);
          if (providers.freeSlots() === 0) break;
          // Providers already running or done with this task are not asked again (independent
          // replicas). Every such assignment counts in `dispatched`, so none exist when it is 0.
          const taken =
            row.dispatched === 0
              ? []
              : await tx.assignment.findMany({
                  where: { taskId: row.id, status: { in: [...LIVE_STATUSES, "completed"] } },
                  select: { providerId: true },
                });
          const v = row.verification as StoredVerification;
          // A zk task waits for its model's circuit and keys (built in the background, then
          // the dispatcher is poked); the proving fee is part of each execution's price.
          const zk = v.mode === "zk" ? this.app.zk.ready(row.modelId) : undefined;
          if (v.mode === "zk" && !zk) {
            this.buildCircuit(row.modelId);
            continue;
          }
          const fee = v.zk ? BigInt(v.zk.fee) : 0n;
          const exclude = new Set(taken.map((a) => a.providerId));
          // A re-check never goes back to the provider whose result it checks.
          if (v.recheck) exclude.add(v.recheck.providerId);
          const req = matchRequest(row, exclude, v.backend, fee);
          const endTimer = this.app.metrics.matchDuration.startTimer();
          const first = v.mode === "auto" && row.dispatched === 0 && v.single === undefined;
          const need = first ? v.replicas : row.wanted - row.dispatched;
          const eligible = await this.eligible(tx, providers.pick(req, need + EXTRA_CANDIDATES));
          let picks: Array<{ p: LocalProvider; f: CandidateFacts }>;
          if (first) {
            // `auto`: how the first pick's pair is checked decides the executions (docs/QA.md).
            const lead = eligible[0];
            if (!lead) {
              endTimer();
              continue;
            }
            const sameBackend = (row.calibration as Calibration | null)?.sameBackendQuorum === true;
            const others = preferTrusted(
              eligible.slice(1).filter((c) => !sameBackend || c.p.backend === lead.p.backend),
              (c) => c.f.trust,
              config.qa,
            );
            let plan: StoredVerification["plan"] = planExecution(lead.f.trust, config.qa, unpredictableUniform());
            // The only eligible provider online: waiting for a second one could take until the
            // deadline (a one-provider local network), so it runs alone, unchecked ("single").
            if (plan !== "solo" && others.length === 0) plan = "single";
            const alone = plan === "solo" || plan === "single";
            picks = alone ? [lead] : [lead, ...others.slice(0, v.replicas - 1)];
            const wanted = alone ? 1 : v.replicas;
            const verification: StoredVerification = { ...v, single: alone, plan, ...(sameBackend && !alone ? { backend: lead.p.backend } : {}) };
            await tx.$executeRaw`UPDATE "Task" SET wanted = ${wanted}, verification = ${JSON.stringify(verification)}::jsonb WHERE id = ${row.id}`;
          } else {
            // Checkers (replicas, tie-breakers, re-checks) come from trusted pairs first; a canary
            // or an unverified task takes the scheduler's order.
            const checking = v.mode !== "none" && row.kind !== "canary";
            picks = (checking ? preferTrusted(eligible, (c) => c.f.trust, config.qa) : eligible).slice(0, need);
          }
          endTimer();
          picks = withinStake(picks, config.qa);
          if (picks.length === 0) continue;
          const leaseUntil = new Date(Date.now() + config.LEASE_MS);
          for (const { p } of picks) {
            const assignmentId = newId("asg");
            await tx.$executeRaw`
              INSERT INTO "Assignment" (id, "taskId", "providerId", status, backend, price, "leaseUntil")
              VALUES (${assignmentId}, ${row.id}, ${p.id}, 'assigned', ${p.backend}, ${p.price + fee}, ${leaseUntil})`;
            providers.reserve(p.id, assignmentId, { taskId: row.id, modelId: row.modelId, ...(zk ? { zk: true } : {}) });
            reserved.push({ assignmentId, taskId: row.id, provider: p, row, ...(zk ? { zk } : {}) });
          }
          await tx.$executeRaw`
            UPDATE "Task"
            SET dispatched = dispatched + ${picks.length}, status = CASE WHEN status = 'queued' THEN 'assigned' ELSE status END,
                "updatedAt" = ${new Date()}
            WHERE id = ${row.id}`;
        }
      });
    } catch (e) {
      for (const d of reserved) providers.free(d.provider.id, d.assignmentId);
      throw e;
    }
    for (const d of reserved) if (d.row.status === "queued") this.app.bus.taskUpdated({ taskId: d.taskId, status: "assigned" });
    return { rows: rowCount, dispatches: reserved };
  }

  /** Starts building a model's zk circuit on this instance if it has not yet (ZkModels.start). */
  private buildCircuit(modelId: string): void {
    void getModelRow(this.app, modelId)
      .then((m) => this.app.zk.start(m))
      .catch((err) => this.app.log.error({ err, modelId }, "zk circuit build failed"));
  }

  /**
   * The candidates whose account stake covers one more execution at their price (free work needs
   * no stake), with their pair trust — in the index's order.
   */
  private async eligible(tx: Tx, candidates: LocalProvider[]): Promise<Array<{ p: LocalProvider; f: CandidateFacts }>> {
    if (candidates.length === 0) return [];
    const facts = await loadCandidateFacts(tx, candidates.map((p) => p.id));
    const out: Array<{ p: LocalProvider; f: CandidateFacts }> = [];
    for (const p of candidates) {
      const f = facts.get(p.id);
      if (!f) continue;
      if (!stakeCovers(f.stake, f.atRisk, p.price, this.app.config.qa)) continue;
      out.push({ p, f });
    }
    return out;
  }

  /** Sends a committed assignment to its provider; no ack in time means the execution is lost. */
  private async send(d: Dispatch): Promise<void> {
    const { app } = this;
    try {
      const inputs = deserializeTensorMap(await app.blobs.get(d.row.inputSha256));
      const msg: Assign = {
        assignmentId: d.assignmentId,
        taskId: d.taskId,
        model: { id: d.row.modelId, sha256: d.row.modelSha256, sizeBytes: d.row.modelSize, url: `/api/v1/models/${d.row.modelId}/file` },
        inputs,
        leaseMs: app.config.LEASE_MS,
        ...(d.zk ? { zk: await zkJobFor(app, d.zk, d.row.modelId, d.taskId, d.provider.id) } : {}),
      };
      const ack = (await d.provider.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(PROVIDER_EVENTS.assign, msg)) as AssignAck;
      if (ack && ack.ok) await markRunning(app, d.assignmentId);
      else {
        const code = ack?.ok === false ? ack.error.code : "BAD_ACK";
        if (code === "BUSY") app.providers.backoff(d.provider.id, BUSY_BACKOFF_MS);
        else if (code === "DRAINING") app.providers.setDraining(d.provider.id);
        await loseAssignment(app, d.assignmentId, "rejected", code);
      }
    } catch (e) {
      app.log.warn({ err: e, assignmentId: d.assignmentId }, "assignment not acknowledged");
      await loseAssignment(app, d.assignmentId, "disconnect").catch((err) => app.log.error({ err }, "lose failed"));
    }
  }
}

/**
 * The picks whose accounts' stake still covers them together: several picks may share an account
 * (its facts were read before any of them was inserted). Executions inserted by earlier rows of the
 * same claim are already in the facts (same transaction).
 */
function withinStake(picks: Array<{ p: LocalProvider; f: CandidateFacts }>, policy: QaPolicy): Array<{ p: LocalProvider; f: CandidateFacts }> {
  const added = new Map<string, bigint>();
  return picks.filter(({ p, f }) => {
    const extra = added.get(p.accountId) ?? 0n;
    if (!stakeCovers(f.stake, f.atRisk + extra, p.price, policy)) return false;
    added.set(p.accountId, extra + p.price);
    return true;
  });
}

/** What the index matches on; `fee` (zk proving) comes out of the price ceiling the provider's own price must fit under. */
function matchRequest(row: ClaimRow, exclude: Set<string>, backend: string | undefined, fee: bigint): MatchRequest {
  const r = row.requirements as Requirements;
  const b = (backend ?? r.backend) as Requirements["backend"];
  return {
    ...(b ? { backend: b } : {}),
    ...(r.kind ? { kind: r.kind } : {}),
    ...(r.minVramMb !== undefined ? { minVramMb: r.minVramMb } : {}),
    ...(r.minComputeCapability !== undefined ? { minComputeCapability: r.minComputeCapability } : {}),
    ...(r.region ? { region: r.region } : {}),
    maxPrice: BigInt(row.maxPrice) - fee,
    exclude,
  };
}
