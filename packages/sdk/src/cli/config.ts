/**
 * The CLI's config file: where `stun account create` keeps the server and the API key it got.
 * `$STUN_CONFIG` names the file; otherwise `$XDG_CONFIG_HOME/stun/config.json`, falling back to
 * `~/.config/stun/config.json`. The file holds a secret, so it is written 0600 (directory 0700).
 */
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { StunApiError } from "../errors";

export interface StunConfig {
  /** Server root the key belongs to, e.g. "http://localhost:4000". */
  server?: string;
  accountId?: string;
  apiKey?: string;
  /** Unknown keys are kept when the file is rewritten. */
  [key: string]: unknown;
}

export function configPath(env: Record<string, string | undefined>, cwd: string): string {
  const explicit = env.STUN_CONFIG;
  if (explicit) return isAbsolute(explicit) ? explicit : resolve(cwd, explicit);
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".config");
  return join(base, "stun", "config.json");
}

/** Reads the config; a missing file is an empty config, a malformed one is CONFIG_INVALID. */
export async function loadConfig(path: string): Promise<StunConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new StunApiError(0, "FILE_ERROR", `cannot read config ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new StunApiError(0, "CONFIG_INVALID", `config ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new StunApiError(0, "CONFIG_INVALID", `config ${path} must hold a JSON object`);
  }
  for (const key of ["server", "accountId", "apiKey"] as const) {
    const v = (parsed as Record<string, unknown>)[key];
    if (v !== undefined && typeof v !== "string") throw new StunApiError(0, "CONFIG_INVALID", `config ${path}: "${key}" must be a string`);
  }
  return parsed as StunConfig;
}

/** Merges `patch` into the file (creating it and its directory) atomically, owner-only. */
export async function saveConfig(path: string, patch: StunConfig): Promise<StunConfig> {
  const next = { ...(await loadConfig(path)), ...patch };
  const dir = dirname(path);
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (e) {
    throw new StunApiError(0, "FILE_ERROR", `cannot write config ${path}: ${(e as Error).message}`);
  }
  return next;
}

export interface Settings {
  server: string;
  apiKey: string | undefined;
  /** Where the key came from, for messages. */
  apiKeySource: "flag" | "env" | "config" | undefined;
}

/**
 * The server and API key a command uses: the flag, then the environment (STUN_SERVER,
 * STUN_API_KEY), then the config file, then the default server. The config's key belongs to the
 * config's server: it is not sent to another one.
 */
export function resolveSettings(input: {
  flagServer?: string | undefined;
  flagApiKey?: string | undefined;
  env: Record<string, string | undefined>;
  config: StunConfig;
  defaultServer: string;
}): Settings {
  const { env, config } = input;
  const server = normalizeServer(input.flagServer || env.STUN_SERVER || config.server || input.defaultServer);
  if (input.flagApiKey) return { server, apiKey: input.flagApiKey, apiKeySource: "flag" };
  if (env.STUN_API_KEY) return { server, apiKey: env.STUN_API_KEY, apiKeySource: "env" };
  if (config.apiKey && (!config.server || sameServer(config.server, server))) return { server, apiKey: config.apiKey, apiKeySource: "config" };
  return { server, apiKey: undefined, apiKeySource: undefined };
}

/** Server URLs compare without trailing slashes or a trailing /api/v1. */
export const sameServer = (a: string, b: string): boolean => normalizeServer(a) === normalizeServer(b);
export const normalizeServer = (url: string): string =>
  url
    .trim()
    .replace(/\/+$/, "")
    .replace(/\/api\/v1$/, "");
