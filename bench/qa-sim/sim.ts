/**
 * The adaptive-replication simulation: a population of providers runs a stream of user tasks under
 * the REAL server code — the dispatcher's planner (apps/server/src/scheduler/plan.ts: planLead,
 * planChecked, chooseCheckers), the result judge (qa/judge.ts: quorum by decide over findMajority
 * and the tolerance-aware comparator of @stun/shared, the referee, referee audits, re-checks,
 * canaries), afterChecked/afterSolo/drawCanary/slashAmount/slashSplit/stakeCovers (qa/policy.ts),
 * earnsCredit (quorum.ts), addVerdict/reputationScore (reputation.ts) — driven the way the server
 * drives them (see docs/QA.md); what the simulation itself models is who is online, the
 * scheduler's order, and what each provider returns:
 *
 * - user task: the lead is the scheduler's first pick (a reputation-weighted random order; the
 *   server ranks by score, reputation one factor), planLead on its pair's trust. `solo` → one
 *   execution, accepted unchecked (afterSolo; remembered as a solo result of the pair). Otherwise
 *   the result is never delivered unchecked: the checker is the first of the scheduler's top
 *   candidates (excluding the lead) that chooseCheckers accepts — trusted pairs first, another
 *   operator than the lead, another network prefix preferred — and the judge decides; on
 *   disagreement the server's reference run decides (the referee). An agreement is re-run by the
 *   referee on the audit draw before delivery; if the referee contradicts it, every agreeing replica
 *   is invalid and the task runs again on another operator's provider, checked by the referee (the
 *   server's retryAfterWrong, up to MAX_ATTEMPTS). Valid verdicts afterChecked(true) when earnsCredit
 *   allows it, invalid ones afterChecked(false).
 * - canary: drawCanary per user task → one known-answer execution on the scheduler's first pick
 *   (its inputs are drawn like real ones: indistinguishable), judged against the true answer.
 * - every invalid verdict: afterChecked(false), slashAmount off the stake, and the pair's most recent
 *   `recheckLimit` solo results not yet re-checked are re-checked by a provider of another operator
 *   (chooseCheckers), judged as the server judges a re-check task (the referee deciding a
 *   disagreement; re-checks are not referee-audited); a correction when the original loses — itself
 *   an invalid verdict for the original pair (slash split with the requester via slashSplit, and
 *   the next batch of its solo results queued).
 *
 * Each provider runs one backend here, so a (provider, backend) pair is a provider identity. A
 * provider whose stake no longer covers one execution (stakeCovers) leaves and comes back as a
 * fresh account of the same kind and group with fresh stake (a Sybil re-join), so the dishonest
 * share stays constant for the whole run.
 */
import { compareTensorMaps, type Backend } from "@stun/shared";
import { mulberry32 } from "@stun/testkit";
import type { Candidate } from "../../apps/server/src/qa/decide";
import { REFEREE } from "../../apps/server/src/qa/referee";
import { judge, type JudgeInput } from "../../apps/server/src/qa/judge";
import {
  afterChecked,
  afterSiblingCaught,
  afterSolo,
  catchResetsSiblings,
  checkProbability,
  drawCanary,
  isTrusted,
  newPairTrust,
  preferTrusted,
  slashAmount,
  sharesFate,
  slashSplit,
  stakeCovers,
  type PairTrust,
  type QaPolicy,
} from "../../apps/server/src/qa/policy";
import { earnsCredit, type Identity, type NetPolicy } from "../../apps/server/src/qa/quorum";
import { addVerdict, reputationScore, type ReputationEvidence } from "../../apps/server/src/qa/reputation";
import { chooseCheckers, decidedVerification, planChecked, planLead, type Candidate as Placeable } from "../../apps/server/src/scheduler/plan";
import type { StoredVerification } from "../../apps/server/src/tasks/verification";
import { IN, TinyModel, brokenOutput, gauss, honestOutput, randomOutput, toOutputs, type Outputs, type Rng } from "./model";
import { KINDS, identities, populationFor, seatsFor, type Kind, type Mix, type Seat, type Shape } from "./population";

export { KINDS, type Kind } from "./population";

/** The dispatcher's candidates beyond those needed (apps/server/src/scheduler/dispatcher.ts). */
export const EXTRA_CANDIDATES = 3;

/** How often a sometimes-wrong provider returns a wrong result. */
export const SOMETIMES_WRONG_RATE = 0.1;

/**
 * When a group member returns its group's wrong output on a task no other member of its group
 * touches (on a task a member already ran, or runs alongside, it always agrees with that member):
 * `always`; `trusted` — while its own pair is trusted (running alone or audited, it cannot tell
 * which); `patient` — only once its pair's audit probability is down to the floor (a sleeper that
 * knows the policy and its own record). Either only from task `from` × tasks on (a swarm waking
 * up at once).
 */
export interface Schedule {
  mode: "always" | "trusted" | "patient";
  from: number;
}

export interface SimConfig {
  providers: number;
  /** Measured user tasks. */
  tasks: number;
  /** Unmeasured user tasks run after them (see the task stream below). */
  drain: number;
  /** Share of providers that are dishonest (split by populationFor), unless `mix` gives counts. */
  dishonest: number;
  mix?: Mix;
  shape: Shape;
  sybilSchedule: Schedule;
  ringSchedule: Schedule;
  seed: number;
  policy: QaPolicy;
  /** How far network prefixes separate a quorum (the server's QUORUM_NETWORK). */
  quorumNet: NetPolicy;
  /** `reputation`: pick probability ∝ schedulerBase + reputationScore; `uniform`: any provider alike. */
  scheduler: "reputation" | "uniform";
  schedulerBase: number;
  /** A new identity's stake, in multiples of its price. */
  stakeMultiple: bigint;
  /**
   * Changes to the server's logic, to measure alternatives (none by default: the server's behaviour).
   * `no-referee`: no server reference run — disputes go to a provider tie-breaker (picked like a
   * checker) and there are no referee audits, as for models too large for the server
   * (REFEREE_MAX_BYTES) or with same-backend quorums. `any-operator`: the logic before issue 11 —
   * checkers by preferTrusted alone (operators and networks ignored) and credit for any valid result.
   */
  variants: readonly Variant[];
}

export const VARIANTS = ["no-referee", "any-operator"] as const;
export type Variant = (typeof VARIANTS)[number];

export interface SimResult {
  config: SimConfig;
  population: Mix;
  /** User tasks accepted (delivered) / failed, over all tasks (measured and drain). */
  accepted: number;
  failed: number;
  /** User tasks whose result was wrong when first delivered (before any correction), over all tasks. */
  wrongAtDelivery: number;
  /** Accepted among the measured tasks: what the wrong final counts are out of. */
  measuredAccepted: number;
  wrongFinal: number;
  /** Wrong among the measured tasks when their window ended (before the drain let the QA catch up). */
  wrongAtWindowEnd: number;
  /** Wrong at delivery by how the result was accepted and by whom. */
  wrongAtDeliveryWhy: Record<string, number>;
  /** Wrong final results by how they were accepted and whether a re-check looked at them. */
  wrongFinalWhy: Record<string, number>;
  /** Invalid verdicts on dishonest providers, by kind and the check that caught them. */
  caughtBy: Record<string, number>;
  honestLossWhy: Record<string, number>;
  corrections: number;
  /** Corrections that replaced a right result by a wrong one. */
  badCorrections: number;
  /**
   * Provider executions by role, and the server's reference runs: `server` (deciding disputes) and
   * `refereeAudit` (re-checking agreements).
   */
  executions: { first: number; replica: number; tiebreak: number; canary: number; recheck: number; recheckTiebreak: number; server: number; refereeAudit: number };
  honestRejectedExecutions: number;
  honestRejectedValue: bigint;
  honestSlashed: bigint;
  honestUnpaidInFailedTasks: bigint;
  dishonestSlashed: bigint;
  refunded: bigint;
  rejoins: Record<Kind, number>;
  /** Trusted pairs that lost their trust because a pair of their operator or network was caught (sharesFate), by kind. */
  siblingResets: Record<Kind, number>;
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
  seat: Seat;
  kind: Kind;
  identity: Identity;
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
  /** A group member returned its group's wrong output. */
  colluded: boolean;
}

interface Task {
  x: Float32Array;
  truth: Float64Array;
  truthOut: Outputs;
  /** Each group's shared wrong output for this input. */
  collusion: Map<number, Outputs>;
  execs: Exec[];
  accepted?: Outputs;
  /** How the current result was accepted. */
  via?: "solo" | "consensus" | "referee audit" | "correction";
  soloBy?: Provider;
  rechecked: boolean;
}

type Role = keyof SimResult["executions"];
/** What caught a wrong result: a dispute the referee (or a tie-breaker) decided, a canary, a re-check, a referee audit. */
type Check = "dispute" | "canary" | "re-check executor" | "overturned by re-check" | "referee audit";

/** A task's executions before it fails (the server's MAX_ATTEMPTS default). */
const MAX_ATTEMPTS = 3;

/** Replicated tasks as the server stores them under `auto` (2 replicas, compared by value). */
const V: StoredVerification = { mode: "auto", replicas: 2, argmax: false };

const count = (m: Record<string, number>, key: string): void => {
  m[key] = (m[key] ?? 0) + 1;
};

export function simulate(cfg: SimConfig): SimResult {
  const t0 = performance.now();
  const { policy } = cfg;
  const referee = !cfg.variants.includes("no-referee");
  const anyOperator = cfg.variants.includes("any-operator");
  // Separate streams, so that a change in one decision does not reshuffle every other draw.
  const rngWorld = mulberry32(cfg.seed * 7919 + 1);
  const rngSched = mulberry32(cfg.seed * 7919 + 2);
  const rngPolicy = mulberry32(cfg.seed * 7919 + 3);
  const rngBehave = mulberry32(cfg.seed * 7919 + 4);
  const model = new TinyModel(mulberry32(cfg.seed * 7919 + 5));
  /** Each group's cheap stand-in: a wrong answer, but a deterministic function of the input. */
  const fakeModels = new Map<number, TinyModel>();
  const fakeOf = (g: number): TinyModel => {
    let m = fakeModels.get(g);
    if (!m) fakeModels.set(g, (m = new TinyModel(mulberry32(cfg.seed * 7919 + 100 + g))));
    return m;
  };

  const population = cfg.mix ?? populationFor(cfg.providers, cfg.dishonest, cfg.shape);
  const r: SimResult = {
    config: cfg,
    population,
    accepted: 0,
    failed: 0,
    wrongAtDelivery: 0,
    measuredAccepted: 0,
    wrongFinal: 0,
    wrongAtWindowEnd: 0,
    wrongAtDeliveryWhy: {},
    wrongFinalWhy: {},
    caughtBy: {},
    honestLossWhy: {},
    corrections: 0,
    badCorrections: 0,
    executions: { first: 0, replica: 0, tiebreak: 0, canary: 0, recheck: 0, recheckTiebreak: 0, server: 0, refereeAudit: 0 },
    honestRejectedExecutions: 0,
    honestRejectedValue: 0n,
    honestSlashed: 0n,
    honestUnpaidInFailedTasks: 0n,
    dishonestSlashed: 0n,
    refunded: 0n,
    rejoins: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>,
    siblingResets: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>,
    solo: 0,
    honestTrustedAtEnd: 0,
    ms: 0,
    runs: 1,
  };

  // ---- population ------------------------------------------------------------------------------
  let nextId = 0;
  const identityOf = identities(cfg.shape, rngWorld);
  const randomBackend = (rng: Rng): Backend => {
    const u = rng();
    return u < 0.35 ? "webgpu" : u < 0.5 ? "wasm" : u < 0.8 ? "cuda" : "cpu";
  };
  const newProvider = (slot: number, seat: Seat): Provider => {
    const price = BigInt(80 + Math.floor(rngWorld() * 41));
    const rep = { validWeight: 0, invalidWeight: 0 };
    return {
      id: nextId++,
      slot,
      seat,
      kind: seat.kind,
      identity: identityOf(seat),
      backend: randomBackend(rngWorld),
      price,
      stake: price * cfg.stakeMultiple,
      trust: newPairTrust(),
      rep,
      score: reputationScore(rep),
      solos: [],
    };
  };
  const slots: Provider[] = seatsFor(population, cfg.shape, rngWorld).map((seat, slot) => newProvider(slot, seat));

  // ---- the scheduler ---------------------------------------------------------------------------
  // The server's ProviderIndex ranks eligible providers by score (reputation is one factor); the
  // simulated score order is a reputation-weighted random permutation, drawn afresh per request.
  const eligible = (p: Provider): boolean => stakeCovers(p.stake, 0n, p.price, policy);
  const weight = (p: Provider): number => (cfg.scheduler === "uniform" ? 1 : cfg.schedulerBase + p.score);
  /** The scheduler's top `k` eligible providers not excluded (Efraimidis–Spirakis order). */
  function topCandidates(exclude: readonly Provider[], k: number): Provider[] {
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
  /** A provider as the dispatcher's planner sees a candidate (scheduler/plan.ts): its offer and its facts. */
  const placeable = (p: Provider): Placeable & { sim: Provider } => ({
    p: { id: String(p.id), accountId: p.identity.account, backend: p.backend, price: p.price },
    f: { trust: p.trust, stake: p.stake, atRisk: 0n, identity: p.identity },
    sim: p,
  });
  /**
   * Up to `n` checkers (replicas, tie-breakers, re-check executors) as the dispatcher's `checkers`
   * picks them: the scheduler's top n + EXTRA_CANDIDATES, then the planner's chooseCheckers against
   * the task's executors — asking for more candidates while one operator crowds out the others.
   */
  function checkers(executors: readonly Provider[], n: number): Provider[] {
    const taken = executors.map((p) => p.identity);
    for (let k = n + EXTRA_CANDIDATES; ; k *= 4) {
      const found = topCandidates(executors, k);
      const picks = anyOperator ? preferTrusted(found, trustOf, policy).slice(0, n) : chooseCheckers(found.map(placeable), taken, n, policy, cfg.quorumNet).map((c) => c.sim);
      if (picks.length >= n || found.length < k) return picks;
    }
  }
  const checker = (executors: readonly Provider[]): Provider => {
    const p = checkers(executors, 1)[0];
    if (!p) throw new Error("no provider of another operator left to check with");
    return p;
  };

  // ---- behaviour -------------------------------------------------------------------------------
  let now = 0;
  const newTask = (): Task => {
    const x = Float32Array.from({ length: IN }, () => gauss(rngWorld));
    const truth = model.run(x);
    return { x, truth, truthOut: toOutputs(truth), collusion: new Map(), execs: [], rechecked: false };
  };
  const isWrong = (t: Task, out: Outputs): boolean => !compareTensorMaps(t.truthOut, out).equal;
  const sameGroup = (a: Provider, b: Provider | undefined): boolean => b !== undefined && a.seat.group !== undefined && a.seat.group === b.seat.group;

  /** Whether a group member cheats on a task no other member of its group touches. */
  function onSchedule(p: Provider): boolean {
    const s = p.kind === "sybil" ? cfg.sybilSchedule : cfg.ringSchedule;
    if (now < s.from * cfg.tasks) return false;
    if (s.mode === "always") return true;
    return isTrusted(p.trust, policy) && (s.mode === "trusted" || checkProbability(p.trust, policy) <= policy.auditFloor);
  }

  /**
   * One execution. Group members (colluding accounts, Sybil swarms) return their group's wrong
   * output on their schedule; on any task two members touch they agree: run together (lead and
   * checker) they both cheat, and a member that ran the task before (e.g. as the suspect of a
   * re-check) is copied, its honest answer or its wrong one.
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
      case "colluder":
      case "sybil": {
        const g = p.seat.group!;
        const before = t.execs.find((e) => e.p !== p && sameGroup(p, e.p));
        colluded = before ? before.colluded : sameGroup(p, concurrent) || onSchedule(p);
        if (colluded) {
          let fake = t.collusion.get(g);
          if (!fake) t.collusion.set(g, (fake = toOutputs(fakeOf(g).run(t.x))));
          out = fake;
        } else out = honestOutput(t.truth, p.backend, rngBehave);
        break;
      }
    }
    const e = { p, out, colluded };
    t.execs.push(e);
    return e;
  }

  // ---- verdicts, slashing, re-checks -----------------------------------------------------------
  /** The server's reference runtime: the referee of disputes and of referee audits. */
  const SERVER: Provider = { ...newProvider(-1, { kind: "honest", member: 0 }), backend: "cpu" };
  nextId--;
  const serverRun = (t: Task, role: "server" | "refereeAudit"): Exec => {
    r.executions[role]++;
    const e = { p: SERVER, out: honestOutput(t.truth, "cpu", rngBehave), colluded: false };
    t.execs.push(e);
    return e;
  };
  const recheckQueue: Array<{ task: Task; suspect: Provider }> = [];

  function slash(p: Provider, price: bigint, requesterPaid: bigint): void {
    const amount = slashAmount(price, p.stake, policy);
    p.stake -= amount;
    if (p.kind === "honest") r.honestSlashed += amount;
    else r.dishonestSlashed += amount;
    if (requesterPaid > 0n) r.refunded += slashSplit(amount, requesterPaid).toRequester;
  }

  /**
   * A checked verdict on an execution (replica, tie-breaker, canary, re-check executor, overturned
   * original). Without credit (earnsCredit) a valid verdict moves neither trust nor reputation. An
   * invalid one slashes (`requesterPaid`: a delivered result was wrong, the requester is refunded)
   * and re-checks the pair's newest solo results.
   */
  function verdict(e: Exec, valid: boolean, check: Check, opts: { credit?: boolean; requesterPaid?: bigint } = {}): void {
    const p = e.p;
    if (p === SERVER || (valid && opts.credit === false)) return;
    const before = p.trust;
    p.trust = afterChecked(p.trust, valid, policy);
    p.rep = addVerdict(p.rep, valid);
    p.score = reputationScore(p.rep);
    if (valid) return;
    if (p.kind === "honest") {
      r.honestRejectedExecutions++;
      r.honestRejectedValue += p.price;
    } else count(r.caughtBy, `${p.kind}: ${check}`);
    slash(p, p.price, opts.requesterPaid ?? 0n);
    queueRechecks(p);
    // A trusted pair caught: the other pairs of its operator (and network prefix) share its fate.
    if (!catchResetsSiblings(before, policy)) return;
    for (const q of slots) {
      if (q === p || !sharesFate(p.identity, q.identity, policy)) continue;
      if (isTrusted(q.trust, policy)) r.siblingResets[q.kind]++;
      q.trust = afterSiblingCaught(q.trust);
    }
  }

  /** The pair's latest `recheckLimit` solo results not yet re-checked (server: queueRechecks). */
  function queueRechecks(p: Provider): void {
    const queued = p.solos.splice(Math.max(0, p.solos.length - policy.recheckLimit));
    for (const task of queued.reverse()) recheckQueue.push({ task, suspect: p });
  }

  /** Executions as the judge sees them: the id is the index in `es`. */
  const candidates = (es: readonly Exec[]): Candidate[] => es.map((e, i) => ({ assignmentId: String(i), outputs: e.out }));
  const label = (es: readonly Exec[]): string => es.map((x) => x.p.kind + (x.colluded ? "*" : "") + (isTrusted(x.p.trust, policy) ? "T" : "")).join(",");
  /** Whether the winners' valid verdict earns credit: not when agreeing only with its own operator. */
  const creditFor = (e: Exec, winners: readonly Exec[]): boolean =>
    anyOperator ||
    earnsCredit(
      e.p.identity,
      undefined,
      winners.filter((w) => w !== e && w.p !== SERVER).map((w) => w.p.identity),
    );

  /**
   * Runs the server's judge (qa/judge.ts) over a task's executions `es` until it reaches a judgement,
   * giving it what it asks for: the server's reference run (under `no-referee` the server cannot
   * referee), the agreeing pairs' records with a draw for the referee audit, and one more execution
   * per tie-breaker. `first` is the index of the first execution judged (a re-check's original,
   * index 0, is judged by the re-check, not as one of its results).
   */
  function judgeUntilDone(t: Task, es: Exec[], base: Omit<JudgeInput, "results" | "compare" | "refereeable" | "policy" | "auditDraw">, first: number, tiebreakRole: "tiebreak" | "recheckTiebreak") {
    const input: JudgeInput = { ...base, results: candidates(es).slice(first), compare: { argmax: false }, refereeable: referee, policy, auditDraw: 0 };
    if (first > 0) input.original = candidates(es)[0]!;
    for (;;) {
      const j = judge(input);
      if (j.kind === "need-reference") {
        const ref = serverRun(t, j.use === "audit" ? "refereeAudit" : "server");
        input.reference = ref.out;
      } else if (j.kind === "need-agreeing-trust") {
        input.agreeingTrust = j.agreeing.map((id) => es[Number(id)]!.p.trust);
        input.auditDraw = rngPolicy();
      } else if (j.kind === "tiebreak") {
        es.push(execute(checker(es.map((e) => e.p)), t, tiebreakRole));
        input.results = candidates(es).slice(first);
        input.wanted++;
      } else return { judgement: j, reference: input.reference ?? undefined };
    }
  }

  /** Records the judge's verdicts on executions of `es` (ids are indices); counts honest providers' losses. */
  function record(j: { verdicts: Array<{ assignmentId: string; verdict: string }>; winners?: string[]; losers?: string[] }, es: readonly Exec[], check: Check, where: string): void {
    const winners = (j.winners ?? []).filter((id) => id !== REFEREE).map((id) => es[Number(id)]!);
    for (const id of j.losers ?? []) {
      const e = id === REFEREE ? undefined : es[Number(id)];
      if (e && e.p.kind === "honest") count(r.honestLossWhy, `${where}: ${label(es)} honest#${id}`);
    }
    for (const { assignmentId, verdict: v } of j.verdicts) {
      const e = es[Number(assignmentId)]!;
      if (v === "valid") verdict(e, true, check, { credit: creditFor(e, winners) });
      else if (v === "invalid") verdict(e, false, check);
    }
  }

  function deliver(t: Task, out: Outputs, via: NonNullable<Task["via"]>, by: readonly Exec[]): void {
    const first = t.accepted === undefined;
    t.accepted = out;
    t.via = via;
    if (first && isWrong(t, out)) {
      r.wrongAtDelivery++;
      count(r.wrongAtDeliveryWhy, `${via}: ${label(by)}`);
    }
  }

  /** The suspect's result is overturned: the requester's result is corrected and the suspect pays for it. */
  function overturn(t: Task, original: Exec, consensus: Outputs, by: readonly Exec[]): void {
    const wasWrong = isWrong(t, t.accepted!);
    deliver(t, consensus, "correction", by);
    r.corrections++;
    if (!wasWrong && isWrong(t, consensus)) r.badCorrections++;
    // As the server does (recordCheckedVerdict): an invalid verdict, a slash split with the wronged
    // requester, and the next batch of the pair's solo results not yet re-checked is queued.
    verdict(original, false, "overturned by re-check", { requesterPaid: original.p.price });
  }

  /** The output the judge accepted: its first winner's, a provider's or the reference run's. */
  const winnerOutput = (winners: readonly string[], es: readonly Exec[], reference: Outputs | undefined): Outputs => (winners[0] === REFEREE ? reference! : es[Number(winners[0])]!.out);

  /** Re-checks one solo result of a suspect pair: a task of kind recheck, the original its first replica. */
  function recheck(t: Task, suspect: Provider): void {
    const original = t.execs.find((e) => e.p === suspect)!;
    t.rechecked = true;
    const es = [original, execute(checker([suspect]), t, "recheck")];
    const v: StoredVerification = { mode: "redundant", replicas: 2, argmax: false, recheck: { taskId: "", assignmentId: "0", providerId: String(suspect.id) } };
    const { judgement: j, reference } = judgeUntilDone(t, es, { kind: "recheck", v, wanted: 1 }, 1, "recheckTiebreak");
    if (j.kind !== "accept") return; // no majority: the original stands, nobody is judged
    // The original pair earns no trust from re-checks of its own results (the judge leaves it out).
    record(j, es, "re-check executor", "re-check");
    if (j.overturned)
      overturn(
        t,
        original,
        winnerOutput(j.winners, es, reference),
        j.winners.filter((id) => id !== REFEREE).map((id) => es[Number(id)]!),
      );
  }

  /** A user task under `auto`: planned by the dispatcher's planner, judged by the server's judge. */
  function runUserTask(t: Task): void {
    const leadP = topCandidates([], 1)[0];
    if (!leadP) throw new Error("no provider");
    const lead = planLead([placeable(leadP)], rngPolicy(), policy, false)!;
    if (lead.kind === "solo") {
      const e = execute(leadP, t, "first");
      deliver(t, e.out, "solo", [e]);
      t.soloBy = leadP;
      leadP.trust = afterSolo(leadP.trust);
      leadP.solos.push(t);
      r.accepted++;
      r.solo++;
      return;
    }
    // Checked before delivery: a checker of another operator (the task waits for one; here one is always free).
    const second = checker([leadP]);
    const plan = planChecked(lead, { others: [placeable(second)], checkerRegistered: true, refereeable: referee, allowSingle: false, replicas: V.replicas });
    let v = decidedVerification(V, plan);
    let es = [execute(leadP, t, "first", second), execute(second, t, "replica", leadP)];
    let { judgement: j, reference } = judgeUntilDone(t, es, { kind: "user", v, wanted: plan.wanted }, 0, "tiebreak");
    // The reference run contradicted what the executions delivered: they are invalid, and the task
    // runs again on a provider of an operator that has not run it, checked by the reference run
    // (the server's retryAfterWrong), until it has used up its attempts.
    const ran: Provider[] = es.map((e) => e.p);
    let attempts = 0;
    while (j.kind === "retry") {
      record(j, es, "referee audit", "task");
      if (++attempts >= MAX_ATTEMPTS) break;
      if (j.verification) v = j.verification;
      const next = checker(ran);
      ran.push(next);
      es = [execute(next, t, "replica")];
      ({ judgement: j, reference } = judgeUntilDone(t, es, { kind: "user", v, wanted: j.wanted }, 0, "tiebreak"));
    }
    if (j.kind !== "accept") {
      r.failed++; // inconclusive: the requester is refunded, nobody is paid
      for (const e of t.execs) if (e.p.kind === "honest" && e.p !== SERVER) r.honestUnpaidInFailedTasks += e.p.price;
      if (j.kind === "fail") record(j, es, "dispute", "task");
      return;
    }
    r.accepted++;
    record(j, es, "dispute", "task");
    const winners = j.winners.filter((id) => id !== REFEREE).map((id) => es[Number(id)]!);
    deliver(t, winnerOutput(j.winners, es, reference), attempts > 0 ? "referee audit" : "consensus", attempts > 0 ? [...winners, ...t.execs.filter((e) => e.p === SERVER)] : es);
  }

  // ---- the task stream -------------------------------------------------------------------------
  // Wrong final results are counted over the first `tasks` user tasks; the `drain` tasks after them
  // are the same traffic, run so that the QA process has time to catch (and re-check) the pairs
  // that delivered wrong results near the end of that window. Every other figure covers all tasks.
  const userTasks: Task[] = [];
  for (now = 0; now < cfg.tasks + cfg.drain; now++) {
    if (now === cfg.tasks) r.wrongAtWindowEnd = userTasks.filter((u) => u.accepted && isWrong(u, u.accepted)).length;
    const t = newTask();
    if (now < cfg.tasks) userTasks.push(t);
    runUserTask(t);

    if (drawCanary(policy, rngPolicy())) {
      const c = newTask();
      const e = execute(topCandidates([], 1)[0]!, c, "canary");
      const j = judge({
        kind: "canary",
        v: { mode: "none", replicas: 1, argmax: false },
        wanted: 1,
        results: candidates([e]),
        answer: c.truthOut,
        compare: {},
        refereeable: false,
        policy,
        auditDraw: 0,
      });
      if (j.kind === "accept" || j.kind === "fail") record(j, [e], "canary", "canary");
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
        slots[s] = newProvider(s, p.seat);
      }
    }
  }

  for (const t of userTasks) {
    if (t.accepted) r.measuredAccepted++;
    if (t.accepted && isWrong(t, t.accepted)) {
      r.wrongFinal++;
      const why =
        t.via === "solo"
          ? `solo by ${t.soloBy!.kind}, ${t.rechecked ? "upheld by its re-check" : slots[t.soloBy!.slot] === t.soloBy && t.soloBy!.solos.includes(t) ? "open window" : "never re-checked"}`
          : t.via!;
      count(r.wrongFinalWhy, why);
    }
  }
  if (cfg.drain === 0) r.wrongAtWindowEnd = r.wrongFinal;
  r.honestTrustedAtEnd = slots.filter((p) => p.kind === "honest" && isTrusted(p.trust, policy)).length;
  r.ms = performance.now() - t0;
  return r;
}

/** Sums runs of one configuration (different seeds) into one result; `config` and `population` are the first run's. */
export function mergeResults(rs: readonly SimResult[]): SimResult {
  const [head, ...rest] = rs;
  if (!head) throw new Error("nothing to merge");
  const m: SimResult = structuredClone(head);
  const into = m as unknown as Record<string, unknown>;
  for (const r of rest) {
    for (const [k, b] of Object.entries(r)) {
      const a = into[k];
      if (typeof a === "number") into[k] = a + (b as number);
      else if (typeof a === "bigint") into[k] = a + (b as bigint);
      else if (k !== "config" && k !== "population" && a && typeof a === "object") {
        const sums = a as Record<string, number>;
        for (const [key, n] of Object.entries(b as Record<string, number>)) sums[key] = (sums[key] ?? 0) + n;
      }
    }
  }
  m.runs = rs.length;
  return m;
}

export const totalExecutions = (r: SimResult): number => Object.values(r.executions).reduce((a, b) => a + b, 0);
