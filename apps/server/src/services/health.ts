/**
 * GET /api/v1/health: the server answers, and how many providers are online. A server that answers
 * but has no provider runs nothing (and a provider that joins an empty network runs everything
 * alone), so "ready" means both: npm start prints its banner only once its own providers count here.
 *
 * The answer must stay fast whatever else the server is doing (`/health` within 100 ms, docs/SECURITY.md):
 * - one instance (no REDIS_URL): the providers registered with this instance's registry — exact,
 *   and no database query (PGlite runs one statement at a time, behind any long transaction);
 * - several instances (REDIS_URL): `Provider.online` rows, the network-wide count, read at most
 *   once per ONLINE_COUNT_TTL_MS by one query that concurrent health checks share, so a flood of
 *   health checks costs the database nothing more.
 */
import type { Health } from "@stun/shared";
import type { AppContext } from "../context";

/** How long the multi-instance count of online providers is reused. */
export const ONLINE_COUNT_TTL_MS = 1000;

/** Builds the health check of one server (it keeps the shared count between calls). */
export function createHealthCheck(app: AppContext): () => Promise<Health> {
  const online = app.config.REDIS_URL ? sharedCount(() => app.db.prisma.provider.count({ where: { online: true } }), ONLINE_COUNT_TTL_MS) : async () => app.providers.size;
  return async () => ({ status: "ok", providers: { online: await online() } });
}

/** `read`, reused for `ttlMs` after it answered; callers arriving while it runs wait for that run. */
function sharedCount(read: () => Promise<number>, ttlMs: number): () => Promise<number> {
  let last: { value: number; at: number } | undefined;
  let running: Promise<number> | undefined;
  return () => {
    if (last && Date.now() - last.at < ttlMs) return Promise.resolve(last.value);
    running ??= read()
      .then((value) => {
        last = { value, at: Date.now() };
        return value;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
}
