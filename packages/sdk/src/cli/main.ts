/** The process entry of the `stun` CLI (bin/stun.mjs imports this). */
import { runCli } from "./run";

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
