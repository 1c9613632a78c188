/**
 * JSON-lines logging to stderr: one object per line with `level`, `time`, `msg` and fields.
 * Tests (and operators' log shippers) read these lines; e.g. `{"msg":"registered","providerId":…}`.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code !== undefined ? { code } : {}) };
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

export function createJsonLogger(opts: { level?: LogLevel; write?: (line: string) => void; base?: LogFields } = {}): Logger {
  const min = RANK[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const log =
    (level: LogLevel) =>
    (msg: string, fields: LogFields = {}) => {
      if (RANK[level] < min) return;
      const entry: LogFields = { level, time: new Date().toISOString(), msg, ...opts.base };
      for (const [k, v] of Object.entries(fields)) entry[k] = serialise(v);
      write(`${JSON.stringify(entry)}\n`);
    };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
