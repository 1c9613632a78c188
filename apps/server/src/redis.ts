import { Redis } from "ioredis";
import { createAdapter } from "@socket.io/redis-adapter";
import type { Server as IOServer } from "socket.io";
import type { EventBus } from "./events";
import type { Logger } from "./logger";

/** The instance's Redis connection for commands (SIWE nonces, instance presence); connected. */
export async function openRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  return redis;
}

/**
 * Several server instances share one Redis: socket.io rooms and broadcasts go through the Redis
 * adapter, and task/work events are relayed so a long-poll on one instance hears a task finished
 * on another. Opens its own connections (duplicates of `redis`); closes them, not `redis`.
 */
export async function connectRedis(redis: Redis, prefix: string, io: IOServer, bus: EventBus, log: Logger): Promise<{ close(): Promise<void> }> {
  const CHANNEL_PREFIX = `${prefix}:events:`;
  const pub = redis.duplicate();
  const sub = redis.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub, { key: `${prefix}:socket.io` }));
  const events = pub.duplicate();
  await events.connect();
  const origin = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  await events.subscribe(`${CHANNEL_PREFIX}task`, `${CHANNEL_PREFIX}work`, `${CHANNEL_PREFIX}keys`);
  events.on("message", (channel: string, message: string) => {
    const sep = message.indexOf("|");
    if (message.slice(0, sep) === origin) return;
    bus.receive(channel.slice(CHANNEL_PREFIX.length), message.slice(sep + 1));
  });
  bus.setRelay((channel, payload) => pub.publish(`${CHANNEL_PREFIX}${channel}`, `${origin}|${payload}`).catch((err) => log.warn({ err }, "event relay failed")));
  log.info("connected to Redis: socket.io adapter and event relay on");
  return {
    async close() {
      await Promise.all([pub.quit(), sub.quit(), events.quit()].map((p) => p.catch(() => undefined)));
    },
  };
}
