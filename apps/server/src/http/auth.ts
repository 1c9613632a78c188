import type { FastifyInstance, FastifyRequest } from "fastify";
import { StunError } from "@stun/shared";
import type { AppContext } from "../context";
import { bearerToken } from "../auth/api-keys";
import { authenticateKey, type KeyAuth } from "../auth/key-auth";

declare module "fastify" {
  interface FastifyContextConfig {
    /** `required`: the bearer key is checked in onRequest, before a byte of the body is read. */
    auth?: "required";
  }
  interface FastifyRequest {
    /** The authenticated caller (its key's account and scopes) of an `auth: "required"` route. */
    caller?: KeyAuth;
  }
}

/** Route options of a route that needs an API key: checked before its body is read. */
export const AUTH_REQUIRED = { config: { auth: "required" } } as const;

/**
 * Authenticates `auth: "required"` routes in onRequest, so a caller without a valid key gets its
 * 401 before the server reads (or buffers) any of the body — a 200 MB upload without a key costs
 * the server nothing (the reply closes the connection: early-close.ts).
 */
export function authenticateBeforeBody(http: FastifyInstance, app: AppContext): void {
  http.addHook("onRequest", async (req) => {
    if (req.routeOptions.config.auth === "required") req.caller = await authenticateKey(app, bearerToken(req.headers.authorization));
  });
}

/** The caller of an `auth: "required"` route (authenticated in onRequest). */
export function callerOf(req: FastifyRequest): KeyAuth {
  if (!req.caller) throw new StunError("UNAUTHORIZED", "missing or invalid API key");
  return req.caller;
}

/** A public route's caller: the account of a valid bearer key, else undefined (as tRPC's context). */
export function optionalCallerOf(app: AppContext, req: FastifyRequest): Promise<KeyAuth | undefined> {
  const key = bearerToken(req.headers.authorization);
  return key ? authenticateKey(app, key).catch(() => undefined) : Promise.resolve(undefined);
}
