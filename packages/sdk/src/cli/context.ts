import type { ParseArgsConfig } from "node:util";
import type { StunClient } from "../client";
import type { StunConfig } from "./config";

/** Where the CLI reads and writes: the real process in `bin/stun.mjs`, buffers in tests. */
export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Record<string, string | undefined>;
  cwd: string;
}

/** A mistake in the command line itself: exit status 2 with the command's usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;
export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What every command gets: the I/O, resolved global settings and the parsed arguments. */
export interface Context {
  io: CliIo;
  json: boolean;
  server: string;
  /** The config file's path and contents (empty when there is none). */
  configPath: string;
  config: StunConfig;
  values: ParsedValues;
  positionals: string[];
  /** A client for the resolved server; `needKey` (default true) fails without an API key. */
  client(needKey?: boolean): StunClient;
  /** Resolves a path given on the command line against the CLI's working directory. */
  resolvePath(p: string): string;
  out(line?: string): void;
  /** Prints a value as JSON (bigints as strings, typed arrays as arrays). */
  printJson(value: unknown): void;
}

export interface Command {
  /** The words that select it, e.g. ["tasks", "submit"]. */
  path: readonly string[];
  summary: string;
  /** Argument synopsis after the command words, e.g. "<file.onnx> [--name N]". */
  synopsis: string;
  /** Extra help text printed under the synopsis. */
  help?: string;
  options: OptionSpecs;
  /** Positional arguments after the command words. */
  positionals: { min: number; max: number };
  /** Returns the exit status (0 when it returns nothing). */
  run(ctx: Context): Promise<number | void>;
}

/** The string value of an option, or undefined. */
export const str = (ctx: Context, name: string): string | undefined => {
  const v = ctx.values[name];
  return typeof v === "string" ? v : undefined;
};

/** A list option's values (options declared `multiple: true`). */
export const list = (ctx: Context, name: string): string[] => {
  const v = ctx.values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : typeof v === "string" ? [v] : [];
};

export const flag = (ctx: Context, name: string): boolean => ctx.values[name] === true;

/** Parses an integer option within [min, max], or throws a UsageError. */
export function intOption(ctx: Context, name: string, min: number, max: number): number | undefined {
  const v = str(ctx, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Parses a non-negative number of seconds (fractions allowed), or throws a UsageError. */
export function secondsOption(ctx: Context, name: string): number | undefined {
  const v = str(ctx, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number of seconds, got ${JSON.stringify(v)}`);
  return n;
}
