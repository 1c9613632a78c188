import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { runCli } from "../../src/cli/run";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in process with captured output; HOME is the given dir, so no real config is read. */
export async function runStun(argv: string[], options: { env?: Record<string, string | undefined>; cwd: string }): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { HOME: options.cwd, ...options.env },
    cwd: options.cwd,
  });
  return { code, stdout, stderr };
}

export async function tempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "stun-sdk-test-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A URL on which nothing listens (a port bound and released). */
export async function closedServerUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  return `http://127.0.0.1:${port}`;
}
