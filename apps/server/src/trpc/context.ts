import type { FastifyRequest } from "fastify";
import type { AppContext, CallContext } from "../context";
import { bearerToken } from "../auth/api-keys";
import { authenticateKey } from "../auth/key-auth";
import { addressId } from "../limits/rate-limits";

/**
 * tRPC context: the app, the caller when a valid key came with the request, and its address. The
 * key is the bearer token, or — for subscriptions over SSE, where a browser's EventSource cannot
 * send headers — `connectionParams.apiKey` (httpSubscriptionLink's `connectionParams`).
 */
export async function createTrpcContext(app: AppContext, req: FastifyRequest, connectionParams?: Record<string, string | undefined> | null): Promise<CallContext> {
  const ip = addressId(req.ip);
  const token = bearerToken(req.headers.authorization) ?? connectionParams?.apiKey;
  if (!token) return { app, accountId: undefined, ip };
  try {
    const key = await authenticateKey(app, token);
    return { app, accountId: key.accountId, key, ip };
  } catch (authError) {
    return { app, accountId: undefined, authError, ip };
  }
}
