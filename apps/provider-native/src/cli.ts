/** Command-line arguments of `stun-provider` (node:util parseArgs), with environment fallbacks. */
import path from "node:path";
import { parseArgs } from "node:util";
import { serverList } from "@stun/provider-core";
import { AmountSchema, RegionSchema } from "@stun/shared";
import type { ProviderAgentOptions } from "./agent";
import type { BackendChoice } from "./backend";
import { FAULTS, isFault } from "./faults";
import { readApiKeyFile } from "./api-key-file";
import type { LogLevel } from "./logger";
import { TEE_MODES, type TeeMode } from "./tee/tee-identity";

export const USAGE = `Usage: stun-provider --server URL [options]   (API key: env STUN_API_KEY or --api-key-file)

Runs ONNX inference for the Stun marketplace on this machine (onnxruntime-node).

Required (or from the environment):
  --server URL[,URL…]   marketplace server, e.g. http://127.0.0.1:4000   (env STUN_SERVER);
                        several instances of one network, comma-separated: fails over to the next
  STUN_API_KEY          your Stun API key, from the environment, or:
  --api-key-file PATH   a file holding it (must not be readable by group or others: chmod 600)
  --api-key KEY         deprecated: visible to every user in \`ps\`; use one of the above

Options:
  --backend B           cpu | cuda | auto (default cpu; auto = CUDA when it loads, else CPU)
  --price N             flat price per task in integer base units (default 1; 0 with --price-per-unit)
  --price-per-unit N    price per unit of work (1 unit = 1 MiB of the model's file, docs/PRICING.md):
                        a task costs --price + N x the model's units
  --price-follow-index  reprice per unit to the server's price index on a timer, never below --price-floor
  --price-floor N       with --price-follow-index: the lowest per-unit price (default: --price-per-unit or 0)
  --price-follow-s N    with --price-follow-index: how often to look at the index, seconds (default 60)
  --stake N             before connecting, stake from the account's balance until its stake is N
                        (paid work needs stake >= 10 x the prices of the account's live executions;
                        if staking fails the agent warns and gets only free work)
  --region R            region, e.g. eu-west (default local)
  --slots N             tasks run at once, 1-64 (default 1)
  --max-batch N         most tasks of one model stacked into one inference when they wait for each
                        other (the model's batch dimension must be symbolic), 1-1024 (default: --slots;
                        1 turns batching off)
  --name NAME           provider name (default: host name); agents sharing an API key need different names
  --cache-dir DIR       model cache directory (default ~/.cache/stun/models)
  --cache-mb N          model cache size cap in MiB (default 2048)
  --threads N           onnxruntime intra-op threads per session (default: onnxruntime's choice;
                        1 is often faster for small models on a busy machine)
  --log-level L         debug | info | warn | error (default info)
  --heartbeat-ms N      heartbeat interval (default 5000)
  --drain-timeout-ms N  on SIGINT/SIGTERM, how long running tasks may finish before release (default 30000)
  --benchmark-ms N      start-up benchmark duration, 0 to skip (default 300)
  --tee MODE            confidential inference (docs/TEE.md): auto | tdx | sev-snp | simulated
                        (register as a TEE provider with this guest's evidence; simulated is for
                        development only and proves nothing; no TEE here: exits with TEE_UNAVAILABLE)
  --tee-refresh-s N     send fresh TEE evidence every N seconds (default 3600)
  --fault F             TEST ONLY: misbehave on purpose (${FAULTS.join(", ")}) (env STUN_PROVIDER_FAULT)
  -h, --help            show this help

Logs are JSON lines on stderr. Exit codes: 0 stopped cleanly, 1 fatal error, 2 bad arguments.`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type CliResult =
  | { help: true }
  /** `warnings`: what the agent logs once its logger exists (e.g. a key given on the command line). */
  | { help: false; options: ProviderAgentOptions & { logLevel: LogLevel }; warnings: string[] };

export const API_KEY_ARGV_WARNING = "--api-key puts the key in the command line, where every user of this machine can read it (ps); use STUN_API_KEY or --api-key-file";

/** The API key from --api-key-file, --api-key (with a warning) or STUN_API_KEY, in that order. */
function apiKeyOf(values: { "api-key"?: string; "api-key-file"?: string }, env: NodeJS.ProcessEnv, warnings: string[]): string {
  if (values["api-key"] !== undefined && values["api-key-file"] !== undefined) throw new UsageError("give --api-key-file or --api-key, not both");
  if (values["api-key-file"] !== undefined) {
    try {
      return readApiKeyFile(values["api-key-file"]);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  if (values["api-key"] !== undefined) {
    warnings.push(API_KEY_ARGV_WARNING);
    return values["api-key"];
  }
  if (!env.STUN_API_KEY) throw new UsageError("an API key is required: set STUN_API_KEY or give --api-key-file PATH");
  return env.STUN_API_KEY;
}

const BACKENDS: readonly BackendChoice[] = ["cpu", "cuda", "auto"];
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

function int(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

/** Parses argv (without node and the script); throws UsageError on anything wrong. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliResult {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: "string" },
        "api-key": { type: "string" },
        "api-key-file": { type: "string" },
        backend: { type: "string" },
        price: { type: "string" },
        "price-per-unit": { type: "string" },
        "price-follow-index": { type: "boolean" },
        "price-floor": { type: "string" },
        "price-follow-s": { type: "string" },
        stake: { type: "string" },
        region: { type: "string" },
        slots: { type: "string" },
        "max-batch": { type: "string" },
        name: { type: "string" },
        "cache-dir": { type: "string" },
        "cache-mb": { type: "string" },
        threads: { type: "string" },
        "log-level": { type: "string" },
        "heartbeat-ms": { type: "string" },
        "drain-timeout-ms": { type: "string" },
        "benchmark-ms": { type: "string" },
        fault: { type: "string" },
        tee: { type: "string" },
        "tee-refresh-s": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) return { help: true };

  const server = values.server ?? env.STUN_SERVER;
  if (!server) throw new UsageError("--server is required (or set STUN_SERVER)");
  const servers = serverList(server);
  if (servers.length === 0) throw new UsageError(`--server must be a URL like http://127.0.0.1:4000, got "${server}"`);
  for (const one of servers) {
    let url: URL;
    try {
      url = new URL(one);
    } catch {
      throw new UsageError(`--server must be a URL like http://127.0.0.1:4000 (or several, comma-separated), got "${one}"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--server must be an http(s) URL, got "${one}"`);
  }
  const warnings: string[] = [];
  const apiKey = apiKeyOf(values, env, warnings);

  const backend = values.backend ?? "cpu";
  if (!(BACKENDS as readonly string[]).includes(backend)) throw new UsageError(`--backend must be one of ${BACKENDS.join(", ")}, got "${backend}"`);
  if (values.price !== undefined && !AmountSchema.safeParse(values.price).success) {
    throw new UsageError(`--price must be a non-negative integer amount in base units, got "${values.price}"`);
  }
  for (const flag of ["price-per-unit", "price-floor"] as const) {
    const v = values[flag];
    if (v !== undefined && !AmountSchema.safeParse(v).success) throw new UsageError(`--${flag} must be a non-negative integer amount in base units, got "${v}"`);
  }
  if (!values["price-follow-index"] && (values["price-floor"] !== undefined || values["price-follow-s"] !== undefined)) {
    throw new UsageError("--price-floor and --price-follow-s go with --price-follow-index");
  }
  if (values.stake !== undefined && !AmountSchema.safeParse(values.stake).success) {
    throw new UsageError(`--stake must be a non-negative integer amount in base units, got "${values.stake}"`);
  }
  if (values.region !== undefined && !RegionSchema.safeParse(values.region).success) {
    throw new UsageError(`--region must be lowercase letters, digits and dashes (e.g. eu-west), got "${values.region}"`);
  }
  if (values.name !== undefined && (values.name.trim() === "" || values.name.length > 100)) {
    throw new UsageError("--name must be 1-100 characters");
  }
  let cacheMb: number | undefined;
  if (values["cache-mb"] !== undefined) {
    cacheMb = Number(values["cache-mb"]);
    if (!Number.isFinite(cacheMb) || cacheMb <= 0) throw new UsageError(`--cache-mb must be a positive number, got "${values["cache-mb"]}"`);
  }
  const logLevel = (values["log-level"] ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  const fault = values.fault ?? (env.STUN_PROVIDER_FAULT || undefined);
  if (fault !== undefined && !isFault(fault)) throw new UsageError(`--fault must be one of ${FAULTS.join(", ")}, got "${fault}"`);

  const tee = values.tee;
  if (tee !== undefined && !(TEE_MODES as readonly string[]).includes(tee)) throw new UsageError(`--tee must be one of ${TEE_MODES.join(", ")}, got "${tee}"`);

  const options: ProviderAgentOptions & { logLevel: LogLevel } = { server, apiKey, backend: backend as BackendChoice, logLevel };
  if (tee !== undefined) options.tee = tee as TeeMode;
  const teeRefreshS = int("tee-refresh-s", values["tee-refresh-s"], 10, 86_400);
  if (teeRefreshS !== undefined) options.teeRefreshMs = teeRefreshS * 1000;
  const perUnit = values["price-per-unit"];
  if (values.price !== undefined) options.price = values.price;
  else if (perUnit !== undefined || values["price-follow-index"]) options.price = "0";
  if (perUnit !== undefined) options.pricePerUnit = perUnit;
  if (values["price-follow-index"]) {
    const everyS = int("price-follow-s", values["price-follow-s"], 1, 86_400) ?? 60;
    options.followIndex = { floor: BigInt(values["price-floor"] ?? perUnit ?? "0"), everyMs: everyS * 1000 };
  }
  if (values.stake !== undefined) options.stake = values.stake;
  if (values.region !== undefined) options.region = values.region;
  if (values.name !== undefined) options.name = values.name;
  // Absolute now: the agent then runs from a private empty directory (./work-dir.ts).
  if (values["cache-dir"] !== undefined) options.cacheDir = path.resolve(values["cache-dir"]);
  if (cacheMb !== undefined) options.cacheMb = cacheMb;
  if (fault !== undefined) options.fault = fault;
  const threads = int("threads", values.threads, 1, 256);
  if (threads !== undefined) options.threads = threads;
  const slots = int("slots", values.slots, 1, 64);
  if (slots !== undefined) options.slots = slots;
  const maxBatch = int("max-batch", values["max-batch"], 1, 1024);
  if (maxBatch !== undefined) options.maxBatch = maxBatch;
  const heartbeatMs = int("heartbeat-ms", values["heartbeat-ms"], 100, 600_000);
  if (heartbeatMs !== undefined) options.heartbeatMs = heartbeatMs;
  const drainTimeoutMs = int("drain-timeout-ms", values["drain-timeout-ms"], 0, 3_600_000);
  if (drainTimeoutMs !== undefined) options.drainTimeoutMs = drainTimeoutMs;
  const benchmarkMs = int("benchmark-ms", values["benchmark-ms"], 0, 60_000);
  if (benchmarkMs !== undefined) options.benchmarkMs = benchmarkMs;
  return { help: false, options, warnings };
}
