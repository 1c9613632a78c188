import type { FastifyRequest } from "fastify";
import type { AppContext, CallContext } from "../context";
import { bearerToken } from "../auth/api-keys";
import { authenticate } from "../services/accounts";
import { addressId } from "../limits/rate-limits";

/** tRPC context: the app, the caller when a valid bearer key came with the request, and its address. */
export async function createTrpcContext(app: AppContext, req: FastifyRequest): Promise<CallContext> {
  const key = bearerToken(req.headers.authorization);
  const accountId = key ? await authenticate(app, key).catch(() => undefined) : undefined;
  return { app, accountId, ip: addressId(req.ip) };
}
