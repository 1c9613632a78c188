import type { FastifyRequest } from "fastify";
import type { AppContext, CallContext } from "../context";
import { bearerToken } from "../auth/api-keys";
import { authenticate } from "../services/accounts";

/** tRPC context: the app, and the caller when a valid bearer key came with the request. */
export async function createTrpcContext(app: AppContext, req: FastifyRequest): Promise<CallContext> {
  const key = bearerToken(req.headers.authorization);
  const accountId = key ? await authenticate(app, key).catch(() => undefined) : undefined;
  return { app, accountId };
}
