/**
 * Group commit: many small units of work (a submit's hold and Task row, a result's judgement and
 * settlement) share one database transaction, so a burst of them pays for one BEGIN/COMMIT — one
 * WAL flush on PostgreSQL, one PGlite commit — instead of one each.
 *
 * - Units queue while a batch is committing; the next batch takes up to `maxBatch` of them. A batch
 *   starts one turn of the event loop after its first unit came (`setImmediate`), so the units of
 *   requests read together share it.
 * - A batch first runs whole, with no savepoint. A unit that throws gets its error, and the others
 *   run again in a second transaction, each inside its own SAVEPOINT: a unit that throws then is
 *   rolled back alone (ROLLBACK TO SAVEPOINT) and its caller gets the error; the others commit.
 * - A unit's promise settles only after the whole batch committed: nothing it wrote is announced
 *   before it is durable. A failed COMMIT fails every unit of the batch.
 * - A unit PostgreSQL aborted for a deadlock or serialization conflict (40P01, 40001) runs again in a
 *   later batch (up to ATTEMPTS times), after a short random pause.
 *
 * - A unit may open with a *lead*: a statement of a kind (`LeadKind`) that many units' leads can share
 *   — a submit's ledger hold and Task row (ledger/transfer.ts `transferLeads`), a result's settlement
 *   judged alone (qa/settle-alone.ts `aloneLeads`), a replica's result its task is short after
 *   (qa/short-result.ts `shortLeads`). A batch's leads of one kind run first, as one
 *   statement (`LeadKind.many`), and each unit's own work after, given what its lead returned. When
 *   that statement fails (a hold refused), nobody can tell whose it was: the batch runs again with a
 *   savepoint per unit, each lead alone (`LeadKind.one`), so the one refused fails alone, with its
 *   own error.
 * - A batch of one unit whose lead says what the unit answers (`settledBy`) and can commit by itself
 *   (`LeadKind.autocommit`) runs that statement alone, outside any transaction: one round trip
 *   where BEGIN and COMMIT made three (sequential `none` tasks: 10.3 → 8.9 statements each). At low
 *   load most batches are of one unit. Where the lead answers nothing or throws (having written
 *   nothing), the unit runs the usual way, in a transaction.
 *
 * Units must use only the `tx` they are given (on PGlite the outer client waits for the
 * transaction: database.ts) and must not change in-memory state they cannot take back: they may be
 * rolled back or run again. Do that after the unit's promise resolved.
 */
import { rawSql, sqlTransaction, type Database, type SqlClient } from "./database";
import { inOrder, markPipelined, pipelines } from "./sql-client";
import { isRetryableConflict } from "./retry-conflicts";

/** A unit of work; `led` is what its lead returned (undefined without one). */
export type Unit<T, R = unknown> = (tx: SqlClient, led: R | undefined) => Promise<T>;

/**
 * A kind of lead: one alone, or many in one statement. `many` answers each lead's result in their
 * order, and is all or nothing: it throws when any lead would fail alone, and may throw where each
 * alone would pass (its caller then runs each alone).
 */
export interface LeadKind<L, R> {
  one(tx: SqlClient, lead: L): Promise<R>;
  many(tx: SqlClient, leads: readonly L[]): Promise<readonly R[]>;
  /**
   * The lead as one statement committed by itself (`db` is not in a transaction): all or nothing
   * alone — where it throws, or answers undefined, it wrote nothing the unit's usual run (in a
   * transaction, `one` first) would not write again.
   */
  autocommit?(db: SqlClient, lead: L): Promise<R>;
}

/** A unit's lead: its kind, and what it writes. */
export interface Lead<R> {
  kind: LeadKind<never, R>;
  value: unknown;
}

/** A lead of `kind` writing `value`. */
export const leadOf = <L, R>(kind: LeadKind<L, R>, value: L): Lead<R> => ({ kind: kind as LeadKind<never, R>, value });

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

interface Pending {
  unit: Unit<unknown>;
  /** Runs before `unit`, with the batch's other leads of its kind (LeadKind.many) where it can. */
  lead?: Lead<unknown>;
  /** Runs in a savepoint of its own even in the optimistic pass (GroupCommit.run). */
  savepoint: boolean;
  /** What the unit answers, without running, when its lead answered `led` (GroupCommit.run). */
  settledBy?: (led: never) => unknown;
  /** The unit does not read its lead's answer (GroupCommit.run `readsLead: false`). */
  ignoresLead?: true;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  attempts: number;
}

const ATTEMPTS = 5;

export interface GroupCommitStats {
  batches: number;
  units: number;
  /** Milliseconds a batch was in flight: near the elapsed time, the queue is the bottleneck. */
  busyMs: number;
  /** Of those, milliseconds inside the units' own work (their statements); the rest is BEGIN, COMMIT and retries. */
  unitMs: number;
  /** Leads that ran in one statement with other units' leads of their kind (LeadKind.many) in a batch that committed so. */
  sharedLeads: number;
  /** Lone units settled by their lead committed by itself (LeadKind.autocommit), with no transaction. */
  autocommits: number;
  /** Units that threw in a batch of several, so the others ran again in savepoints, by the error's code or name. */
  failed: Record<string, number>;
  /**
   * Statements the batches sent (leads, the units' own, savepoints; not BEGIN or COMMIT), and the
   * milliseconds from sending each to having its answer back in the unit: the batch is serial, so
   * under load this wall time — the database's work plus the wait for the event loop to read the
   * answer — is what each statement costs every unit behind it (docs/BENCHMARKS.md, twenty-first round).
   */
  statements: number;
  statementMs: number;
  /**
   * Round trips the batches waited for: a statement issued while none of its batch's is in flight
   * starts one (statements issued together on a pipelining connection share it: sql-client.ts
   * `inOrder`), and each transaction adds its COMMIT, and its BEGIN where that is not sent with the
   * first statement (direct-sql.ts pipelines it; Prisma and PGlite do not).
   */
  roundTrips: number;
}

export class GroupCommit {
  private readonly queue: Pending[] = [];
  private running = false;
  readonly stats: GroupCommitStats = { batches: 0, units: 0, busyMs: 0, unitMs: 0, sharedLeads: 0, autocommits: 0, failed: {}, statements: 0, statementMs: 0, roundTrips: 0 };

  constructor(
    private readonly db: Database,
    private readonly maxBatch = 64,
  ) {}

  /**
   * Runs `unit` in the next batch; resolves with its result once that batch committed. `savepoint`:
   * a unit that often throws (a result whose judge may ask for the server's reference run) runs in
   * a savepoint of its own, two round trips more, so its throwing rolls back only its own writes
   * instead of sending the whole batch to the second, savepoint-per-unit transaction. `lead`: the
   * unit's opening statement (`leadOf`), run with the batch's other leads of its kind; the unit gets
   * what it returned. `settledBy`: what the unit answers when its lead answered `led` (not
   * undefined) — it must then run no statement of its own — so that, alone in its batch, its lead
   * may commit by itself (LeadKind.autocommit). `readsLead: false`: the unit never reads what its
   * lead answered, so where its lead runs alone, on a connection that pipelines, the unit's
   * statements go out behind the lead's without waiting for its answer (one round trip fewer);
   * where the lead fails, that is the unit's error.
   */
  run<T, R = unknown>(unit: Unit<T, R>, opts: { savepoint?: boolean; lead?: Lead<R>; settledBy?: (led: NonNullable<R>) => T; readsLead?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        unit: unit as Unit<unknown>,
        savepoint: opts.savepoint ?? false,
        ...(opts.lead !== undefined ? { lead: opts.lead } : {}),
        ...(opts.settledBy !== undefined ? { settledBy: opts.settledBy as (led: never) => unknown } : {}),
        ...(opts.readsLead === false ? { ignoresLead: true as const } : {}),
        resolve: resolve as (v: unknown) => void,
        reject,
        attempts: 0,
      });
      this.kick();
    });
  }

  private kick(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    void this.drain();
  }

  /**
   * Units in the batch now committing and queued for the next: 1 while a lone unit runs. Work a
   * unit may do or leave to others (a submit placing its task) is best done only then: the
   * batch is serial, and what one unit adds, every unit behind it waits for.
   */
  get pending(): number {
    return this.inFlight + this.queue.length;
  }

  private inFlight = 0;

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // The requests read in this turn of the event loop queue their units first. PGlite runs
        // a statement without yielding to the event loop (its engine is synchronous behind a
        // promise): a batch started at once commits inside the microtasks of the callback that
        // queued its unit, before the next request is read, and every batch held one unit
        // unless a unit happened to wait for the thread pool (a blob file's touch) — inline
        // blobs on PGlite, 32 clients: 1.0 unit a batch, 105–161 tasks/s, against ten a batch
        // and 254–262 with this turn (docs/BENCHMARKS.md, twentieth round).
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.queue.splice(0, this.maxBatch);
        this.inFlight = batch.length;
        await this.commit(batch);
        // Committed: during the next batch's turn only the queue is pending.
        this.inFlight = 0;
      }
    } finally {
      this.inFlight = 0;
      this.running = false;
      this.kick();
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    const started = performance.now();
    const outcomes = batch.length === 1 ? await this.lone(batch[0]!) : await this.together(batch);
    this.stats.busyMs += performance.now() - started;
    this.stats.batches++;
    this.stats.units += batch.length;
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      // A short random pause so the two that met do not meet again at once.
      else if (isRetryableConflict(o.err) && ++p.attempts < ATTEMPTS)
        setTimeout(
          () => {
            this.queue.push(p);
            this.kick();
          },
          Math.random() * 20 * p.attempts,
        );
      else p.reject(o.err);
    });
  }

  /**
   * The optimistic run: every unit in one transaction with no savepoint (two round trips fewer per
   * unit). When a unit throws, the transaction is rolled back: that unit fails with its error — it
   * saw exactly the state the units before it left, as it would in any run — and the others run
   * again, each in a savepoint, so one batch costs at most two transactions. A unit queued with
   * `savepoint` has its own here already: its failure is its own.
   */
  private async together(batch: Pending[]): Promise<Outcome[]> {
    let failed: { index: number; err: unknown } | undefined;
    // Leads of units without a savepoint of their own, run as one statement per kind before the
    // units, where the kind has several.
    const byKind = new Map<LeadKind<never, unknown>, Pending[]>();
    for (const p of batch) {
      if (!p.lead || p.savepoint) continue;
      const ps = byKind.get(p.lead.kind);
      if (ps) ps.push(p);
      else byKind.set(p.lead.kind, [p]);
    }
    const shared = [...byKind].filter(([, ps]) => ps.length > 1);
    const led = new Map<Pending, unknown>();
    try {
      return await this.transaction(async (tx) => {
        const outcomes: Outcome[] = [];
        const started = performance.now();
        try {
          // One statement per kind, none needing another's answer: pipelined, one round trip for all.
          const answers = await inOrder(
            tx,
            shared.map(
              ([kind, ps]) =>
                () =>
                  kind.many(
                    tx,
                    ps.map((p) => p.lead!.value as never),
                  ),
            ),
          );
          shared.forEach(([, ps], k) => ps.forEach((p, i) => led.set(p, answers[k]![i])));
        } catch (err) {
          failed = { index: -1, err };
          throw err;
        }
        for (const [index, p] of batch.entries()) {
          if (p.savepoint) {
            outcomes.push(await this.inSavepoint(tx, p));
            continue;
          }
          try {
            outcomes.push({ ok: true, value: led.has(p) ? await p.unit(tx, led.get(p)) : await this.alone(tx, p) });
          } catch (err) {
            failed = { index, err };
            throw err;
          }
        }
        this.stats.unitMs += performance.now() - started;
        return outcomes;
      }).then((outcomes) => {
        this.stats.sharedLeads += led.size;
        return outcomes;
      });
    } catch (err) {
      // BEGIN or COMMIT failed: every unit failed with it, and none of its writes happened.
      if (!failed) return batch.map(() => ({ ok: false, err }));
    }
    const { index, err } = failed;
    const why = (err as { code?: unknown } | null)?.code ?? (err as object | null)?.constructor?.name ?? "unknown";
    this.stats.failed[String(why)] = (this.stats.failed[String(why)] ?? 0) + 1;
    // The leads' statement failed: whose lead it was, each unit's own run tells.
    if (index < 0) return this.inSavepoints(batch);
    const rest = await this.inSavepoints(batch.filter((_, i) => i !== index));
    return [...rest.slice(0, index), { ok: false, err }, ...rest.slice(index)];
  }

  /**
   * A batch of one: its lead committed by itself where the unit is settled by what it answers
   * (LeadKind.autocommit, `settledBy`), else the unit in a transaction of its own.
   */
  private async lone(p: Pending): Promise<Outcome[]> {
    const autocommit = p.lead?.kind.autocommit;
    if (autocommit && p.settledBy) {
      const started = performance.now();
      const answer = await autocommit(this.timed(rawSql(this.db)), p.lead!.value as never).then(
        (led) => ({ led }),
        () => undefined,
      );
      this.stats.unitMs += performance.now() - started;
      // It threw, having written nothing: the usual run, lead and all, decides, and tells why where it fails too.
      if (!answer) return this.inSavepoints([p]);
      const { led } = answer;
      if (led === undefined) {
        // Nothing written: the unit runs as it does when its lead in a transaction answers undefined.
        const { lead: _answered, ...unit } = p;
        return this.inSavepoints([unit]);
      }
      this.stats.autocommits++;
      try {
        return [{ ok: true, value: p.settledBy(led as never) }];
      } catch (err) {
        return [{ ok: false, err }];
      }
    }
    return this.inSavepoints([p]);
  }

  /** A unit with its lead, if any, run alone before it. */
  private async alone(tx: SqlClient, p: Pending): Promise<unknown> {
    const { lead } = p;
    if (!lead) return p.unit(tx, undefined);
    const led = () => lead.kind.one(tx, lead.value as never);
    if (!p.ignoresLead) return p.unit(tx, await led());
    const [, value] = await inOrder<unknown>(tx, [led, () => p.unit(tx, undefined)]);
    return value;
  }

  /** Each unit in a savepoint of its own (a lone unit needs none: its failure is the transaction's). */
  private async inSavepoints(batch: Pending[]): Promise<Outcome[]> {
    let outcomes: Outcome[] = [];
    try {
      await this.transaction(async (tx) => {
        outcomes = [];
        if (batch.length === 1) {
          const started = performance.now();
          outcomes.push({ ok: true, value: await this.alone(tx, batch[0]!) });
          this.stats.unitMs += performance.now() - started;
          return;
        }
        for (const p of batch) outcomes.push(await this.inSavepoint(tx, p));
      });
    } catch (err) {
      // The transaction as a whole failed (a lone unit threw, or COMMIT failed): every unit
      // failed with it, and none of its writes happened.
      outcomes = batch.map(() => ({ ok: false, err }));
    }
    return outcomes;
  }

  /** One unit inside a savepoint: its throwing rolls back its own writes only. */
  private async inSavepoint(tx: SqlClient, p: Pending): Promise<Outcome> {
    // Where statements are pipelined, the unit's first statement goes out right behind SAVEPOINT
    // (whose answer nothing needs): one round trip fewer per unit in a savepoint.
    const opened = tx.$executeRawUnsafe("SAVEPOINT group_unit");
    if (pipelines(tx)) opened.catch(() => {});
    else await opened;
    try {
      const value = await this.alone(tx, p);
      await opened;
      await tx.$executeRawUnsafe("RELEASE SAVEPOINT group_unit");
      return { ok: true, value };
    } catch (err) {
      await tx.$executeRawUnsafe("ROLLBACK TO SAVEPOINT group_unit");
      return { ok: false, err };
    }
  }

  private transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    // PostgreSQL: node-postgres directly (db/direct-sql.ts). Through Prisma, units wait their turn
    // in the queue, not in Prisma's; a batch of many may take a while.
    return sqlTransaction(
      this.db,
      (tx) => {
        this.stats.roundTrips += pipelines(tx) ? 1 : 2;
        return fn(this.timed(tx));
      },
      { maxWait: 30_000, timeout: 60_000 },
    );
  }

  /** `sql` counting its statements and their wall time into `stats` (statements, statementMs). */
  private timed(sql: SqlClient): SqlClient {
    const stats = this.stats;
    // A statement issued with none in flight, or after an answer came back, waited for a round trip
    // of its own; one issued while the statements before it are all still unanswered went with them.
    let inFlight = 0;
    let answered = true;
    const time =
      <K extends keyof SqlClient>(method: K) =>
      async (...args: unknown[]) => {
        const started = performance.now();
        if (inFlight++ === 0 || answered) stats.roundTrips++;
        answered = false;
        try {
          return await (sql[method] as (...a: unknown[]) => Promise<unknown>).apply(sql, args);
        } finally {
          inFlight--;
          answered = true;
          stats.statements++;
          stats.statementMs += performance.now() - started;
        }
      };
    // Prisma's methods answer PrismaPromises; awaiting is all a unit does with them (as direct-sql.ts's).
    const timed = { $queryRaw: time("$queryRaw"), $executeRaw: time("$executeRaw"), $queryRawUnsafe: time("$queryRawUnsafe"), $executeRawUnsafe: time("$executeRawUnsafe") } as unknown as SqlClient;
    return pipelines(sql) ? markPipelined(timed) : timed;
  }
}
