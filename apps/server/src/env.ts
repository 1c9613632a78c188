import { z } from "zod";
import os from "node:os";
import path from "node:path";

/**
 * The server's configuration, parsed once from the environment by one zod schema. Every default
 * runs locally with no set-up: embedded PGlite under DATA_DIR, blobs on the filesystem, local mode.
 */
const bool = z
  .enum(["1", "0", "true", "false", "yes", "no"])
  .transform((v) => v === "1" || v === "true" || v === "yes");

export const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default("127.0.0.1"),
  DATA_DIR: z.string().default("./.stun"),
  /** postgres://… switches from embedded PGlite to PostgreSQL. */
  DATABASE_URL: z.string().url().optional(),
  /** redis://… enables the socket.io Redis adapter and cross-instance events. */
  REDIS_URL: z.string().url().optional(),
  /** `local` enables the faucet; `production` hides it. */
  STUN_MODE: z.enum(["local", "production"]).default("local"),
  /** Largest JSON request body (task inputs), in bytes. */
  BODY_LIMIT: z.coerce.number().int().positive().default(16 * 1024 * 1024),
  /** Largest ONNX upload, in bytes. */
  MODEL_LIMIT: z.coerce.number().int().positive().default(256 * 1024 * 1024),
  /** How long a provider holds an assignment without a heartbeat before it is re-queued. */
  LEASE_MS: z.coerce.number().int().positive().default(30_000),
  /** Executions a task may lose (provider gone, lease lapsed, provider error) before it fails. */
  MAX_ATTEMPTS: z.coerce.number().int().min(1).default(3),
  /** Default per-execution price ceiling when a task names none, in base units. */
  DEFAULT_MAX_PRICE: z.coerce.bigint().nonnegative().default(1000n),
  /** Default task deadline. */
  DEFAULT_DEADLINE_SECONDS: z.coerce.number().int().positive().default(600),
  /** Completed results a provider needs (with a good reputation) before `auto` runs it alone. */
  TRUST_AFTER: z.coerce.number().int().min(0).default(10),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  INSTANCE_ID: z.string().default(`${os.hostname()}-${process.pid}`),
  /** Tests turn off the fsync of blobs to keep the suite fast; production keeps it. */
  STUN_FSYNC: bool.default(true),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config extends Env {
  dataDir: string;
  blobDir: string;
  local: boolean;
}

export function parseConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`Invalid configuration:\n${lines}`);
  }
  const env = parsed.data;
  const dataDir = path.resolve(env.DATA_DIR);
  return { ...env, dataDir, blobDir: path.join(dataDir, "blobs"), local: env.STUN_MODE === "local" };
}
