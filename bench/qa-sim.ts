/**
 * Adaptive replication QA simulation over the real policy, reputation and consensus code.
 *
 *   npx tsx bench/qa-sim.ts [--tasks 20000] [--drain 20000] [--providers 100] [--seed 1] [--runs 5] [--shares 0,0.1,0.2,0.3]
 *                           [--scheduler reputation|uniform] [--base 0.1] [--stake 50]
 *                           [--trust-after N] [--audit-start P] [--audit-floor P] [--audit-half-life N]
 *                           [--canary-rate P] [--recheck-limit N] [--slash-multiple N] [--min-slash N]
 *                           [--sweep auditFloor=0.02,0.05,0.1] [--sweep-shares 0,0.2] [--detail]
 *                           [--variant fresh-recheck,provider-tiebreak]
 *
 * For each dishonest share (split evenly among always-wrong, sometimes-wrong, lazy and colluding
 * pairs; the rest honest on heterogeneous backends) it runs `runs` independent runs (seeds seed,
 * seed+1, …) of `tasks` user tasks on `providers` providers and prints their summed figures: wrong results accepted (finally, after every re-check; and delivered at
 * some point, before a correction), executions per accepted task (replicas, audits, tie-breakers,
 * canaries and re-checks included), tasks failed without consensus, honest providers' earnings
 * lost to false accusations, and the stake slashed off dishonest providers. The goals are printed
 * next to the figures. See bench/qa-sim/sim.ts for the model and docs/QA.md for the policy.
 * `--variant` measures proposed changes to the server's logic (see SimConfig.variants); without it
 * the simulation drives the QA functions exactly as the server does.
 */
import { parseArgs } from "node:util";
import { DEFAULT_QA_POLICY, type QaPolicy } from "../apps/server/src/qa/policy";
import { VARIANTS, mergeResults, simulate, totalExecutions, type SimConfig, type SimResult, type Variant } from "./qa-sim/sim";

const { values: args } = parseArgs({
  options: {
    tasks: { type: "string", default: "20000" },
    drain: { type: "string", default: "20000" },
    providers: { type: "string", default: "100" },
    seed: { type: "string", default: "1" },
    runs: { type: "string", default: "5" },
    shares: { type: "string", default: "0,0.1,0.2,0.3" },
    scheduler: { type: "string", default: "reputation" },
    base: { type: "string", default: "0.1" },
    stake: { type: "string", default: "50" },
    "trust-after": { type: "string" },
    "audit-start": { type: "string" },
    "audit-floor": { type: "string" },
    "audit-half-life": { type: "string" },
    "canary-rate": { type: "string" },
    "recheck-limit": { type: "string" },
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

const policy: QaPolicy = { ...DEFAULT_QA_POLICY };
const override = (key: "trustAfter" | "auditStart" | "auditFloor" | "auditHalfLife" | "canaryRate" | "recheckLimit", flag: string) => {
  const v = num(flag, args[flag as keyof typeof args] as string | undefined);
  if (v !== undefined) policy[key] = v;
};
override("trustAfter", "trust-after");
override("auditStart", "audit-start");
override("auditFloor", "audit-floor");
override("auditHalfLife", "audit-half-life");
override("canaryRate", "canary-rate");
override("recheckLimit", "recheck-limit");
if (args["slash-multiple"] !== undefined) policy.slashMultiple = BigInt(args["slash-multiple"]);
if (args["min-slash"] !== undefined) policy.minSlash = BigInt(args["min-slash"]);

if (args.scheduler !== "reputation" && args.scheduler !== "uniform") throw new Error("--scheduler must be reputation or uniform");
const variants = args.variant.split(",").filter((v) => v !== "") as Variant[];
for (const v of variants) if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`--variant: unknown ${v} (${VARIANTS.join(", ")})`);
const base: Omit<SimConfig, "dishonest" | "policy"> = {
  variants,
  providers: Number(args.providers),
  tasks: Number(args.tasks),
  drain: Number(args.drain),
  seed: Number(args.seed),
  scheduler: args.scheduler,
  schedulerBase: Number(args.base),
  stakeMultiple: BigInt(args.stake),
};
const shares = (s: string) => s.split(",").map((x) => Number(x));
const RUNS = Number(args.runs);
/** One row: `runs` independent runs (seeds seed, seed+1, …), their figures summed. */
const row = (cfg: SimConfig): SimResult =>
  mergeResults(Array.from({ length: RUNS }, (_, i) => simulate({ ...cfg, seed: cfg.seed + i })));

// ---- formatting --------------------------------------------------------------------------------
const pct = (n: number, d: number) => (d === 0 ? "-" : `${((100 * n) / d).toFixed(3)}%`);
const pad = (s: string, w: number) => (s.length >= w ? s : " ".repeat(w - s.length) + s);
const execsPerTask = (r: SimResult) => totalExecutions(r) / r.accepted;
const honestLost = (r: SimResult) => r.honestRejectedValue + r.honestSlashed;

const COLUMNS: Array<[string, number, (r: SimResult) => string]> = [
  ["dishonest", 9, (r) => `${Math.round(r.config.dishonest * 100)}%`],
  ["wrong final", 19, (r) => `${r.wrongFinal} (${pct(r.wrongFinal, r.measuredAccepted)})`],
  ["wrong at window end", 19, (r) => `${r.wrongAtWindowEnd} (${pct(r.wrongAtWindowEnd, r.measuredAccepted)})`],
  ["wrong delivered", 19, (r) => `${r.wrongDelivered} (${pct(r.wrongDelivered, r.measuredAccepted)})`],
  ["exec/task", 9, (r) => execsPerTask(r).toFixed(3)],
  ["failed", 14, (r) => `${r.failed} (${pct(r.failed, (r.config.tasks + r.config.drain) * r.runs)})`],
  ["honest lost", 11, (r) => honestLost(r).toString()],
  ["dishon. slashed", 15, (r) => r.dishonestSlashed.toString()],
  ["ms", 6, (r) => Math.round(r.ms).toString()],
];

function goals(r: SimResult): string {
  const marks: string[] = [];
  const d = Math.round(r.config.dishonest * 100);
  if (d === 20) marks.push(`wrong final ≤ 0.1%: ${r.wrongFinal / r.measuredAccepted <= 0.001 ? "ok" : "MISSED"}`);
  if (d === 0) marks.push(`exec/task ≤ 1.15: ${execsPerTask(r) <= 1.15 ? "ok" : "MISSED"}`);
  if (d === 20) marks.push(`exec/task ≤ 1.3: ${execsPerTask(r) <= 1.3 ? "ok" : "MISSED"}`);
  marks.push(`honest lost 0: ${honestLost(r) === 0n ? "ok" : "MISSED"}`);
  return marks.join("; ");
}

function printTable(results: SimResult[], extra?: [string, number, (r: SimResult) => string]): void {
  const cols = extra ? [extra, ...COLUMNS] : COLUMNS;
  console.log(cols.map(([h, w]) => pad(h, w)).join(" | ") + " | goals");
  console.log(cols.map(([, w]) => "-".repeat(w)).join("-|-") + "-|------");
  for (const r of results) console.log(cols.map(([, w, f]) => pad(f(r), w)).join(" | ") + " | " + goals(r));
}

function printDetail(r: SimResult): void {
  const e = r.executions;
  const pop = Object.entries(r.population).map(([k, n]) => `${k} ${n}`).join(", ");
  const rejoins = Object.entries(r.rejoins).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
  console.log(
    `  ${Math.round(r.config.dishonest * 100)}%: population ${pop}\n` +
      `      executions: first ${e.first}, replica ${e.replica}, tie-break ${e.tiebreak}, canary ${e.canary}, re-check ${e.recheck} (+${e.recheckTiebreak} tie-break)${e.server > 0 ? `, server reference runs ${e.server}` : ""}; ` +
      `solo-accepted ${r.solo} of ${r.accepted}\n` +
      `      corrections ${r.corrections} (${r.badCorrections} made a right result wrong), refunded ${r.refunded}; ` +
      `honest executions rejected ${r.honestRejectedExecutions} (value ${r.honestRejectedValue}), honest slashed ${r.honestSlashed}, ` +
      `honest unpaid in failed tasks ${r.honestUnpaidInFailedTasks}; re-joins after slashing: ${rejoins}; honest trusted at end ${r.honestTrustedAtEnd}/${r.population.honest * r.runs}\n` +
      `      wrong final: ${Object.entries(r.wrongFinalWhy).map(([k, n]) => `${k} ${n}`).join(", ") || "none"}\n` +
      `      honest losses: ${Object.entries(r.honestLossWhy).map(([k, n]) => `${k} ${n}`).join("; ") || "none"}`,
  );
}

// ---- run ---------------------------------------------------------------------------------------
const started = performance.now();
const p = policy;
console.log(
  `QA simulation: ${base.providers} providers; each row sums ${RUNS} run(s) of ${base.tasks} user tasks (seeds ${base.seed}..${base.seed + RUNS - 1}); scheduler ${base.scheduler}` +
    (base.scheduler === "reputation" ? ` (pick ∝ ${base.schedulerBase} + reputation)` : "") +
    `, stake ${base.stakeMultiple}× price` +
    (variants.length > 0 ? `; VARIANT (not the server's logic): ${variants.join(", ")}` : ""),
);
console.log(
  `policy: trustAfter ${p.trustAfter}, auditStart ${p.auditStart}, auditFloor ${p.auditFloor}, auditHalfLife ${p.auditHalfLife}, ` +
    `canaryRate ${p.canaryRate}, recheckLimit ${p.recheckLimit}, slashMultiple ${p.slashMultiple}, minSlash ${p.minSlash}\n`,
);

if (args.sweep) {
  const [key, values] = args.sweep.split("=");
  if (!key || !values || !(key in DEFAULT_QA_POLICY)) throw new Error("--sweep takes key=v1,v2,… with a QaPolicy key");
  const results: SimResult[] = [];
  const label = new Map<SimResult, string>();
  for (const v of values.split(",")) {
    for (const d of shares(args["sweep-shares"])) {
      const swept = { ...policy, [key]: typeof DEFAULT_QA_POLICY[key as keyof QaPolicy] === "bigint" ? BigInt(v) : Number(v) };
      const r = row({ ...base, dishonest: d, policy: swept });
      label.set(r, v);
      results.push(r);
    }
  }
  printTable(results, [key, Math.max(key.length, 8), (r) => label.get(r)!]);
  if (args.detail) results.forEach(printDetail);
} else {
  const results = shares(args.shares).map((d) => row({ ...base, dishonest: d, policy }));
  printTable(results);
  if (args.detail) {
    console.log("");
    results.forEach(printDetail);
  }
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
