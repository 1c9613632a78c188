/**
 * Adaptive replication QA simulation over the real policy, quorum, reputation and consensus code.
 *
 *   npx tsx bench/qa-sim.ts [--tasks 20000] [--drain 20000] [--providers 100] [--seed 1] [--runs 5] [--shares 0,0.1,0.2,0.3]
 *                           [--mix sybil=10,colluder=4,...] [--ring-size 4] [--swarm-size 10] [--sybil-linked 0] [--sybil-nets 1]
 *                           [--sybil-schedule trusted|patient|always[:F]] [--ring-schedule …] [--quorum-net off|prefer|require]
 *                           [--scheduler reputation|uniform] [--base 0.1] [--stake 50]
 *                           [--trust-after N] [--audit-start P] [--audit-floor P] [--audit-half-life N] [--canary-rate P]
 *                           [--recheck-limit N] [--checks-per-invalid N] [--referee-audit-rate P] [--referee-audit-untrusted P] [--siblings off|operator|network] [--slash-multiple N] [--min-slash N]
 *                           [--sweep refereeAuditRate=0,0.02,0.05] [--sweep-shares 0,0.2] [--detail]
 *                           [--variant no-referee,any-operator]
 *
 * For each dishonest share (split by populationFor among Sybil swarms, colluding rings,
 * always-wrong, sometimes-wrong and lazy providers; the rest honest on heterogeneous backends) —
 * or for one explicit `--mix` — it runs `runs` independent runs (seeds seed, seed+1, …) of `tasks`
 * user tasks on `providers` providers and prints their summed figures: results wrong when first
 * delivered (before any correction), wrong results accepted finally (after every re-check) and at
 * the end of the measured window, executions per accepted task (replicas, audits, tie-breakers,
 * canaries, re-checks and the server's referee runs included), tasks failed without consensus,
 * honest providers' earnings lost to false accusations, and the stake slashed off dishonest
 * providers. The goals are printed next to the figures. See bench/qa-sim/sim.ts for the model and
 * docs/QA.md for the policy. `--variant` measures other logic than the server's (SimConfig.variants).
 */
import { parseArgs } from "node:util";
import { DEFAULT_QA_POLICY, SIBLING_SCOPES, type QaPolicy, type SiblingScope } from "../apps/server/src/qa/policy";
import { NET_POLICIES, type NetPolicy } from "../apps/server/src/qa/quorum";
import { dishonestCount, parseMix } from "./qa-sim/population";
import { VARIANTS, mergeResults, simulate, totalExecutions, type Schedule, type SimConfig, type SimResult, type Variant } from "./qa-sim/sim";

const { values: args } = parseArgs({
  options: {
    tasks: { type: "string", default: "20000" },
    drain: { type: "string", default: "20000" },
    providers: { type: "string", default: "100" },
    seed: { type: "string", default: "1" },
    runs: { type: "string", default: "5" },
    shares: { type: "string", default: "0,0.1,0.2,0.3" },
    mix: { type: "string" },
    "ring-size": { type: "string", default: "4" },
    "swarm-size": { type: "string", default: "10" },
    "sybil-linked": { type: "string", default: "0" },
    "sybil-nets": { type: "string", default: "1" },
    "sybil-schedule": { type: "string", default: "trusted" },
    "ring-schedule": { type: "string", default: "trusted" },
    "quorum-net": { type: "string", default: "prefer" },
    scheduler: { type: "string", default: "reputation" },
    base: { type: "string", default: "0.1" },
    stake: { type: "string", default: "50" },
    "trust-after": { type: "string" },
    "audit-start": { type: "string" },
    "audit-floor": { type: "string" },
    "audit-half-life": { type: "string" },
    "canary-rate": { type: "string" },
    "recheck-limit": { type: "string" },
    "checks-per-invalid": { type: "string" },
    "referee-audit-rate": { type: "string" },
    "referee-audit-untrusted": { type: "string" },
    siblings: { type: "string" },
    "slash-multiple": { type: "string" },
    "min-slash": { type: "string" },
    sweep: { type: "string" },
    "sweep-shares": { type: "string", default: "0,0.2" },
    variant: { type: "string", default: "" },
    detail: { type: "boolean", default: false },
  },
});

const num = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${v}`);
  return n;
};

type NumericKey = { [K in keyof QaPolicy]-?: Required<QaPolicy>[K] extends number ? K : never }[keyof QaPolicy];
const FLAGS: Array<[string, NumericKey]> = [
  ["trust-after", "trustAfter"],
  ["audit-start", "auditStart"],
  ["audit-floor", "auditFloor"],
  ["audit-half-life", "auditHalfLife"],
  ["canary-rate", "canaryRate"],
  ["recheck-limit", "recheckLimit"],
  ["checks-per-invalid", "checksPerInvalid"],
  ["referee-audit-rate", "refereeAuditRate"],
  ["referee-audit-untrusted", "refereeAuditUntrusted"],
];
const policy: Required<QaPolicy> = { ...DEFAULT_QA_POLICY };
for (const [flag, key] of FLAGS) {
  const v = num(flag, args[flag as keyof typeof args] as string | undefined);
  if (v !== undefined) policy[key] = v;
}
if (args.siblings !== undefined) {
  if (!(SIBLING_SCOPES as readonly string[]).includes(args.siblings)) throw new Error(`--siblings must be one of ${SIBLING_SCOPES.join(", ")}`);
  policy.siblings = args.siblings as SiblingScope;
}
if (args["slash-multiple"] !== undefined) policy.slashMultiple = BigInt(args["slash-multiple"]);
if (args["min-slash"] !== undefined) policy.minSlash = BigInt(args["min-slash"]);

/** `trusted`, `patient` or `always`, optionally `:F` — from F × the measured window on. */
function parseSchedule(flag: string, s: string): Schedule {
  const m = /^(trusted|patient|always)(?::([0-9.]+))?$/.exec(s);
  if (!m) throw new Error(`--${flag} must be trusted, patient or always, optionally :F (from F × tasks on)`);
  return { mode: m[1] as Schedule["mode"], from: Number(m[2] ?? 0) };
}

if (args.scheduler !== "reputation" && args.scheduler !== "uniform") throw new Error("--scheduler must be reputation or uniform");
if (!(NET_POLICIES as readonly string[]).includes(args["quorum-net"])) throw new Error(`--quorum-net must be one of ${NET_POLICIES.join(", ")}`);
const variants = args.variant.split(",").filter((v) => v !== "") as Variant[];
for (const v of variants) if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`--variant: unknown ${v} (${VARIANTS.join(", ")})`);
const providers = Number(args.providers);
const base: Omit<SimConfig, "dishonest" | "policy"> = {
  variants,
  providers,
  tasks: Number(args.tasks),
  drain: Number(args.drain),
  seed: Number(args.seed),
  scheduler: args.scheduler,
  schedulerBase: Number(args.base),
  stakeMultiple: BigInt(args.stake),
  quorumNet: args["quorum-net"] as NetPolicy,
  shape: {
    ringSize: Number(args["ring-size"]),
    swarmSize: Number(args["swarm-size"]),
    sybilLinked: Number(args["sybil-linked"]),
    sybilNets: Number(args["sybil-nets"]),
  },
  sybilSchedule: parseSchedule("sybil-schedule", args["sybil-schedule"]),
  ringSchedule: parseSchedule("ring-schedule", args["ring-schedule"]),
  ...(args.mix !== undefined ? { mix: parseMix(args.mix, providers) } : {}),
};
const shares = (s: string) => s.split(",").map((x) => Number(x));
const RUNS = Number(args.runs);
/** One row: `runs` independent runs (seeds seed, seed+1, …), their figures summed. */
const row = (cfg: SimConfig): SimResult => mergeResults(Array.from({ length: RUNS }, (_, i) => simulate({ ...cfg, seed: cfg.seed + i })));

// ---- formatting --------------------------------------------------------------------------------
const pct = (n: number, d: number) => (d === 0 ? "-" : `${((100 * n) / d).toFixed(3)}%`);
const pad = (s: string, w: number) => (s.length >= w ? s : " ".repeat(w - s.length) + s);
const execsPerTask = (r: SimResult) => totalExecutions(r) / r.accepted;
const honestLost = (r: SimResult) => r.honestRejectedValue + r.honestSlashed;
const share = (r: SimResult) => Math.round((100 * dishonestCount(r.population)) / r.config.providers);
const lines = (m: Record<string, number>) =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join("; ") || "none";

const COLUMNS: Array<[string, number, (r: SimResult) => string]> = [
  ["dishonest", 9, (r) => `${share(r)}%`],
  ["wrong at delivery", 17, (r) => `${r.wrongAtDelivery} (${pct(r.wrongAtDelivery, r.accepted)})`],
  ["wrong final", 16, (r) => `${r.wrongFinal} (${pct(r.wrongFinal, r.measuredAccepted)})`],
  ["wrong at window end", 19, (r) => `${r.wrongAtWindowEnd} (${pct(r.wrongAtWindowEnd, r.measuredAccepted)})`],
  ["exec/task", 9, (r) => execsPerTask(r).toFixed(3)],
  ["failed", 14, (r) => `${r.failed} (${pct(r.failed, (r.config.tasks + r.config.drain) * r.runs)})`],
  ["honest lost", 11, (r) => honestLost(r).toString()],
  ["dishon. slashed", 15, (r) => r.dishonestSlashed.toString()],
  ["ms", 6, (r) => Math.round(r.ms).toString()],
];

function goals(r: SimResult): string {
  const marks: string[] = [];
  const mark = (what: string, ok: boolean) => marks.push(`${what}: ${ok ? "ok" : "MISSED"}`);
  const d = share(r);
  if (d === 20) mark("wrong at delivery ≤ 0.01%", r.wrongAtDelivery / r.accepted <= 0.0001);
  if (d === 20) mark("wrong final ≤ 0.1%", r.wrongFinal / r.measuredAccepted <= 0.001);
  if (d === 0) mark("exec/task ≤ 1.15", execsPerTask(r) <= 1.15);
  if (d === 20) mark("exec/task ≤ 1.3", execsPerTask(r) <= 1.3);
  mark("honest lost 0", honestLost(r) === 0n);
  return marks.join("; ");
}

function printTable(results: SimResult[], extra?: [string, number, (r: SimResult) => string]): void {
  const cols = extra ? [extra, ...COLUMNS] : COLUMNS;
  console.log(`${cols.map(([h, w]) => pad(h, w)).join(" | ")} | goals`);
  console.log(`${cols.map(([, w]) => "-".repeat(w)).join("-|-")}-|------`);
  for (const r of results) console.log(`${cols.map(([, w, f]) => pad(f(r), w)).join(" | ")} | ${goals(r)}`);
}

function printDetail(r: SimResult): void {
  const e = r.executions;
  const pop = Object.entries(r.population)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  const rejoins =
    Object.entries(r.rejoins)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ") || "none";
  const resets =
    Object.entries(r.siblingResets)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ") || "none";
  console.log(
    `  ${share(r)}%: population ${pop}\n` +
      `      executions: first ${e.first}, replica ${e.replica}, tie-break ${e.tiebreak}, canary ${e.canary}, re-check ${e.recheck} (+${e.recheckTiebreak} tie-break), ` +
      `server reference runs ${e.server} (disputes) + ${e.refereeAudit} (referee audits); solo-accepted ${r.solo} of ${r.accepted}\n` +
      `      corrections ${r.corrections} (${r.badCorrections} made a right result wrong), refunded ${r.refunded}; ` +
      `honest executions rejected ${r.honestRejectedExecutions} (value ${r.honestRejectedValue}), honest slashed ${r.honestSlashed}, ` +
      `honest unpaid in failed tasks ${r.honestUnpaidInFailedTasks}; re-joins after slashing: ${rejoins}; honest trusted at end ${r.honestTrustedAtEnd}/${r.population.honest * r.runs}\n` +
      `      trusted pairs reset with a caught sibling (operator or /24): ${resets}\n` +
      `      wrong at delivery (kind, * returned its group's output, T trusted): ${lines(r.wrongAtDeliveryWhy)}\n` +
      `      wrong final: ${lines(r.wrongFinalWhy)}\n` +
      `      caught by: ${lines(r.caughtBy)}\n` +
      `      honest losses: ${lines(r.honestLossWhy)}`,
  );
}

// ---- run ---------------------------------------------------------------------------------------
const started = performance.now();
const p = policy;
const sh = base.shape;
console.log(
  `QA simulation: ${base.providers} providers; each row sums ${RUNS} run(s) of ${base.tasks} user tasks (seeds ${base.seed}..${base.seed + RUNS - 1}); scheduler ${base.scheduler}` +
    (base.scheduler === "reputation" ? ` (pick ∝ ${base.schedulerBase} + reputation)` : "") +
    `, stake ${base.stakeMultiple}× price; quorum network ${base.quorumNet}` +
    (variants.length > 0 ? `; VARIANT (not the server's logic): ${variants.join(", ")}` : ""),
);
console.log(
  `adversaries: rings of ${sh.ringSize} colluding accounts, schedule ${args["ring-schedule"]}; ` +
    `Sybil swarms of ${sh.swarmSize} accounts on ${sh.sybilNets} /24(s), ${sh.sybilLinked} linked, schedule ${args["sybil-schedule"]}` +
    (base.mix ? `; mix ${args.mix}` : ""),
);
console.log(
  `policy: trustAfter ${p.trustAfter}, auditStart ${p.auditStart}, auditFloor ${p.auditFloor}, auditHalfLife ${p.auditHalfLife}, ` +
    `canaryRate ${p.canaryRate}, recheckLimit ${p.recheckLimit}, checksPerInvalid ${p.checksPerInvalid}, refereeAuditRate ${p.refereeAuditRate}, refereeAuditUntrusted ${p.refereeAuditUntrusted}, siblings ${p.siblings}, ` +
    `slashMultiple ${p.slashMultiple}, minSlash ${p.minSlash}\n`,
);

let results: SimResult[];
let extra: [string, number, (r: SimResult) => string] | undefined;
const rowShares = base.mix ? [dishonestCount(base.mix) / providers] : shares(args.shares);
if (args.sweep) {
  const [key, values] = args.sweep.split("=");
  if (!key || !values || !(key in DEFAULT_QA_POLICY)) throw new Error("--sweep takes key=v1,v2,… with a QaPolicy key");
  const label = new Map<SimResult, string>();
  results = [];
  for (const v of values.split(",")) {
    for (const d of base.mix ? rowShares : shares(args["sweep-shares"])) {
      const swept = { ...policy, [key]: typeof DEFAULT_QA_POLICY[key as keyof QaPolicy] === "bigint" ? BigInt(v) : Number(v) };
      const r = row({ ...base, dishonest: d, policy: swept });
      label.set(r, v);
      results.push(r);
    }
  }
  extra = [key, Math.max(key.length, 8), (r) => label.get(r)!];
} else results = rowShares.map((d) => row({ ...base, dishonest: d, policy }));
printTable(results, extra);
if (args.detail) {
  console.log("");
  results.forEach(printDetail);
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
