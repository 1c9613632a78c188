/**
 * The whole machine's CPU by role, read from /proc (Linux): how a bench point's CPU splits between
 * the server, PostgreSQL's processes, the provider agents, this process (the clients) and the rest.
 * On a 2-core machine everything shares the same cores, so this says how far a point is from
 * the machine's own limit and which process a cut would pay off in.
 */
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";

export type Role = "server" | "postgres" | "providers" | "clients" | "other";
export type CpuSnapshot = { at: number; ticks: Map<number, { role: Role; ticks: number }> };

const TICK_MS = 10; // USER_HZ is 100 on Linux

function roleOf(pid: number, cmdline: string): Role {
  if (pid === process.pid) return "clients";
  if (cmdline.includes("bench-server")) return "server";
  if (cmdline.startsWith("postgres")) return "postgres";
  if (cmdline.includes("provider-native") || cmdline.includes("stun-provider")) return "providers";
  return "other";
}

export function snapshotCpu(): CpuSnapshot | undefined {
  if (process.platform !== "linux") return undefined;
  const ticks = new Map<number, { role: Role; ticks: number }>();
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command (which may hold spaces) start after its closing parenthesis.
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const used = Number(f[11]) + Number(f[12]); // utime + stime
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      ticks.set(pid, { role: roleOf(pid, cmdline), ticks: used });
    } catch {
      // the process ended while we read
    }
  }
  return { at: performance.now(), ticks };
}

/** CPU milliseconds per role between two snapshots (processes that ended in between are not counted), and the machine's busy share. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): { ms: Record<Role, number>; busy: number } {
  const ms: Record<Role, number> = { server: 0, postgres: 0, providers: 0, clients: 0, other: 0 };
  for (const [pid, now] of b.ticks) ms[now.role] += (now.ticks - (a.ticks.get(pid)?.ticks ?? 0)) * TICK_MS;
  const total = Object.values(ms).reduce((x, y) => x + y, 0);
  return { ms, busy: total / ((b.at - a.at) * os.cpus().length) };
}
