/** The `stun-provider` process: parse arguments, run the agent, stop gracefully on SIGINT/SIGTERM. */
import { ProviderAgent } from "./agent";
import { quietOrtLogs } from "./backend";
import { USAGE, UsageError, parseCli } from "./cli";
import { createJsonLogger } from "./logger";
import { enterPrivateWorkDir } from "./work-dir";

/** Runs until stopped; resolves with the process exit code (0 clean stop, 1 fatal, 2 bad arguments). */
export async function main(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseCli(argv, env);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`stun-provider: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { logLevel, ...options } = parsed.options;
  const log = createJsonLogger({ level: logLevel });
  for (const w of parsed.warnings) log.warn(w);
  quietOrtLogs(); // before the first session: onnxruntime's own stderr lines would break the JSON log

  // parseCli made every path absolute, so leaving the operator's directory changes nothing else.
  const workDir = enterPrivateWorkDir(); // the agent's "starting" log line shows it
  const agent = new ProviderAgent({ ...options, logger: log });
  const exitCode = await new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        log.warn("second signal: exiting now", { signal });
        resolve(1);
        return;
      }
      signalled = true;
      log.info("signal received; stopping", { signal });
      agent.stop().then(
        () => resolve(0),
        (e: unknown) => {
          log.error("error while stopping", { err: e });
          resolve(1);
        },
      );
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    agent.events.on("fatal", () => {
      if (!signalled) resolve(1);
    });
    agent.start().catch((e: unknown) => {
      if (signalled) return; // stopping anyway: the signal decides the exit code
      log.error(e instanceof Error ? e.message : String(e), { err: e });
      void agent.stop({ graceMs: 0 }).finally(() => resolve(1));
    });
  });
  workDir.remove();
  return exitCode;
}
