import { PROVIDER_EVENTS, deserializeTensorMap, priceFor, type Assign, type AssignAck, type MatchRequest, type Requirements } from "@stun/shared";
import type { AppContext, PlacedAtSubmit, SubmitPlacer, SubmittedTask } from "../context";
import type { WorkSource } from "../events";
import { newId } from "../ids";
import { parseVerification, type StoredVerification } from "../tasks/verification";
import { Prisma } from "../db/generated/client";
import { rawSql, sqlTransaction, type SqlClient } from "../db/database";
import { isRetryableConflict } from "../db/retry-conflicts";
import { calibrationOf } from "../models/calibration";
import { loadProviderIdentities } from "../qa/candidates";
import { ClaimBatch } from "./claim-batch";
import { anyWantsExecution, claimQueuePage, type ClaimRow } from "./queue";
import { unpredictableUniform } from "../qa/unpredictable";
import { sameOperator, type Identity } from "../qa/quorum";
import { judgedAlone, mayNeedReference } from "../qa/judge";
import { canReferee } from "../qa/referee";
import { isTrusted } from "../qa/policy";
import { ReplicaPlacements } from "./replica-placements";
import {
  chooseCheckers,
  comparesExecutions,
  decidedVerification,
  eligibleCandidates,
  isFirstDispatch,
  planChecked,
  planLead,
  withinStake,
  type Candidate as PlanCandidate,
  type FirstPlan,
} from "./plan";
import { loseAssignment, markRunning } from "../tasks/lifecycle";
import { LIVE_STATUSES } from "../tasks/statuses";
import type { LocalProvider } from "./provider-registry";
import { getModelRow } from "../models/cache";
import { unitsOf } from "../pricing/units";
import { zkJobFor } from "../zk/zk-job";
import { sealedBoxFromBytes } from "@stun/tee";
import type { ReadyZkModel } from "../zk/ready-model";

const PAGE = 64;
const MAX_PAGES = 16;
const ACK_TIMEOUT_MS = 10_000;
/** How long a provider that answered BUSY is left out of matching. */
const BUSY_BACKOFF_MS = 1000;
/** Candidates asked of the index beyond those needed, for stake and trust to choose among. */
const EXTRA_CANDIDATES = 3;
/** At most this many providers' facts are read ahead for a page of the queue (ClaimBatch). */
const PREFETCH_MAX = 256;
/** Deadlocked claim passes run again at once, up to this many times in a row. */
const PASS_CONFLICT_ATTEMPTS = 5;
/** A claim that skipped a task row another transaction held runs again after this, doubling while it keeps skipping (at most SKIPPED_RETRY_MAX_MS). */
const SKIPPED_RETRY_MS = 10;
const SKIPPED_RETRY_MAX_MS = 1000;

type Candidate = PlanCandidate<LocalProvider>;

/** What a submit's transaction placed (Dispatcher.placeAtSubmit): sent once that transaction committed. */
interface Placed extends PlacedAtSubmit {
  dispatches: Dispatch[];
}

/** Whether a claimed task still wants executions once this pass's placement (if any) is applied. */
const wantsMore = (row: ClaimRow, placement: Placement | undefined): boolean => (placement?.decided?.wanted ?? row.wanted) - row.dispatched > (placement?.picks.length ?? 0);

/** A claimed task's plan for this pass: who runs it now, and the decided verification of a first dispatch. */
interface Placement {
  picks: Candidate[];
  /** The zk proving fee each execution's price includes. */
  fee: bigint;
  zk?: ReadyZkModel;
  /** Each execution's price whatever the provider quotes: a zk task paid from a createZkTask escrow is paid all of it (its maxPrice). */
  flatPrice?: bigint;
  decided?: { wanted: number; verification: StoredVerification };
  /** A sealed task (privacy "tee"). */
  sealed?: true;
}

interface Dispatch {
  assignmentId: string;
  taskId: string;
  provider: LocalProvider;
  row: ClaimRow;
  /** A zk task's circuit: the assignment carries a proving job. */
  zk?: ReadyZkModel;
  /** A sealed task: its input blob is the box, relayed as it came. */
  sealed?: true;
}

/**
 * Matches queued work to the providers connected to this instance. Work is claimed from the
 * database with FOR UPDATE SKIP LOCKED (several instances never hand out the same execution);
 * assignments are committed before any provider hears of them.
 */
export class Dispatcher implements SubmitPlacer {
  private running = false;
  private again = false;
  private stopped = false;
  /** A pass asked for by `new` work queued here: what it cannot place is relayed to the other instances. */
  private relayLeft = false;
  /**
   * The last claim left no queued work and none was announced since. On a lone instance every
   * writer of queued work announces it (`new`: a submit, a re-queue, replicas or re-checks wanted),
   * so a pass for freed capacity (`here`: after each result of a sequential requester, say) has
   * nothing to look for and runs no statement; the backstop timer's pass first asks whether any
   * work exists (one statement instead of a claim transaction), for work nobody announced. With
   * several instances the others' queued work is not announced here, so every pass claims.
   */
  private queueSeenEmpty = false;
  /** A timer's pass is due: it asks the database even while the queue was seen empty. */
  private probe = false;
  /**
   * Announcements of queued work (`new`, `relayed`) heard so far. A claim that began before the
   * latest one may not have seen its work (its snapshot came first), so it cannot say the queue is
   * empty: that work would wait for the timer.
   */
  private announced = 0;
  /** Claims in a row that skipped queued work another transaction held (SKIP LOCKED), and the pass that tries again. */
  private skippedRetries = 0;
  private skippedRetry?: NodeJS.Timeout;
  /** A submit's transaction is placing its task (placeAtSubmit): passes wait, so no slot is handed out twice. */
  private placing = false;
  private readonly offs: Array<() => void> = [];
  private timer?: NodeJS.Timeout;

  /** Replicas placed in part, and their shared plan facts, for the claims that place the rest. */
  readonly replicaPlacements = new ReplicaPlacements();

  constructor(private readonly app: AppContext) {}

  start(intervalMs = 500): void {
    this.offs.push(this.app.bus.onWork((source) => this.poke(source)));
    this.timer = setInterval(() => this.poke("timer"), intervalMs);
    this.timer.unref();
    this.poke("new");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.skippedRetry);
    for (const off of this.offs) off();
    while (this.running || this.placing) await new Promise((r) => setTimeout(r, 5));
  }

  /** Runs a pass now, or again after the running one (`source`: why; WorkSource, or the backstop timer). */
  poke(source: WorkSource | "timer" = "new"): void {
    if (this.stopped) return;
    if (source === "new" || source === "relayed") {
      this.queueSeenEmpty = false;
      this.announced++;
    }
    if (source === "timer") this.probe = true;
    if (source === "new") this.relayLeft = true;
    if (this.running || this.placing) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      let conflicts = 0;
      do {
        this.again = false;
        const relay = this.relayLeft;
        this.relayLeft = false;
        try {
          // Work queued here that this instance cannot place (no free slot, no eligible provider
          // connected here) is the other instances' to try: only then are they poked.
          if ((await this.pass(relay)) && relay) this.app.bus.relayWork();
          conflicts = 0;
        } catch (e) {
          this.relayLeft ||= relay;
          // A claim that PostgreSQL aborted for a deadlock with a result batch (it share-locks the
          // candidates' accounts, a batch locks them in its units' order) runs again at once, after
          // a short random pause, instead of waiting for the next poke or tick.
          if (!isRetryableConflict(e) || ++conflicts >= PASS_CONFLICT_ATTEMPTS) throw e;
          await new Promise((r) => setTimeout(r, Math.random() * 10 * conflicts));
          this.again = true;
        }
      } while (this.again && !this.stopped);
    } catch (e) {
      this.app.log.error({ err: e }, "dispatch pass failed");
    } finally {
      this.running = false;
    }
  }

  /**
   * One pass over the queue, page by page, until local capacity or the queue runs out. True when it
   * may leave queued work behind: executions it could not place, or no free slot here to try.
   * `relay`: a `new` poke asked for it, to be relayed if left. With no free slot, whether any work
   * is queued at all is then asked (one statement): the work announced may be what the pass before
   * placed, its announcement having come while that pass ran, and the other instances have nothing
   * to find.
   */
  private async pass(relay = false): Promise<boolean> {
    if (this.app.providers.freeSlots() === 0) return relay && this.app.bus.relaying ? await this.anyQueued() : true;
    if (this.queueSeenEmpty) {
      const probe = this.probe;
      this.probe = false;
      // Alone, every writer of queued work announces it here: freed capacity runs nothing, and only
      // the timer's pass probes. With other instances, their work reaches this one only when
      // relayed, and a relay can be lost: freed capacity probes (one statement) before it claims
      // (a transaction that, most often, finds nothing).
      if (!probe && !this.app.bus.relaying) return false;
      if (!(await this.anyQueued())) return false;
    }
    const seen: string[] = [];
    let left = false;
    for (let page = 0; page < MAX_PAGES && !this.stopped; page++) {
      if (this.app.providers.freeSlots() === 0) return true;
      const announced = this.announced;
      const claimed = await this.claimPage(seen);
      for (const d of claimed.dispatches) void this.send(d);
      left ||= claimed.left;
      // Nothing queued beyond what this claim placed in full, as of its snapshot, and no work
      // announced since the claim began (its snapshot may have missed it): the queue is empty until
      // the next `new` poke, which clears this (and runs the loop again if it came meanwhile).
      if (page === 0) this.queueSeenEmpty = claimed.rows < PAGE && !claimed.left && this.announced === announced && !(await this.skippedQueued());
      if (claimed.rows < PAGE) return left;
    }
    return true;
  }

  /**
   * A task placed inside its submit's own transaction, when nothing else waits for this instance's
   * providers: it is alone (no relay: no other instance's queue to be fair to), its last claim
   * left the queue empty, no pass is running and a slot is free — and the submit is the only unit
   * of its group commit (under load the serial batch is the bottleneck, and a pass places a page of
   * tasks in one claim of its own, beside the batch). One transaction and one
   * announcement fewer per task than queueing it for a pass (the claim's BEGIN, claiming SELECT and
   * COMMIT); the same plan (`plan`, `apply`). Undefined: queue it (the caller pokes a pass).
   *
   * The slots are reserved before the submit's transaction commits: a run of the unit that rolled
   * back gives them back with `undo`; once it committed, `sendPlaced` announces and sends.
   */
  async placeAtSubmit(tx: SqlClient, task: SubmittedTask): Promise<Placed | undefined> {
    const { bus, commits, providers } = this.app;
    if (this.stopped || this.running || this.placing || !this.queueSeenEmpty || bus.relaying || commits.pending > 1 || providers.freeSlots() === 0) return undefined;
    const row: ClaimRow = { ...task, status: "queued", dispatched: 0, attempts: 0 };
    const reserved: Dispatch[] = [];
    let placement: Placement | undefined;
    this.placing = true;
    try {
      const claim = new ClaimBatch();
      placement = await this.plan(tx, claim, row);
      if (placement) this.apply(claim, row, placement, reserved);
      await claim.flush(tx, this.app.config.LEASE_MS);
    } catch (e) {
      this.undo({ dispatches: reserved, left: true });
      throw e;
    } finally {
      this.placing = false;
      // A poke that came meanwhile runs its pass now.
      if (this.again && !this.running) this.poke("here");
    }
    const left = wantsMore(row, placement);
    // What it could not place waits in the queue: the next submits queue behind it.
    if (left) this.queueSeenEmpty = false;
    this.app.metrics.dispatchClaims.inc({ outcome: reserved.length ? "submit" : "unplaced" });
    return { dispatches: reserved, left };
  }

  /** Gives back the slots of a placement whose transaction rolled back. */
  undo(placed: Placed): void {
    for (const d of placed.dispatches) this.app.providers.free(d.provider.id, d.assignmentId);
  }

  /** After the submit's transaction committed: its assignments announced and sent. */
  sendPlaced(placed: Placed): void {
    const [first] = placed.dispatches;
    if (first) this.app.bus.taskUpdated({ taskId: first.taskId, status: "assigned" });
    for (const d of placed.dispatches) void this.send(d);
  }

  /**
   * After a claim that found nothing left to place: whether it skipped queued work instead. A
   * claim passes over task rows another transaction holds (SKIP LOCKED) — seen under load: a
   * re-check's tie-breaker, committed and announced, skipped by the claim that announcement started
   * while a result batch was open — and the holder's commit may announce nothing: the queue would
   * be taken for empty and the work left to the backstop timer.
   * So such a claim is checked by a probe without locks; work it finds is claimed again shortly
   * (SKIPPED_RETRY_MS, doubling while it keeps being skipped). On PGlite a claim's transaction is
   * the only one (one connection): it skips nothing, and nothing is probed.
   */
  private async skippedQueued(): Promise<boolean> {
    if (this.app.db.kind !== "postgres" || !(await this.anyQueued())) {
      this.skippedRetries = 0;
      return false;
    }
    if (!this.skippedRetry) {
      const ms = Math.min(SKIPPED_RETRY_MAX_MS, SKIPPED_RETRY_MS * 2 ** this.skippedRetries++);
      this.skippedRetry = setTimeout(() => {
        this.skippedRetry = undefined;
        this.poke("here");
      }, ms);
      this.skippedRetry.unref();
    }
    return true;
  }

  /** Whether any task wants an execution: no locks, so rows other transactions hold count too. */
  private async anyQueued(): Promise<boolean> {
    const any = await anyWantsExecution(rawSql(this.app.db));
    this.app.metrics.dispatchClaims.inc({ outcome: any ? "probed" : "skipped" });
    return any;
  }

  /** A page of the queue claimed and placed; `left`: some claimed task wants executions this page did not place. */
  private async claimPage(seen: string[]): Promise<{ rows: number; dispatches: Dispatch[]; left: boolean }> {
    const { db, providers } = this.app;
    const reserved: Dispatch[] = [];
    let rowCount = 0;
    let left = false;
    try {
      await sqlTransaction(db, async (tx) => {
        // The rest of this transaction's statements use generic plans (queue.ts claimQueuePage).
        const rows = await claimQueuePage(tx, seen, PAGE);
        rowCount = rows.length;
        // The page's placements are planned over facts read once, and written in one statement.
        const claim = new ClaimBatch();
        await claim.factsOf(tx, this.likelyCandidates(rows));
        for (const row of rows) {
          seen.push(row.id);
          if (providers.freeSlots() === 0) {
            left = true;
            break;
          }
          const placement = await this.plan(tx, claim, row);
          if (placement) this.apply(claim, row, placement, reserved);
          if (wantsMore(row, placement)) left = true;
        }
        await claim.flush(tx, this.app.config.LEASE_MS);
      });
    } catch (e) {
      for (const d of reserved) providers.free(d.provider.id, d.assignmentId);
      throw e;
    }
    for (const d of reserved) if (d.row.status === "queued") this.app.bus.taskUpdated({ taskId: d.taskId, status: "assigned" });
    this.app.metrics.dispatchClaims.inc({ outcome: reserved.length ? "placed" : rowCount ? "unplaced" : "empty" });
    return { rows: rowCount, dispatches: reserved, left };
  }

  /**
   * A claimed task's placement for this pass, or undefined when nobody runs it now. Reads what the
   * decision needs (who already ran it, candidates and their facts) inside the claiming
   * transaction; the decisions themselves are plan.ts's.
   */
  private async plan(tx: SqlClient, claim: ClaimBatch, row: ClaimRow): Promise<Placement | undefined> {
    const { providers, config } = this.app;
    const v = parseVerification(row.verification);
    // A sealed task goes to the provider it was sealed to, and only while it holds that key.
    if (v.tee) {
      const p = providers.sealedTarget(v.tee.providerId, v.tee.publicKey);
      const units = unitsOf(row.modelSize);
      if (!p || priceFor(p, units) > BigInt(row.maxPrice)) return undefined;
      const picks = withinStake(await this.eligible(tx, claim, [p], units), config.qa, units);
      return picks.length > 0 ? { picks, fee: 0n, sealed: true } : undefined;
    }
    // A zk task waits for its model's circuit and keys (built in the background, then
    // the dispatcher is poked); the proving fee is part of each execution's price.
    const zk = v.mode === "zk" ? this.app.zk.ready(row.modelId) : undefined;
    if (v.mode === "zk" && !zk) {
      this.buildCircuit(row.modelId);
      return undefined;
    }
    const fee = v.zk ? BigInt(v.zk.fee) : 0n;
    // Providers already running or done with this task are not asked again (independent
    // replicas); a re-check never goes back to the provider whose result it checks.
    const taken = await takenBy(tx, row, v);
    const req = matchRequest(row, new Set([...taken, ...(v.avoid ?? [])]), v.backend, fee);
    const endTimer = this.app.metrics.matchDuration.startTimer();
    let picks: Candidate[];
    let decided: Placement["decided"];
    if (isFirstDispatch(v, row.dispatched)) {
      const first = await this.planFirst(tx, claim, row, v, req);
      if (!first) {
        endTimer();
        return undefined;
      }
      picks = first.picks;
      decided = { wanted: first.wanted, verification: decidedVerification(v, first) };
    } else if (comparesExecutions(row.kind, v)) {
      // Checkers (replicas, tie-breakers, re-checks): of other operators than every execution
      // of the task, trusted pairs first.
      const takenIds = await loadProviderIdentities(tx, taken);
      picks = await this.checkers(tx, claim, req, [...takenIds.values()], row.wanted - row.dispatched);
    } else {
      // A canary or an unverified task takes the scheduler's order.
      picks = (await this.eligible(tx, claim, providers.pick(req, row.wanted - row.dispatched + EXTRA_CANDIDATES), req.units)).slice(0, row.wanted - row.dispatched);
    }
    endTimer();
    picks = withinStake(picks, config.qa, req.units);
    // A first plan is stored even when nobody's stake covers its picks now (as before the split).
    if (picks.length === 0 && !decided) return undefined;
    const flatPrice = zk && v.chainEscrow ? BigInt(row.maxPrice) : undefined;
    return { picks, fee, ...(zk ? { zk } : {}), ...(flatPrice !== undefined ? { flatPrice } : {}), ...(decided ? { decided } : {}) };
  }

  /** A placement into the claim (written by its flush): the task's decided plan, one assignment per pick, the slots reserved. */
  private apply(claim: ClaimBatch, row: ClaimRow, placement: Placement, reserved: Dispatch[]): void {
    const { providers } = this.app;
    const { picks, fee, zk, flatPrice, decided, sealed } = placement;
    const units = unitsOf(row.modelSize);
    const assignments = picks.map(({ p }) => ({ id: newId("asg"), p, price: flatPrice ?? priceFor(p, units) + fee }));
    claim.place(
      row.id,
      assignments.map(({ id, p, price }) => ({ id, taskId: row.id, providerId: p.id, accountId: p.accountId, backend: p.backend, price })),
      decided,
    );
    const verification = decided?.verification ?? parseVerification(row.verification);
    const checked = mayNeedReference(row.kind, decided?.wanted ?? row.wanted, verification);
    const alone = !zk && !sealed && judgedAlone(row.kind, verification);
    // Replicas compared by quorum (not a referee plan nor a re-check, which expect the reference run).
    const replicas =
      checked && verification.plan !== "referee" && !verification.recheck
        ? this.replicaPlacements.place({
            taskId: row.id,
            inputSha256: row.inputSha256,
            wanted: decided?.wanted ?? row.wanted,
            dispatched: row.dispatched,
            placing: assignments.length,
            anyTrusted: picks.some((c) => isTrusted(c.f.trust, this.app.config.qa)),
          })
        : undefined;
    for (const { id: assignmentId, p, price } of assignments) {
      providers.reserve(p.id, assignmentId, {
        taskId: row.id,
        modelId: row.modelId,
        ...(zk ? { zk: true } : {}),
        ...(sealed ? { sealed } : {}),
        ...(checked ? { mayNeedReference: true } : {}),
        ...(replicas ? { replicas } : {}),
        // settle-alone.ts checks, under the task's lock, that the task still holds what it held here.
        ...(alone ? { alone: { requesterId: row.requesterId, held: BigInt(row.escrowHeld), price, accountId: p.accountId, backend: p.backend, inputSha256: row.inputSha256, verification } } : {}),
      });
      reserved.push({ assignmentId, taskId: row.id, provider: p, row, ...(zk ? { zk } : {}), ...(sealed ? { sealed } : {}) });
    }
  }

  /** Starts building a model's zk circuit on this instance if it has not yet (ZkModels.start). */
  private buildCircuit(modelId: string): void {
    void getModelRow(this.app, modelId)
      .then((m) => this.app.zk.start(m))
      .catch((err) => this.app.log.error({ err, modelId }, "zk circuit build failed"));
  }

  /**
   * How an `auto` task's first dispatch is checked (docs/QA.md § Plan): the lead (the best-scored
   * eligible provider) and its pair record decide. A trusted pair may run alone (`solo`); any other
   * result is checked before it is delivered — by replicas on providers of other operators (those
   * free now start now, the rest follow as providers free up), or, when no provider of another
   * operator is registered at all, by the server's reference run (`referee`) — and runs unchecked
   * (`single`) only where the requester or the operator allowed it. Undefined: nobody to run it now.
   */
  private async planFirst(tx: SqlClient, claim: ClaimBatch, row: ClaimRow, v: StoredVerification, req: MatchRequest): Promise<FirstPlan<Candidate> | undefined> {
    const { config, providers } = this.app;
    const eligible = await this.eligible(tx, claim, providers.pick(req, v.replicas + EXTRA_CANDIDATES), req.units);
    const sameBackend = calibrationOf(row)?.sameBackendQuorum === true;
    const lead = planLead(eligible, unpredictableUniform(), config.qa, sameBackend);
    if (!lead || lead.kind === "solo") return lead?.plan;
    const checkerReq: MatchRequest = {
      ...req,
      exclude: new Set([...(req.exclude ?? []), lead.lead.p.id]),
      ...(lead.backend ? { backend: lead.backend as Requirements["backend"] } : {}),
    };
    const others = await this.checkers(tx, claim, checkerReq, [lead.lead.f.identity], v.replicas - 1, lead.sameOrigin);
    return planChecked(lead, {
      others,
      checkerRegistered: others.length === 0 && (await this.checkerRegistered(tx, checkerReq, lead.lead.f.identity)),
      refereeable: canReferee({ calibration: row.calibration, sizeBytes: row.modelSize }, config.REFEREE_MAX_BYTES),
      allowSingle: v.allowSingle === true || config.ALLOW_SINGLE,
      replicas: v.replicas,
    });
  }

  /**
   * Up to `n` checkers for a request: eligible (stake covers them), of other operators than `taken`
   * and than each other, trusted pairs first, in the scheduler's order within each group. Asks the
   * index for more candidates while one operator's providers crowd out the others.
   */
  private async checkers(tx: SqlClient, claim: ClaimBatch, req: MatchRequest, taken: Identity[], n: number, known?: Candidate[]): Promise<Candidate[]> {
    if (n <= 0) return [];
    const { providers, config } = this.app;
    const choose = (eligible: Candidate[]) => chooseCheckers(eligible, taken, n, config.qa, config.QUORUM_NETWORK);
    // The lead's own candidate list first (no second round trip when it holds enough operators).
    if (known) {
      const picks = choose(known);
      if (picks.length >= n) return picks;
    }
    let k = (known ? 4 : 1) * (n + EXTRA_CANDIDATES);
    for (;;) {
      const found = providers.pick(req, k);
      const picks = choose(await this.eligible(tx, claim, found, req.units));
      if (picks.length >= n || found.length < k || k >= providers.size) return picks;
      k *= 4;
    }
  }

  /** Whether a provider of another operator than `lead` that could run the request is registered here, busy or idle. */
  private async checkerRegistered(tx: SqlClient, req: MatchRequest, lead: Identity): Promise<boolean> {
    const others = this.app.providers.registered(req, (p) => p.accountId !== lead.account);
    if (others.length === 0) return false;
    const ids = await loadProviderIdentities(
      tx,
      others.map((p) => p.id),
    );
    return [...ids.values()].some((id) => !sameOperator(id, lead));
  }

  /**
   * The candidates whose account stake covers one more execution at their price (free work needs
   * no stake), with their pair trust — in the index's order.
   */
  private async eligible(tx: SqlClient, claim: ClaimBatch, candidates: LocalProvider[], units: bigint | undefined): Promise<Candidate[]> {
    if (candidates.length === 0) return [];
    return eligibleCandidates(
      candidates,
      await claim.factsOf(
        tx,
        candidates.map((p) => p.id),
      ),
      this.app.config.qa,
      units,
    );
  }

  /**
   * The providers a page's tasks will likely weigh, read ahead in one statement: for each task, in
   * the index's order, as many as it and the tasks before it want, and a few more (each task's
   * placement reserves slots the next one's picks then skip). Sealed tasks name their provider.
   */
  private likelyCandidates(rows: ClaimRow[]): string[] {
    const ids = new Set<string>();
    let wanted = 0;
    for (const row of rows) {
      const v = parseVerification(row.verification);
      if (v.tee) continue;
      wanted += Math.max(1, row.wanted - row.dispatched);
      const req = matchRequest(row, new Set(v.avoid ?? []), v.backend, v.zk ? BigInt(v.zk.fee) : 0n);
      for (const p of this.app.providers.pick(req, wanted + EXTRA_CANDIDATES)) ids.add(p.id);
      if (ids.size >= PREFETCH_MAX) break;
    }
    return [...ids];
  }

  /** Sends a committed assignment to its provider; no ack in time means the execution is lost. */
  private async send(d: Dispatch): Promise<void> {
    const { app } = this;
    try {
      const input = await app.blobs.get(d.row.inputSha256);
      // A sealed task's blob is the box itself (enc ‖ ciphertext), relayed as it came.
      const sealed = d.sealed ? sealedBoxFromBytes(input) : undefined;
      const msg: Assign = {
        assignmentId: d.assignmentId,
        taskId: d.taskId,
        model: { id: d.row.modelId, sha256: d.row.modelSha256, sizeBytes: d.row.modelSize, url: `/api/v1/models/${d.row.modelId}/file` },
        inputs: sealed ? {} : deserializeTensorMap(input),
        ...(sealed ? { sealed } : {}),
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
 * The providers that ran or run the task (live or completed executions), and the provider whose
 * result a re-check checks. Every such execution counts in `dispatched`, so none exist while it is
 * 0 on a task that never had an execution judged and taken back (attempts 0).
 */
async function takenBy(tx: SqlClient, row: ClaimRow, v: StoredVerification): Promise<string[]> {
  const ids =
    row.dispatched === 0 && row.attempts === 0
      ? []
      : (
          await tx.$queryRaw<Array<{ providerId: string }>>`
            SELECT "providerId" FROM "Assignment" WHERE "taskId" = ${row.id} AND status IN (${Prisma.join([...LIVE_STATUSES, "completed"])})`
        ).map((a) => a.providerId);
  return v.recheck ? [...ids, v.recheck.providerId] : ids;
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
    units: unitsOf(row.modelSize),
    exclude,
  };
}
