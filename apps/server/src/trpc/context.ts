import type { FastifyRequest } from "fastify";
import type { AppContext, CallContext } from "../context";
import { bearerToken } from "../auth/api-keys";
import { authenticateKey } from "../auth/key-auth";

/** tRPC context: the app, and the caller when a valid bearer key came with the request. */
export async function createTrpcContext(app: AppContext, req: FastifyRequest): Promise<CallContext> {
  const token = bearerToken(req.headers.authorization);
  if (!token) return { app, accountId: undefined };
  try {
    const key = await authenticateKey(app, token);
    return { app, accountId: key.accountId, key };
  } catch (authError) {
    return { app, accountId: undefined, authError };
  }
}
