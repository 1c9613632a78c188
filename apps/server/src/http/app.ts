import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { fastifyTRPCPlugin } from "@trpc/server/adapters/fastify";
import { IdSchema, StunError, UploadModelQuerySchema } from "@stun/shared";
import type { AppContext } from "../context";
import { bearerToken } from "../auth/api-keys";
import { authenticate } from "../services/accounts";
import { getModel, getModelRow, uploadModel } from "../services/models";
import { zkFilePath } from "../zk/zk-models";
import { createReadStream } from "node:fs";
import { createTrpcContext } from "../trpc/context";
import { trpcErrorBody } from "../trpc/trpc";
import { appRouter } from "../trpc/routers/_app";
import { errorBody, toStunError } from "./errors";
import { buildOpenApi } from "./openapi";
import { restRoutes } from "./rest/routes";
import { registerWebApp } from "./web";
import { limitApiRequests } from "../limits/http-limits";
import { addressId, retryAfterOf } from "../limits/rate-limits";

const API = "/api/v1";
const VERSION = "0.1.0";

const callerOf = (app: AppContext, req: FastifyRequest): Promise<string> => authenticate(app, bearerToken(req.headers.authorization));
/** A public route's caller: the account of a valid bearer key, else undefined (as tRPC's context). */
const optionalCallerOf = (app: AppContext, req: FastifyRequest): Promise<string | undefined> => {
  const key = bearerToken(req.headers.authorization);
  return key ? authenticate(app, key).catch(() => undefined) : Promise.resolve(undefined);
};

/**
 * The HTTP surface: REST under /api/v1, tRPC under /trpc, Prometheus metrics at /metrics, and the
 * web app (when config.webDir is set) on every other GET path.
 */
export async function buildHttpApp(app: AppContext): Promise<FastifyInstance> {
  const http = Fastify({ logger: false, bodyLimit: app.config.BODY_LIMIT, forceCloseConnections: true, trustProxy: app.config.trustProxy ?? false });
  limitApiRequests(http, app.limits);

  http.setErrorHandler((e, req, reply) => {
    const err = toStunError(e);
    if (err.code === "INTERNAL") app.log.error({ err: e, url: req.url }, "request failed");
    const retryAfter = retryAfterOf(err);
    if (retryAfter !== undefined) void reply.header("retry-after", String(retryAfter));
    void reply.status(err.status).send(req.url.startsWith("/trpc") ? trpcErrorBody(err) : errorBody(err));
  });
  http.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody(new StunError("NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`)));
  });

  http.get(`${API}/health`, async () => ({ status: "ok" }));
  const openapi = buildOpenApi(VERSION);
  http.get(`${API}/openapi.json`, async () => openapi);
  http.get("/metrics", async (_req, reply) => {
    void reply.header("content-type", app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });

  for (const r of restRoutes) {
    http.route({
      method: r.method,
      url: `${API}${r.path}`,
      handler: async (req, reply) => {
        const p = r.procedure;
        const accountId = p.auth ? await callerOf(app, req) : await optionalCallerOf(app, req);
        const input = p.input.parse(r.input(req));
        const out = await p.handler({ app, accountId: accountId as string, ip: addressId(req.ip) }, input as never);
        return reply.status(r.status ?? 200).send(out);
      },
    });
  }

  // Binary routes: models go up and down as raw bytes.
  await http.register(async (scope) => {
    scope.addContentTypeParser("application/octet-stream", { parseAs: "buffer", bodyLimit: app.config.MODEL_LIMIT }, (_req, body, done) =>
      done(null, body),
    );
    scope.post(`${API}/models`, { bodyLimit: app.config.MODEL_LIMIT }, async (req, reply) => {
      const accountId = await callerOf(app, req);
      if (!Buffer.isBuffer(req.body)) {
        throw new StunError("UNSUPPORTED_MEDIA_TYPE", "send the ONNX file as the body with Content-Type: application/octet-stream");
      }
      const q = UploadModelQuerySchema.parse(req.query);
      return reply.status(201).send(await uploadModel(app, accountId, req.body, q.name));
    });
    scope.get(`${API}/models/:id/file`, async (req, reply) => {
      await callerOf(app, req);
      const id = IdSchema.parse((req.params as { id: string }).id);
      const model = await getModel(app, id);
      void reply.header("content-type", "application/octet-stream").header("x-content-sha256", model.sha256);
      return reply.send(app.blobs.stream(model.sha256));
    });
    // A zk model's circuit (witness generator), proving key and verification key: what providers
    // prove with and anyone verifies with. 404 until the circuit is built (GET /models/:id/zk
    // says where it stands).
    scope.get(`${API}/models/:id/zk/:file`, async (req, reply) => {
      await callerOf(app, req);
      const { id, file } = req.params as { id: string; file: string };
      const model = await getModelRow(app, IdSchema.parse(id));
      const zk = app.zk.ready(model.id);
      const path = zk && zkFilePath(zk, file);
      if (!zk || !path) throw new StunError("NOT_FOUND", `model ${model.id} has no zk file "${file}" (GET /api/v1/models/${model.id}/zk tells its circuit's state)`);
      void reply.header("content-type", file.endsWith(".json") ? "application/json" : "application/octet-stream").header("x-circuit-sha256", zk.circuitHash);
      return reply.send(createReadStream(path));
    });
  });

  await http.register(fastifyTRPCPlugin, {
    prefix: "/trpc",
    trpcOptions: {
      router: appRouter,
      createContext: ({ req }: { req: FastifyRequest }) => createTrpcContext(app, req),
      // A procedure's RATE_LIMITED (SIWE nonces) gets the same Retry-After as a REST 429.
      responseMeta: ({ errors }: { errors: { cause?: unknown }[] }) => {
        const retryAfter = errors.map((e) => (e.cause instanceof StunError ? retryAfterOf(e.cause) : undefined)).find((s) => s !== undefined);
        return retryAfter === undefined ? {} : { headers: { "retry-after": String(retryAfter) } };
      },
    },
  });
  // Last, so that every API route wins over the web app's catch-all.
  if (app.config.webDir) await registerWebApp(http, app, app.config.webDir);
  return http;
}
