/**
 * The adaptive-replication simulation: a population of providers runs a stream of user tasks under
 * the REAL QA code — planExecution/afterChecked/afterSolo/drawCanary/preferTrusted/slashAmount/
 * slashSplit/stakeCovers (apps/server/src/qa/policy.ts), addVerdict/reputationScore
 * (reputation.ts), decide (decide.ts, over findMajority and the tolerance-aware comparator of
 * @stun/shared) — driven the way the server drives them (see docs/QA.md):
 *
 * - user task: the scheduler's candidates are its top `need + EXTRA_CANDIDATES` providers in a
 *   reputation-weighted random order (the server: in score order, reputation one factor); the
 *   lead is the first, planExecution on its pair's trust. `solo` → one execution, accepted
 *   unchecked (afterSolo; remembered as a solo result of the pair). `replicate`/`audit` → the
 *   second replica is the first of the other candidates ordered with preferTrusted;
 *   decide(); on disagreement one tie-breaker (preferTrusted, excluding both), decide() over three;
 *   winners afterChecked(true), losers afterChecked(false); no majority → the task fails.
 * - canary: drawCanary per user task → one known-answer execution on the scheduler's first pick,
 *   compared with the true answer under the same comparator → afterChecked(valid).
 * - every invalid verdict: afterChecked(false), slashAmount off the stake, and the pair's most
 *   recent `recheckLimit` solo results not yet re-checked are re-checked: a fresh execution by
 *   another provider (preferTrusted, excluding the suspect), a tie-breaker on disagreement, and a
 *   correction when the original loses — itself an invalid verdict for the original pair (slash
 *   split with the requester via slashSplit, and the next batch of its solo results queued).
 *
 * Each provider runs one backend here, so a (provider, backend) pair is a provider identity. A
 * provider whose stake no longer covers one execution (stakeCovers) leaves and comes back as a
 * fresh identity of the same kind with fresh stake (a Sybil re-join), so the dishonest share
 * stays constant for the whole run.
 */
import { compareTensorMaps, type Backend } from "@stun/shared";
import { mulberry32 } from "@stun/testkit";
import { decide, type Candidate, type Decision } from "../../apps/server/src/qa/decide";
import {
  afterChecked,
  afterSolo,
  drawCanary,
  isTrusted,
  newPairTrust,
  planExecution,
  preferTrusted,
  slashAmount,
  slashSplit,
  stakeCovers,
  type PairTrust,
  type QaPolicy,
} from "../../apps/server/src/qa/policy";
import { addVerdict, reputationScore, type ReputationEvidence } from "../../apps/server/src/qa/reputation";
import type { StoredVerification } from "../../apps/server/src/services/task-view";
import { IN, TinyModel, brokenOutput, gauss, honestOutput, randomOutput, toOutputs, type Outputs, type Rng } from "./model";

export const KINDS = ["honest", "always-wrong", "sometimes-wrong", "lazy", "colluder"] as const;
export type Kind = (typeof KINDS)[number];

/** The dispatcher's candidates beyond those needed (apps/server/src/scheduler/dispatcher.ts). */
export const EXTRA_CANDIDATES = 3;

/** How often a sometimes-wrong provider returns a wrong result. */
export const SOMETIMES_WRONG_RATE = 0.1;

export interface SimConfig {
  providers: number;
  /** Measured user tasks. */
  tasks: number;
  /** Unmeasured user tasks run after them (see the task stream below). */
  drain: number;
  /** Share of providers that are dishonest (split evenly among the four dishonest kinds). */
  dishonest: number;
  seed: number;
  policy: QaPolicy;
  /** `reputation`: pick probability ∝ schedulerBase + reputationScore; `uniform`: any provider alike. */
  scheduler: "reputation" | "uniform";
  schedulerBase: number;
  /** A new identity's stake, in multiples of its price. */
  stakeMultiple: bigint;
  /**
   * Changes to the server's logic, to measure alternatives (none by default: the server's behaviour,
   * where disputes of models the server can run are decided by its own reference run — qa/referee.ts).
   * `fresh-recheck`: in a re-check the suspect's output is tested, not counted as a vote.
   * `provider-tiebreak`: tie-breakers are providers (picked trusted-first), as for models too large
   * for the server's referee (REFEREE_MAX_BYTES) or with same-backend quorums.
   */
  variants: readonly Variant[];
}

export const VARIANTS = ["fresh-recheck", "provider-tiebreak"] as const;
export type Variant = (typeof VARIANTS)[number];

export interface SimResult {
  config: SimConfig;
  population: Record<Kind, number>;
  /** User tasks accepted / failed, over all tasks (measured and drain). */
  accepted: number;
  failed: number;
  /** Accepted among the measured tasks: what the wrong counts are out of. */
  measuredAccepted: number;
  wrongFinal: number;
  /** Wrong among the measured tasks when their window ended (before the drain let the QA catch up). */
  wrongAtWindowEnd: number;
  wrongDelivered: number;
  /** Wrong final results by how they were accepted and whether a re-check looked at them. */
  wrongFinalWhy: Record<string, number>;
  honestLossWhy: Record<string, number>;
  corrections: number;
  /** Corrections that replaced a right result by a wrong one. */
  badCorrections: number;
  /** Provider executions by role, and `server`: the server's referee runs (reference runs deciding disputes). */
  executions: { first: number; replica: number; tiebreak: number; canary: number; recheck: number; recheckTiebreak: number; server: number };
  honestRejectedExecutions: number;
  honestRejectedValue: bigint;
  honestSlashed: bigint;
  honestUnpaidInFailedTasks: bigint;
  dishonestSlashed: bigint;
  refunded: bigint;
  rejoins: Record<Kind, number>;
  /** User tasks accepted without any check (solo). */
  solo: number;
  /** Honest identities trusted at the end. */
  honestTrustedAtEnd: number;
  ms: number;
  /** How many runs (seeds) these figures sum. */
  runs: number;
}

interface Provider {
  id: number;
  slot: number;
  kind: Kind;
  backend: Backend;
  price: bigint;
  stake: bigint;
  trust: PairTrust;
  rep: ReputationEvidence;
  score: number;
  /** Solo results not yet re-checked, oldest first. */
  solos: Task[];
}

interface Exec {
  p: Provider;
  out: Outputs;
  /** A colluder returned the shared wrong answer. */
  colluded: boolean;
}

interface Task {
  x: Float32Array;
  truth: Float64Array;
  truthOut: Outputs;
  collusion?: Outputs;
  execs: Exec[];
  accepted?: Outputs;
  /** How the current result was accepted: alone, by replica consensus, or by a re-check's correction. */
  via?: "solo" | "consensus" | "correction";
  soloBy?: Provider;
  rechecked: boolean;
  everWrong: boolean;
}

type Role = keyof SimResult["executions"];

/** Replicated tasks as the server stores them under `auto` (2 replicas, compared by value). */
const V: StoredVerification = { mode: "auto", replicas: 2, argmax: false };

/** Dishonest counts per kind: colluders in pairs (about a quarter), the rest split evenly. */
export function populationFor(providers: number, dishonest: number): Record<Kind, number> {
  const d = Math.round(providers * dishonest);
  const colluder = d === 0 ? 0 : 2 * Math.max(1, Math.round(d / 8));
  const rest = Math.max(0, d - colluder);
  const third = Math.floor(rest / 3);
  const extra = rest - 3 * third;
  return {
    honest: providers - colluder - rest,
    "always-wrong": third + (extra > 0 ? 1 : 0),
    "sometimes-wrong": third + (extra > 1 ? 1 : 0),
    lazy: third,
    colluder,
  };
}

export function simulate(cfg: SimConfig): SimResult {
  const t0 = performance.now();
  const { policy } = cfg;
  // Separate streams, so that a change in one decision does not reshuffle every other draw.
  const rngWorld = mulberry32(cfg.seed * 7919 + 1);
  const rngSched = mulberry32(cfg.seed * 7919 + 2);
  const rngPolicy = mulberry32(cfg.seed * 7919 + 3);
  const rngBehave = mulberry32(cfg.seed * 7919 + 4);
  const model = new TinyModel(mulberry32(cfg.seed * 7919 + 5));
  /** The colluders' shared cheap stand-in: a wrong answer, but a deterministic function of the input. */
  const fakeModel = new TinyModel(mulberry32(cfg.seed * 7919 + 6));

  const population = populationFor(cfg.providers, cfg.dishonest);
  const r: SimResult = {
    config: cfg,
    population,
    accepted: 0,
    failed: 0,
    measuredAccepted: 0,
    wrongFinal: 0,
    wrongAtWindowEnd: 0,
    wrongDelivered: 0,
    wrongFinalWhy: {},
    honestLossWhy: {},
    corrections: 0,
    badCorrections: 0,
    executions: { first: 0, replica: 0, tiebreak: 0, canary: 0, recheck: 0, recheckTiebreak: 0, server: 0 },
    honestRejectedExecutions: 0,
    honestRejectedValue: 0n,
    honestSlashed: 0n,
    honestUnpaidInFailedTasks: 0n,
    dishonestSlashed: 0n,
    refunded: 0n,
    rejoins: { honest: 0, "always-wrong": 0, "sometimes-wrong": 0, lazy: 0, colluder: 0 },
    solo: 0,
    honestTrustedAtEnd: 0,
    ms: 0,
    runs: 1,
  };

  // ---- population ------------------------------------------------------------------------------
  let nextId = 0;
  const randomBackend = (rng: Rng): Backend => {
    const u = rng();
    return u < 0.35 ? "webgpu" : u < 0.5 ? "wasm" : u < 0.8 ? "cuda" : "cpu";
  };
  const newProvider = (slot: number, kind: Kind): Provider => {
    const price = BigInt(80 + Math.floor(rngWorld() * 41));
    const rep = { validWeight: 0, invalidWeight: 0 };
    return {
      id: nextId++,
      slot,
      kind,
      backend: randomBackend(rngWorld),
      price,
      stake: price * cfg.stakeMultiple,
      trust: newPairTrust(),
      rep,
      score: reputationScore(rep),
      solos: [],
    };
  };
  const kinds: Kind[] = [];
  for (const k of KINDS) for (let i = 0; i < population[k]; i++) kinds.push(k);
  // Shuffle, so that slot order (the scheduler's tie order) says nothing about kind.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rngWorld() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  const slots: Provider[] = kinds.map((k, slot) => newProvider(slot, k));
  const partnerSlot: number[] = slots.map(() => -1);
  const colluderSlots = slots.filter((p) => p.kind === "colluder").map((p) => p.slot);
  for (let i = 0; i + 1 < colluderSlots.length; i += 2) {
    partnerSlot[colluderSlots[i]!] = colluderSlots[i + 1]!;
    partnerSlot[colluderSlots[i + 1]!] = colluderSlots[i]!;
  }

  // ---- the scheduler ---------------------------------------------------------------------------
  // The server's ProviderIndex ranks eligible providers by score (reputation is one factor) and the
  // dispatcher takes the top `need + EXTRA_CANDIDATES`; for `auto` the lead is the first of them and
  // the checkers are preferTrusted over the rest (tie-breakers and re-checks: preferTrusted over all
  // of them; canaries: the order as is). The simulated score order is a weighted random permutation.
  const eligible = (p: Provider): boolean => stakeCovers(p.stake, 0n, p.price, policy);
  const weight = (p: Provider): number => (cfg.scheduler === "uniform" ? 1 : cfg.schedulerBase + p.score);
  /** The scheduler's top `need + EXTRA_CANDIDATES` eligible providers not excluded (Efraimidis–Spirakis order). */
  function candidatesFor(exclude: readonly Provider[], need: number): Provider[] {
    const k = need + EXTRA_CANDIDATES;
    const keys: number[] = [];
    const top: Provider[] = [];
    for (const p of slots) {
      if (!eligible(p) || exclude.includes(p)) continue;
      const key = -Math.log(1 - rngSched()) / weight(p); // smallest keys first
      if (top.length === k && key >= keys[k - 1]!) continue;
      let i = Math.min(top.length, k - 1);
      while (i > 0 && keys[i - 1]! > key) {
        keys[i] = keys[i - 1]!;
        top[i] = top[i - 1]!;
        i--;
      }
      keys[i] = key;
      top[i] = p;
    }
    return top;
  }
  const trustOf = (c: Provider): PairTrust => c.trust;
  /** A tie-breaker or re-check executor, as the dispatcher picks it. */
  const pickChecker = (exclude: readonly Provider[]): Provider => {
    const p = preferTrusted(candidatesFor(exclude, 1), trustOf, policy)[0];
    if (!p) throw new Error("no provider left to check with");
    return p;
  };

  // ---- behaviour -------------------------------------------------------------------------------
  const newTask = (): Task => {
    const x = Float32Array.from({ length: IN }, () => gauss(rngWorld));
    const truth = model.run(x);
    return { x, truth, truthOut: toOutputs(truth), execs: [], rechecked: false, everWrong: false };
  };
  const partnerOf = (p: Provider): Provider | undefined => (partnerSlot[p.slot]! >= 0 ? slots[partnerSlot[p.slot]!] : undefined);
  const isWrong = (t: Task, out: Outputs): boolean => !compareTensorMaps(t.truthOut, out).equal;

  /**
   * One execution. Colluders are honest until both partners' pairs are trusted; then both return
   * the same wrong answer (a function of the input). They also coordinate on every task both touch:
   * run together as the two replicas, they both cheat; a partner that ran the task before is
   * copied (its honest answer or its wrong one), so they always agree with each other.
   */
  function execute(p: Provider, t: Task, role: Role, concurrent?: Provider): Exec {
    r.executions[role]++;
    let out: Outputs;
    let colluded = false;
    switch (p.kind) {
      case "honest":
        out = honestOutput(t.truth, p.backend, rngBehave);
        break;
      case "always-wrong":
        out = brokenOutput(t.truth, rngBehave);
        break;
      case "sometimes-wrong":
        out = rngBehave() < SOMETIMES_WRONG_RATE ? brokenOutput(t.truth, rngBehave) : honestOutput(t.truth, p.backend, rngBehave);
        break;
      case "lazy":
        out = randomOutput(rngBehave);
        break;
      case "colluder": {
        const partner = partnerOf(p);
        const before = partner && t.execs.find((e) => e.p === partner);
        colluded = before
          ? before.colluded
          : concurrent !== undefined && concurrent === partner
            ? true
            : partner !== undefined && isTrusted(p.trust, policy) && isTrusted(partner.trust, policy);
        out = colluded ? (t.collusion ??= toOutputs(fakeModel.run(t.x))) : honestOutput(t.truth, p.backend, rngBehave);
        break;
      }
    }
    const e = { p, out, colluded };
    t.execs.push(e);
    return e;
  }

  // ---- verdicts, slashing, re-checks -----------------------------------------------------------
  /** The server's reference runtime: the referee of disputes (unless `provider-tiebreak`). */
  const SERVER: Provider = { ...newProvider(-1, "honest"), backend: "cpu" };
  nextId--;
  const recheckQueue: Array<{ task: Task; suspect: Provider }> = [];

  function slash(p: Provider, price: bigint, requesterPaid: bigint): void {
    const amount = slashAmount(price, p.stake, policy);
    p.stake -= amount;
    if (p.kind === "honest") r.honestSlashed += amount;
    else r.dishonestSlashed += amount;
    if (requesterPaid > 0n) r.refunded += slashSplit(amount, requesterPaid).toRequester;
  }

  function record(p: Provider, valid: boolean): void {
    p.trust = afterChecked(p.trust, valid, policy);
    p.rep = addVerdict(p.rep, valid);
    p.score = reputationScore(p.rep);
  }

  /** A checked verdict on an execution (replica, tie-breaker, canary, re-check executor). */
  function verdict(e: Exec, valid: boolean): void {
    if (e.p === SERVER) return;
    record(e.p, valid);
    if (valid) return;
    if (e.p.kind === "honest") {
      r.honestRejectedExecutions++;
      r.honestRejectedValue += e.p.price;
    }
    slash(e.p, e.p.price, 0n);
    queueRechecks(e.p);
  }

  /** The pair's latest `recheckLimit` solo results not yet re-checked (server: queueRechecks). */
  function queueRechecks(p: Provider): void {
    const queued = p.solos.splice(Math.max(0, p.solos.length - policy.recheckLimit));
    for (const task of queued.reverse()) recheckQueue.push({ task, suspect: p });
  }

  const candidates = (es: Exec[]): Candidate[] => es.map((e, i) => ({ assignmentId: String(i), outputs: e.out }));
  /** Applies a decision's winners/losers to executions (by index); returns the winners' output. */
  function judge(d: Extract<Decision, { kind: "accept" }>, es: Exec[], skip?: number): Outputs {
    for (const id of d.winners) if (Number(id) !== skip) verdict(es[Number(id)]!, true);
    for (const id of d.losers) {
      const e = es[Number(id)]!;
      if (e.p.kind === "honest" && e.p !== SERVER) {
        const why = `${skip === 0 ? "re-check" : "task"}: ${es.map((x) => x.p.kind + (x.colluded ? "*" : "") + (isTrusted(x.p.trust, policy) ? "T" : "")).join(",")} honest#${id}`;
        r.honestLossWhy[why] = (r.honestLossWhy[why] ?? 0) + 1;
      }
      if (Number(id) !== skip) verdict(e, false);
    }
    return es[Number(d.winners[0])]!.out;
  }

  function deliver(t: Task, out: Outputs, via: NonNullable<Task["via"]>): void {
    t.accepted = out;
    t.via = via;
    if (isWrong(t, out)) t.everWrong = true;
  }

  /**
   * A tie-breaker: the server's own reference run (qa/referee.ts: exact answer, no verdict for it),
   * or — under `provider-tiebreak` — a provider picked with preferTrusted.
   */
  function tieBreaker(t: Task, exclude: readonly Provider[], role: Role): Exec {
    if (cfg.variants.includes("provider-tiebreak")) return execute(pickChecker(exclude), t, role);
    r.executions.server++;
    const e = { p: SERVER, out: honestOutput(t.truth, "cpu", rngBehave), colluded: false };
    t.execs.push(e);
    return e;
  }

  /** Re-checks one solo result of a suspect pair. */
  function recheck(t: Task, suspect: Provider): void {
    const original = t.execs.find((e) => e.p === suspect)!;
    t.rechecked = true;
    const rc = execute(pickChecker([suspect]), t, "recheck");
    let es = [original, rc];
    let d = decide(V, 2, candidates(es));
    let consensus: Outputs;
    if (d.kind === "tiebreak" && cfg.variants.includes("fresh-recheck")) {
      // Variant: the suspect's output is what is tested, not a vote. Fresh executions decide
      // among themselves (a second tie-breaker when the first two disagree), and the original
      // stands only if it agrees with their majority.
      es = [rc, tieBreaker(t, [suspect, rc.p], "recheckTiebreak")];
      d = decide(V, 2, candidates(es));
      if (d.kind === "tiebreak") {
        es.push(tieBreaker(t, [suspect, ...es.map((e) => e.p)], "recheckTiebreak"));
        d = decide(V, 3, candidates(es));
      }
      if (d.kind !== "accept") return; // inconclusive: the original stands, nobody is judged
      consensus = judge(d, es);
      if (decide(V, 2, candidates([original, { ...original, out: consensus }])).kind === "accept") return;
    } else {
      if (d.kind === "tiebreak") {
        es.push(tieBreaker(t, [suspect, rc.p], "recheckTiebreak"));
        d = decide(V, 3, candidates(es));
      }
      if (d.kind !== "accept") return; // no majority: the original stands, nobody is judged
      // The original pair earns no trust from re-checks of its own results (index 0 is skipped).
      consensus = judge(d, es, 0);
      if (!d.losers.includes("0")) return;
    }
    // Overturned: the requester's result is corrected, and the suspect pays for it (the requester
    // gets back what it paid); its recent solo results are already being re-checked.
    const wasWrong = isWrong(t, t.accepted!);
    deliver(t, consensus, "correction");
    r.corrections++;
    if (!wasWrong && isWrong(t, consensus)) r.badCorrections++;
    // As the server does (recordCheckedVerdict): an invalid verdict, a slash split with the wronged
    // requester, and the next batch of the pair's solo results not yet re-checked is queued.
    record(suspect, false);
    if (suspect.kind === "honest") r.honestRejectedValue += suspect.price;
    slash(suspect, suspect.price, suspect.price);
    queueRechecks(suspect);
  }

  // ---- the task stream -------------------------------------------------------------------------
  // Wrong results are counted over the first `tasks` user tasks; the `drain` tasks after them are
  // the same traffic, run so that the QA process has time to catch (and re-check) the pairs that
  // delivered wrong results near the end of that window. Every other figure covers all tasks.
  const userTasks: Task[] = [];
  for (let n = 0; n < cfg.tasks + cfg.drain; n++) {
    if (n === cfg.tasks) r.wrongAtWindowEnd = userTasks.filter((u) => u.accepted && isWrong(u, u.accepted)).length;
    const t = newTask();
    if (n < cfg.tasks) userTasks.push(t);
    const [first, ...rest] = candidatesFor([], V.replicas);
    if (!first || rest.length === 0) throw new Error("not enough providers");
    const plan = planExecution(first.trust, policy, rngPolicy());
    if (plan === "solo") {
      deliver(t, execute(first, t, "first").out, "solo");
      t.soloBy = first;
      first.trust = afterSolo(first.trust);
      first.solos.push(t);
      r.accepted++;
      r.solo++;
    } else {
      const second = preferTrusted(rest, trustOf, policy)[0]!;
      const es = [execute(first, t, "first", second), execute(second, t, "replica", first)];
      let d = decide(V, 2, candidates(es));
      if (d.kind === "tiebreak") {
        es.push(tieBreaker(t, [first, second], "tiebreak"));
        d = decide(V, 3, candidates(es));
      }
      if (d.kind === "accept") {
        deliver(t, judge(d, es), "consensus");
        r.accepted++;
      } else {
        r.failed++; // inconclusive: no verdicts, the requester is refunded, nobody is paid
        for (const e of es) if (e.p.kind === "honest" && e.p !== SERVER) r.honestUnpaidInFailedTasks += e.p.price;
      }
    }

    if (drawCanary(policy, rngPolicy())) {
      const c = newTask();
      const e = execute(candidatesFor([], 1)[0]!, c, "canary");
      verdict(e, !isWrong(c, e.out));
    }

    while (recheckQueue.length > 0) {
      const { task, suspect } = recheckQueue.shift()!;
      recheck(task, suspect);
    }

    // Identities whose stake no longer covers an execution leave; their owner re-joins afresh.
    for (let s = 0; s < slots.length; s++) {
      const p = slots[s]!;
      if (!eligible(p)) {
        r.rejoins[p.kind]++;
        slots[s] = newProvider(s, p.kind);
      }
    }
  }

  for (const t of userTasks) {
    if (t.accepted) r.measuredAccepted++;
    if (t.everWrong) r.wrongDelivered++;
    if (t.accepted && isWrong(t, t.accepted)) {
      r.wrongFinal++;
      const why =
        t.via === "solo"
          ? `solo by ${t.soloBy!.kind}, ${t.rechecked ? "upheld by its re-check" : slots[t.soloBy!.slot] === t.soloBy && t.soloBy!.solos.includes(t) ? "open window" : "never re-checked"}`
          : t.via === "consensus"
            ? "replica consensus"
            : "correction";
      r.wrongFinalWhy[why] = (r.wrongFinalWhy[why] ?? 0) + 1;
    }
  }
  if (cfg.drain === 0) r.wrongAtWindowEnd = r.wrongFinal;
  r.honestTrustedAtEnd = slots.filter((p) => p.kind === "honest" && isTrusted(p.trust, policy)).length;
  r.ms = performance.now() - t0;
  return r;
}

/** Sums runs of one configuration (different seeds) into one result; `config` is the first run's. */
export function mergeResults(rs: readonly SimResult[]): SimResult {
  const [head, ...rest] = rs;
  if (!head) throw new Error("nothing to merge");
  const m: SimResult = structuredClone(head);
  for (const r of rest) {
    for (const k of Object.keys(m) as Array<keyof SimResult>) {
      const a = m[k];
      const b = r[k];
      if (typeof a === "number") (m as unknown as Record<string, number>)[k] = a + (b as number);
      else if (typeof a === "bigint") (m as unknown as Record<string, bigint>)[k] = a + (b as bigint);
    }
    for (const [k, n] of Object.entries(r.executions)) m.executions[k as keyof SimResult["executions"]] += n;
    for (const [k, n] of Object.entries(r.rejoins)) m.rejoins[k as Kind] += n;
    for (const [k, n] of Object.entries(r.wrongFinalWhy)) m.wrongFinalWhy[k] = (m.wrongFinalWhy[k] ?? 0) + n;
    for (const [k, n] of Object.entries(r.honestLossWhy)) m.honestLossWhy[k] = (m.honestLossWhy[k] ?? 0) + n;
  }
  m.runs = rs.length;
  return m;
}

export const totalExecutions = (r: SimResult): number => Object.values(r.executions).reduce((a, b) => a + b, 0);
