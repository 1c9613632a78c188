/**
 * What waiting for a checker costs: a discrete-event queue of `auto` tasks on providers with one
 * slot each, comparing the server's rule (an untrusted pair's result waits for a checker of
 * another operator — the lead starts at once, the checker when one is free) with the rule before
 * issue 11 (when no second provider of another operator is free at the first dispatch, the lead
 * runs alone and its result is delivered unchecked: `single`).
 *
 *   npx tsx bench/qa-sim/latency.ts [--providers 20] [--util 0.5,0.8] [--checked 1,0.15] [--tasks 200000]
 *                                   [--big-operator 0] [--seed 1]
 *
 * Tasks arrive as a Poisson stream; each needs a check (two executions, on providers of different
 * operators) with probability `checked` — 1 while every pair is new, about 0.15 once most are
 * trusted (audits and newcomers; the trust simulation's steady state) — else runs alone (solo).
 * Service times are exponential with mean 1 (the unit of every figure). `util` is the offered load
 * when every check runs: arrival rate × (1 + checked) ÷ providers. Dispatch is FIFO by arrival,
 * each free provider taking the oldest execution it may run. `--big-operator K` puts K of the
 * providers under one operator (they cannot check each other). Latency: submit → result delivered
 * (all of the task's executions done), over the tasks after the first 10% (warm-up).
 */
import { parseArgs } from "node:util";
import { mulberry32 } from "@stun/testkit";
import { percentiles } from "../stats";

export type Rule = "wait" | "single";

export interface LatencyConfig {
  providers: number;
  util: number;
  checked: number;
  tasks: number;
  bigOperator: number;
  rule: Rule;
  seed: number;
}

export interface LatencyResult {
  latencies: number[];
  /** Latencies of the tasks that needed a check (however they ran). */
  checkedLatencies: number[];
  /** Tasks that needed a check but were delivered unchecked (`single`). */
  unchecked: number;
  /** Tasks that needed a check (measured ones). */
  needingCheck: number;
  /** Busy provider time ÷ (providers × elapsed time). */
  busy: number;
}

interface Task {
  arrival: number;
  /** It needed a check when it arrived. */
  check: boolean;
  need: number;
  started: number;
  done: number;
  planned: boolean;
  single: boolean;
  operators: number[];
  measured: boolean;
}

export function simulateLatency(cfg: LatencyConfig): LatencyResult {
  const rng = mulberry32(cfg.seed * 7919 + 11);
  const exp = (mean: number) => -Math.log(1 - rng()) * mean;
  const rate = (cfg.util * cfg.providers) / (1 + cfg.checked);
  // Provider i's operator: the first `bigOperator` share operator 0, every other one its own.
  const operator = Array.from({ length: cfg.providers }, (_, i) => (i < cfg.bigOperator ? 0 : i + 1));
  const busyUntil = new Array<number>(cfg.providers).fill(-1);
  const running: Array<Task | undefined> = new Array(cfg.providers).fill(undefined);
  const queue: Task[] = [];
  const out: LatencyResult = { latencies: [], checkedLatencies: [], unchecked: 0, needingCheck: 0, busy: 0 };
  const warmup = Math.floor(cfg.tasks / 10);
  let arrivals = 0;
  let finished = 0;
  let now = 0;
  let nextArrival = exp(1 / rate);
  let busyTime = 0;

  const idle = (): number[] => busyUntil.flatMap((b, i) => (b < 0 ? [i] : []));
  const start = (i: number, t: Task): void => {
    const service = exp(1);
    busyUntil[i] = now + service;
    busyTime += service;
    running[i] = t;
    t.started++;
    t.operators.push(operator[i]!);
  };
  const anyOf = (ids: number[]): number | undefined => (ids.length === 0 ? undefined : ids[Math.floor(rng() * ids.length)]);

  function dispatch(): void {
    for (let q = 0; q < queue.length; q++) {
      const free = idle();
      if (free.length === 0) return;
      const t = queue[q]!;
      if (!t.planned) {
        const lead = anyOf(free)!;
        // Before issue 11: no free provider of another operator to check it now → it runs alone.
        if (t.need === 2 && cfg.rule === "single" && !free.some((i) => operator[i] !== operator[lead])) {
          t.need = 1;
          t.single = true;
        }
        t.planned = true;
        start(lead, t);
      }
      while (t.started < t.need) {
        const checker = anyOf(idle().filter((i) => !t.operators.includes(operator[i]!)));
        if (checker === undefined) break;
        start(checker, t);
      }
      if (t.started === t.need) queue.splice(q--, 1);
    }
  }

  while (finished < cfg.tasks) {
    let next = -1;
    for (let i = 0; i < cfg.providers; i++) if (busyUntil[i]! >= 0 && (next < 0 || busyUntil[i]! < busyUntil[next]!)) next = i;
    if (arrivals < cfg.tasks && (next < 0 || nextArrival <= busyUntil[next]!)) {
      now = nextArrival;
      const need = rng() < cfg.checked ? 2 : 1;
      const measured = arrivals >= warmup;
      if (measured && need === 2) out.needingCheck++;
      queue.push({ arrival: now, check: need === 2, need, started: 0, done: 0, planned: false, single: false, operators: [], measured });
      arrivals++;
      nextArrival = now + exp(1 / rate);
    } else {
      now = busyUntil[next]!;
      const t = running[next]!;
      busyUntil[next] = -1;
      running[next] = undefined;
      if (++t.done === t.need) {
        finished++;
        if (t.measured) {
          out.latencies.push(now - t.arrival);
          if (t.check) out.checkedLatencies.push(now - t.arrival);
          if (t.single) out.unchecked++;
        }
      }
    }
    dispatch();
  }
  out.busy = busyTime / (cfg.providers * now);
  return out;
}

// ---- CLI ----------------------------------------------------------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const { values: args } = parseArgs({
    options: {
      providers: { type: "string", default: "20" },
      util: { type: "string", default: "0.5,0.8" },
      checked: { type: "string", default: "1,0.15" },
      tasks: { type: "string", default: "200000" },
      "big-operator": { type: "string", default: "0" },
      seed: { type: "string", default: "1" },
    },
  });
  const list = (s: string) => s.split(",").map(Number);
  const f = (x: number) => x.toFixed(2);
  console.log(
    `latency (unit: mean service time): ${args.providers} providers, 1 slot each` +
      (Number(args["big-operator"]) > 0 ? `, ${args["big-operator"]} of them one operator` : ", each its own operator") +
      `; ${args.tasks} tasks per row (first 10% warm-up); Poisson arrivals, exponential service\n`,
  );
  console.log("util | checked | rule   | p50 submit→result | p99 submit→result | mean | p50 / p99 of checked tasks | delivered unchecked | busy");
  console.log("-----|---------|--------|-------------------|-------------------|------|----------------------------|---------------------|-----");
  for (const util of list(args.util)) {
    for (const checked of list(args.checked)) {
      for (const rule of ["single", "wait"] as const) {
        const cfg: LatencyConfig = { providers: Number(args.providers), util, checked, tasks: Number(args.tasks), bigOperator: Number(args["big-operator"]), rule, seed: Number(args.seed) };
        const r = simulateLatency(cfg);
        const p = percentiles(r.latencies);
        const c = percentiles(r.checkedLatencies);
        const unchecked = r.needingCheck === 0 ? "-" : `${((100 * r.unchecked) / r.needingCheck).toFixed(2)}% of checked`;
        console.log(
          `${util.toFixed(2)} | ${checked.toFixed(2).padStart(7)} | ${rule.padEnd(6)} | ${f(p.p50).padStart(17)} | ${f(p.p99).padStart(17)} | ${f(p.mean)} | ${`${f(c.p50)} / ${f(c.p99)}`.padStart(26)} | ${unchecked.padStart(19)} | ${f(r.busy)}`,
        );
      }
    }
  }
}
