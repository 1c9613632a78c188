/**
 * Where a V8 CPU profile (`node --cpu-prof`) spent its time: self time by package/file and by
 * function, as shares of the busy (non-idle) samples, and as ms per task when `--tasks N` is given.
 *
 *   npx tsx bench/support/profile-summary.ts PROFILE.cpuprofile [--tasks N] [--top 25]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { tasks: { type: "string" }, top: { type: "string", default: "25" } } });
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const profile = JSON.parse(readFileSync(positionals[0]!, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

/** A file's place: the npm package it belongs to, or its path under the repository. */
function where(url: string): string {
  if (!url) return "(native/V8)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return url;
  const repo = url.indexOf("/work/");
  return repo >= 0 ? url.slice(url.indexOf("/", repo + 6) + 1) : url;
}

const byPlace = new Map<string, number>();
const byFunction = new Map<string, number>();
let idle = 0;
let total = 0;
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  total += us;
  const name = n.callFrame.functionName;
  if (name === "(idle)" || name === "(program)") {
    if (name === "(idle)") idle += us;
    if (name === "(idle)") continue;
  }
  const place = name === "(garbage collector)" ? "(gc)" : where(n.callFrame.url);
  byPlace.set(place, (byPlace.get(place) ?? 0) + us);
  const fn = `${name || "(anonymous)"} ${place}:${n.callFrame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
}
const busy = total - idle;
const tasks = values.tasks ? Number(values.tasks) : undefined;
const fmt = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%${tasks ? `  ${(us / 1000 / tasks).toFixed(3).padStart(7)} ms/task` : ""}`;
console.log(
  `profile: ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${((100 * busy) / total).toFixed(0)}%)${tasks ? `, ${tasks} tasks: ${(busy / 1000 / tasks).toFixed(3)} ms CPU per task` : ""}`,
);
console.log("\nself time by package / file:");
for (const [k, us] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`  ${fmt(us)}  ${k}`);
console.log("\nself time by function:");
for (const [k, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`  ${fmt(us)}  ${k}`);
