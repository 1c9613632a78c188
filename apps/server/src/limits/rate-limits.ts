/**
 * Rate limits: fixed-window counters from @fastify/rate-limit's own stores — its Redis store (one
 * atomic Lua INCR+PEXPIRE per hit) when REDIS_URL is set, so every instance counts against the same
 * limits, else its in-process LRU store. A limit's counter is keyed `<limit>:<id>` (an IP, or the
 * sha256 of an API key — raw keys never reach Redis).
 *
 * The plugin's request hook is not used as is: it runs one limiter per request (a second limiter
 * on the same request is skipped), and the API needs two (per IP and per key) plus limits that are
 * not HTTP routes (SIWE nonces inside a tRPC batch, socket.io connection attempts).
 */
import { createRequire } from "node:module";
import { Redis } from "ioredis";
import { normalizeIP } from "@fastify/rate-limit";
import { StunError } from "@stun/shared";
import type { Config } from "../env";
import type { Logger } from "../logger";
import { SIWE_NONCE_TTL_MS } from "../auth/config";

interface CounterStore {
  incr(key: string, done: (err: Error | null, result?: { current: number; ttl: number }) => void, windowMs: number, max: number): void;
}
type LocalStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, cacheSize: number) => CounterStore;
type RedisStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, prefix: string) => CounterStore;
const require = createRequire(import.meta.url);
const LocalStore = require("@fastify/rate-limit/store/LocalStore.js") as LocalStoreCtor;
const RedisStore = require("@fastify/rate-limit/store/RedisStore.js") as RedisStoreCtor;

/** Counters held in memory at most (least recently used ones go first). */
const LOCAL_COUNTERS = 100_000;

export type LimitName = "ip" | "key" | "siweNonce" | "providerConnect";

interface Limit {
  max: number;
  windowMs: number;
  /** Says what was limited, for the 429's message. */
  what: string;
}

function limitsOf(config: Config): Record<LimitName, Limit> {
  const windowMs = config.RATE_LIMIT_WINDOW_MS;
  return {
    ip: { max: config.RATE_LIMIT_PER_IP, windowMs, what: "requests from this address" },
    key: { max: config.RATE_LIMIT_PER_KEY, windowMs, what: "requests with this API key" },
    // Over a nonce's whole lifetime, so one address never holds more than this many live nonces.
    siweNonce: { max: config.RATE_LIMIT_SIWE_NONCES, windowMs: SIWE_NONCE_TTL_MS, what: "sign-in nonces for this address" },
    providerConnect: { max: config.RATE_LIMIT_PROVIDER_CONNECTS, windowMs, what: "provider connection attempts from this address" },
  };
}

/** One client address as a counter id: IPv4 as is, IPv6 by its /64 (one host's usual allocation). */
export const addressId = (ip: string): string => normalizeIP(ip);

export class RateLimits {
  private constructor(
    private readonly limits: Record<LimitName, Limit>,
    private readonly store: CounterStore,
    private readonly log: Logger,
    private readonly redis: Redis | undefined,
  ) {}

  /** In Redis when config.REDIS_URL is set (shared by every instance), else in this process. */
  static async open(config: Config, log: Logger): Promise<RateLimits> {
    const limits = limitsOf(config);
    if (!config.REDIS_URL) return new RateLimits(limits, new LocalStore(false, false, LOCAL_COUNTERS), log, undefined);
    const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    await redis.connect();
    return new RateLimits(limits, new RedisStore(false, false, redis, config.RATE_LIMIT_REDIS_PREFIX), log, redis);
  }

  /**
   * Counts one hit of `id` (an address from addressId, or a key hash) against limit `name`;
   * throws RATE_LIMITED (429, `details.retryAfterSeconds`) past the limit. A limit of 0 is off.
   * When the store fails (Redis down) the hit is let through: limits must not take the API down.
   */
  async hit(name: LimitName, id: string): Promise<void> {
    const limit = this.limits[name];
    if (limit.max === 0) return;
    let result: { current: number; ttl: number } | undefined;
    try {
      result = await new Promise((resolve, reject) => {
        this.store.incr(`${name}:${id}`, (err, res) => (err ? reject(err) : resolve(res)), limit.windowMs, limit.max);
      });
    } catch (err) {
      this.log.warn({ err, limit: name }, "rate-limit store failed; request let through");
      return;
    }
    if (!result || result.current <= limit.max) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(result.ttl / 1000));
    throw new StunError("RATE_LIMITED", `too many ${limit.what}: at most ${limit.max} per ${formatWindow(limit.windowMs)}; retry in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    });
  }

  async close(): Promise<void> {
    await this.redis?.quit().catch(() => undefined);
  }
}

const formatWindow = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

/** The Retry-After seconds a RATE_LIMITED error carries, else undefined. */
export function retryAfterOf(err: StunError): number | undefined {
  const s = err.code === "RATE_LIMITED" ? err.details?.retryAfterSeconds : undefined;
  return typeof s === "number" ? s : undefined;
}
