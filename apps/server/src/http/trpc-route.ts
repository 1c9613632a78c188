import type { FastifyInstance, FastifyRequest } from "fastify";
import { fastifyRequestHandler } from "@trpc/server/adapters/fastify";
import { StunError } from "@stun/shared";
import type { AppContext } from "../context";
import { bearerToken } from "../auth/api-keys";
import { authenticate } from "../services/accounts";
import { procedures } from "../procedures";
import type { Procedure } from "../procedures/define";
import { createTrpcContext } from "../trpc/context";
import { appRouter } from "../trpc/routers/_app";
import { retryAfterOf } from "../limits/rate-limits";
import { jsonBodyParser } from "./json-body";

/** Procedures per batched call: a batch of cheap calls must not become thousands of queries. */
export const TRPC_MAX_BATCH = 32;

/** "tasks.submit" → its procedure (undefined for an unknown name). */
function procedureNamed(name: string): Procedure | undefined {
  const [group, op] = name.split(".");
  return (procedures as Record<string, Record<string, Procedure> | undefined>)[group ?? ""]?.[op ?? ""];
}

/** Whether a tRPC call path (`a.b` or a batch `a.b,c.d`) names a procedure whose input carries tensors. */
export function callCarriesTensors(path: string): boolean {
  return path.split(",").some((name) => procedureNamed(name)?.tensors === true);
}

const pathOf = (req: FastifyRequest): string => (req.params as { path?: string }).path ?? "";

/**
 * tRPC on `/trpc/:path`, mounted here rather than with `fastifyTRPCPlugin` so that its bodies get
 * the same limits as REST: JSON only (the plugin's multipart parser read bodies without a limit),
 * JSON_BODY_LIMIT unless the call includes a procedure that carries tensors (then BODY_LIMIT, and
 * only with a valid API key, checked before the body is read), nesting depth ≤ JSON_MAX_DEPTH, and
 * at most TRPC_MAX_BATCH calls per batch.
 */
export async function registerTrpc(http: FastifyInstance, app: AppContext): Promise<void> {
  const { BODY_LIMIT, JSON_BODY_LIMIT, JSON_MAX_DEPTH } = app.config;
  await http.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("application/json", jsonBodyParser({ limitFor: (req) => (callCarriesTensors(pathOf(req)) ? BODY_LIMIT : JSON_BODY_LIMIT), maxDepth: JSON_MAX_DEPTH, output: "text" }));
    scope.addHook("onRequest", async (req) => {
      if (!callCarriesTensors(pathOf(req))) return;
      const key = bearerToken(req.headers.authorization);
      if (!key) throw new StunError("UNAUTHORIZED", "missing API key");
      await authenticate(app, key);
    });
    scope.all("/trpc/:path", { bodyLimit: BODY_LIMIT }, async (req, reply) => {
      await fastifyRequestHandler({
        router: appRouter,
        createContext: ({ req: r, info }) => createTrpcContext(app, r, info.connectionParams),
        maxBatchSize: TRPC_MAX_BATCH,
        maxBodySize: BODY_LIMIT,
        // A procedure's RATE_LIMITED (SIWE nonces) gets the same Retry-After as a REST 429.
        responseMeta: ({ errors }) => {
          const retryAfter = errors.map((e) => (e.cause instanceof StunError ? retryAfterOf(e.cause) : undefined)).find((s) => s !== undefined);
          return retryAfter === undefined ? {} : { headers: { "retry-after": String(retryAfter) } };
        },
        req,
        res: reply,
        path: pathOf(req),
      });
    });
  });
}
