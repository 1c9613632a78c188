/**
 * Starting `stun-provider` as a child process and waiting for it to register: for end-to-end tests
 * and scripts (`STUN_API_KEY=… node apps/provider-native/bin/stun-provider.mjs --server …`). The key
 * goes in the child's environment, never its command line (which every user can read with `ps`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const PROVIDER_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/stun-provider.mjs");

export interface ProviderProcess {
  child: ChildProcess;
  providerId: string;
  /** Every JSON log line so far (non-JSON lines are kept as `{ msg: <text>, raw: true }`). */
  lines: Record<string, unknown>[];
  /** Resolves with the first log line matching `pred` (already seen or future). */
  waitForLine(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM (graceful drain) and wait for the exit code; SIGKILL after `killAfterMs`. */
  stop(killAfterMs?: number): Promise<number | null>;
  /** SIGKILL now (a crash), resolves when it is gone. */
  kill(): Promise<void>;
}

export interface SpawnProviderOptions {
  server: string;
  apiKey: string;
  /** Extra CLI arguments, e.g. ["--name", "p1", "--slots", "2", "--fault", "perturb"]. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** The directory it is started from (default this process's); the agent itself then moves to a private empty one. */
  cwd?: string;
  /** How long to wait for `{"msg":"registered"}` (default 60 s). */
  timeoutMs?: number;
  /** Echo the child's stderr to this process's stderr (debugging). */
  echo?: boolean;
}

export async function spawnProviderProcess(opts: SpawnProviderOptions): Promise<ProviderProcess> {
  const child = spawn(process.execPath, [PROVIDER_BIN, "--server", opts.server, ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env, STUN_API_KEY: opts.apiKey },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    stdio: ["ignore", "ignore", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  createInterface({ input: child.stderr! }).on("line", (text) => {
    if (opts.echo) process.stderr.write(`[provider ${child.pid}] ${text}\n`);
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { msg: text, raw: true };
    }
    lines.push(line);
    for (const w of [...waiters]) w();
  });

  const waitForLine = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 60_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const hit = lines.find(pred);
        if (hit) {
          cleanup();
          resolve(hit);
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`stun-provider exited (${code}) before the expected log line; last lines: ${JSON.stringify(lines.slice(-5))}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for a stun-provider log line; last lines: ${JSON.stringify(lines.slice(-5))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off("exit", onExit);
      };
      waiters.add(check);
      child.once("exit", onExit);
      check();
    });

  const stop = async (killAfterMs = 30_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };

  try {
    const registered = await waitForLine((l) => l.msg === "registered", opts.timeoutMs ?? 60_000);
    return { child, providerId: String(registered.providerId), lines, waitForLine, stop, kill };
  } catch (e) {
    await kill();
    throw e;
  }
}
