/**
 * `npm start`'s local providers: `stun-provider` child processes, and the wait until every one has
 * registered with the server — npm start reports ready only then (a marketplace whose own providers
 * are not there yet would hand the first external provider every task, alone).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { HealthSchema } from "@stun/shared";

export interface LocalProvider {
  name: string;
  child: ChildProcess;
  /** Resolves with the provider id at its `{"msg":"registered"}` line; rejects if it exits first. */
  registered: Promise<string>;
}

export interface LocalProviderOptions {
  /** apps/provider-native/bin/stun-provider.mjs */
  bin: string;
  server: string;
  name: string;
  cacheDir: string;
  /** Goes in the child's environment, never its command line (`ps` shows that to every user). */
  apiKey: string;
  /** Prints a line for the operator (registration, the provider's errors). */
  say: (line: string) => void;
  warn: (line: string) => void;
}

/** Starts one provider process; its stdout goes to ours, its JSON log lines are read for registration and errors. */
export function spawnLocalProvider(o: LocalProviderOptions): LocalProvider {
  // The simulated TEE (development only, labelled everywhere): sealed tasks (privacy tee) run locally too.
  const child = spawn(process.execPath, [o.bin, "--server", o.server, "--name", o.name, "--cache-dir", o.cacheDir, "--tee", "simulated"], {
    stdio: ["ignore", "inherit", "pipe"],
    env: { ...process.env, STUN_API_KEY: o.apiKey },
  });
  let lastError = "";
  const registered = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on("line", (text) => {
      const line = parseLogLine(text);
      if (line?.msg === "registered") {
        o.say(`  provider ${o.name} registered`);
        resolve(String(line.providerId));
      } else if (line?.level === "error" || (line === undefined && text.trim() !== "")) {
        // Errors (and anything that is not the agent's JSON, e.g. a crash's stack) reach the operator.
        lastError = line ? String(line.msg) : text;
        o.warn(text);
      }
    });
    child.once("error", (e) => reject(new Error(`provider ${o.name} did not start: ${e.message}`)));
    child.once("exit", (code, signal) => reject(new Error(`provider ${o.name} exited (${signal ?? `code ${code}`}) before it registered${lastError ? `: ${lastError}` : ""}`)));
  });
  // Settled by whoever waits; an exit after registration is not an unhandled rejection.
  registered.catch(() => undefined);
  return { name: o.name, child, registered };
}

/**
 * Resolves once every provider has registered; rejects with what went wrong (which provider, why)
 * when one exits first or `timeoutMs` passes.
 */
export async function allRegistered(providers: LocalProvider[], timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Set(providers.map((p) => p.name));
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${[...pending].map((n) => `provider ${n}`).join(", ")} did not register within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.all(providers.map((p) => p.registered.then(() => pending.delete(p.name)))), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function parseLogLine(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolves once the server's own `/health` reports at least `count` providers online — what any
 * client polling it sees — or rejects with the last answer after `timeoutMs`.
 */
export async function healthShowsOnline(serverUrl: string, count: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = "no answer";
  for (;;) {
    try {
      const res = await fetch(`${serverUrl}/api/v1/health`, { signal: AbortSignal.timeout(5000) });
      const health = HealthSchema.parse(await res.json());
      if (health.providers.online >= count) return;
      last = `${health.providers.online} online`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > until) throw new Error(`/health did not report ${count} provider${count === 1 ? "" : "s"} online within ${timeoutMs / 1000} s (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
