/**
 * The `stun` CLI: `runCli(argv, io)` parses the arguments with node:util parseArgs, runs one
 * command and returns the exit status (0 ok, 1 error, 2 usage error). It never calls
 * process.exit and touches the process only through `io`, so tests run it in process.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { StunError } from "@stun/shared";
import { DEFAULT_BASE_URL, StunClient } from "../client";
import { StunApiError } from "../errors";
import { accountCommands } from "./account";
import { keyCommands } from "./keys";
import { configPath, loadConfig, resolveSettings } from "./config";
import { UsageError, type CliIo, type Command, type Context, type OptionSpecs, type ParsedValues } from "./context";
import { toJson } from "./format";
import { modelCommands } from "./models";
import { networkCommands } from "./network";
import { taskCommands } from "./tasks";

export type { CliIo } from "./context";

export const COMMANDS: readonly Command[] = [...accountCommands, ...keyCommands, ...modelCommands, ...taskCommands, ...networkCommands];

const GLOBAL_OPTIONS: OptionSpecs = {
  server: { type: "string" },
  "api-key": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

const GLOBAL_HELP = `global options:
  --server URL     server root (env STUN_SERVER, else the config file, else ${DEFAULT_BASE_URL})
  --api-key KEY    API key (env STUN_API_KEY, else the config file)
  --json           machine-readable output (JSON on stdout)
  -h, --help       help for a command`;

function mainUsage(): string {
  const rows = COMMANDS.map((c) => [`stun ${c.path.join(" ")}`, c.summary] as const);
  const width = Math.max(...rows.map(([u]) => u.length));
  return [
    "usage: stun <command> [options]",
    "",
    "commands:",
    ...rows.map(([u, s]) => `  ${u.padEnd(width)}  ${s}`),
    "",
    GLOBAL_HELP,
    "",
    "config file: $STUN_CONFIG, else ~/.config/stun/config.json ($XDG_CONFIG_HOME honoured)",
  ].join("\n");
}

function commandUsage(c: Command): string {
  return [`usage: stun ${c.path.join(" ")}${c.synopsis ? ` ${c.synopsis}` : ""}`, "", c.summary, ...(c.help ? ["", c.help] : []), "", GLOBAL_HELP].join("\n");
}

function groupUsage(group: string, cmds: Command[]): string {
  const rows = cmds.map((c) => [`stun ${c.path.join(" ")} ${c.synopsis.split("\n")[0]}`.trimEnd(), c.summary] as const);
  const width = Math.max(...rows.map(([u]) => u.length));
  return [`usage: stun ${group} <command>`, "", ...rows.map(([u, s]) => `  ${u.padEnd(width)}  ${s}`), "", GLOBAL_HELP].join("\n");
}

/** Every option any command knows, to find the command words before the strict parse. */
function allOptions(): OptionSpecs {
  const all: OptionSpecs = { ...GLOBAL_OPTIONS };
  for (const c of COMMANDS) for (const [k, v] of Object.entries(c.options)) if (!(k in all)) all[k] = v;
  return all;
}

const parseError = (e: unknown): UsageError => {
  const msg = (e as Error).message ?? String(e);
  // parseArgs messages are long and name internals ("To specify a positional argument…"); keep the first sentence.
  return new UsageError(msg.split(/\. (?=To |Did you)/)[0]!.replace(/\.$/, ""));
};

interface Resolved {
  command?: Command;
  group?: { name: string; commands: Command[] };
}

function resolveCommand(words: string[]): Resolved {
  const [first, second] = words;
  if (first === undefined) return {};
  const exact = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === first);
  if (exact) return { command: exact };
  const group = COMMANDS.filter((c) => c.path.length === 2 && c.path[0] === first);
  if (group.length === 0) throw new UsageError(`unknown command ${JSON.stringify(first)}`);
  const command = group.find((c) => c.path[1] === second);
  if (command) return { command };
  if (second === undefined) return { group: { name: first, commands: group } };
  throw new UsageError(`unknown command "${first} ${second}" (${first} has: ${group.map((c) => c.path[1]).join(", ")})`);
}

/** Runs the CLI; returns the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const out = (line = ""): void => void io.stdout.write(`${line}\n`);
  const err = (line: string): void => void io.stderr.write(`${line}\n`);
  let command: Command | undefined;
  try {
    // 1. Find the command words, knowing every option so option values are not taken for words.
    let loose: { positionals: string[]; values: ParsedValues };
    try {
      loose = parseArgs({ args: [...argv], options: allOptions(), strict: false, allowPositionals: true }) as typeof loose;
    } catch (e) {
      throw parseError(e);
    }
    const wantsHelp = loose.values.help === true || loose.positionals[0] === "help";
    const words = loose.positionals[0] === "help" ? loose.positionals.slice(1) : loose.positionals;
    if (words.length === 0) {
      if (wantsHelp) return (out(mainUsage()), 0);
      err(mainUsage());
      return 2;
    }
    const resolved = resolveCommand(words);
    if (resolved.group) {
      if (wantsHelp) return (out(groupUsage(resolved.group.name, resolved.group.commands)), 0);
      throw new UsageError(`"${resolved.group.name}" needs a command: ${resolved.group.commands.map((c) => c.path[1]).join(", ")}`);
    }
    command = resolved.command!;
    if (wantsHelp) return (out(commandUsage(command)), 0);

    // 2. Parse strictly with the global options and this command's own.
    let parsed: { positionals: string[]; values: ParsedValues };
    try {
      parsed = parseArgs({ args: [...argv], options: { ...GLOBAL_OPTIONS, ...command.options }, strict: true, allowPositionals: true }) as typeof parsed;
    } catch (e) {
      throw parseError(e);
    }
    const json = parsed.values.json === true;
    const positionals = parsed.positionals.slice(command.path.length);
    const { min, max } = command.positionals;
    if (positionals.length < min) throw new UsageError(`missing argument: stun ${command.path.join(" ")} ${command.synopsis}`.trim());
    if (positionals.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[max])}`);

    // 3. Settings: flag, then environment, then config file, then the default.
    const cfgPath = configPath(io.env, io.cwd);
    const config = await loadConfig(cfgPath);
    const flagServer = typeof parsed.values.server === "string" ? parsed.values.server : undefined;
    if (flagServer !== undefined && !/^https?:\/\/[^\s]+$/.test(flagServer)) throw new UsageError(`--server must be an http(s) URL, got ${JSON.stringify(flagServer)}`);
    const flagKey = typeof parsed.values["api-key"] === "string" ? parsed.values["api-key"] : undefined;
    const { server, apiKey } = resolveSettings({ flagServer, flagApiKey: flagKey, env: io.env, config, defaultServer: DEFAULT_BASE_URL });

    const ctx: Context = {
      io,
      json,
      server,
      configPath: cfgPath,
      config,
      values: parsed.values,
      positionals,
      client(needKey = true) {
        if (needKey && !apiKey) {
          const other = config.apiKey && config.server ? ` (the config file has a key for ${config.server})` : "";
          throw new StunApiError(0, "NO_API_KEY", `no API key for ${server}${other}: run \`stun account create\`, pass --api-key or set STUN_API_KEY`);
        }
        return new StunClient({ baseUrl: server, ...(apiKey ? { apiKey } : {}) });
      },
      resolvePath: (p) => resolve(io.cwd, p),
      out,
      printJson: (value) => out(toJson(value)),
    };
    const status = await command.run(ctx);
    return typeof status === "number" ? status : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error USAGE: ${e.message}`);
      err(command ? `usage: stun ${command.path.join(" ")} ${command.synopsis.split("\n")[0]}`.trimEnd() : 'run "stun --help" for the commands');
      return 2;
    }
    if (e instanceof StunApiError || e instanceof StunError) {
      err(`error ${e.code}: ${e.message}`);
      return 1;
    }
    if ((e as Error)?.name === "AbortError") {
      err("error ABORTED: the operation was cancelled");
      return 1;
    }
    // A bug rather than a failure the CLI knows: the message, and the stack with STUN_DEBUG=1.
    err(`error INTERNAL: ${e instanceof Error ? e.message : String(e)}`);
    if (io.env.STUN_DEBUG && e instanceof Error && e.stack) err(e.stack);
    return 1;
  }
}
