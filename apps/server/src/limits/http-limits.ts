import type { FastifyInstance, FastifyRequest } from "fastify";
import { bearerToken, hashApiKey } from "../auth/api-keys";
import { addressId, type RateLimits } from "./rate-limits";

/** The API's paths (REST and tRPC), less the health check that load balancers poll. */
export function isLimitedPath(url: string): boolean {
  if (url.startsWith("/api/v1/health")) return false;
  return url.startsWith("/api/") || url.startsWith("/trpc/") || url.startsWith("/trpc?");
}

/**
 * Every API request counts against its client address and, when it carries a bearer key, against
 * that key (valid or not: an unknown key is still one caller). Past either limit the request is
 * answered 429 RATE_LIMITED with Retry-After (http/app.ts's error handler) before any work.
 */
export function limitApiRequests(http: FastifyInstance, limits: RateLimits): void {
  http.addHook("onRequest", async (req: FastifyRequest) => {
    if (!isLimitedPath(req.url)) return;
    await limits.hit("ip", addressId(req.ip));
    const key = bearerToken(req.headers.authorization);
    if (key) await limits.hit("key", hashApiKey(key));
  });
}
