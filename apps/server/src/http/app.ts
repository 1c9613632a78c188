import Fastify, { type FastifyInstance } from "fastify";
import { IdSchema, StunError, UploadModelQuerySchema } from "@stun/shared";
import type { AppContext } from "../context";
import { requireScope } from "../auth/scopes";
import { authorizeCall } from "../procedures/define";
import { createHealthCheck } from "../services/health";
import { getModel, getModelRow } from "../models/cache";
import { uploadModel } from "../services/models";
import { zkFilePath } from "../zk/zk-models";
import { createReadStream } from "node:fs";
import { AUTH_REQUIRED, authenticateBeforeBody, callerOf, optionalCallerOf } from "./auth";
import { hangUpSignal } from "./hang-up";
import { closeUnreadRequest } from "./early-close";
import { trpcErrorBody } from "../trpc/trpc";
import { errorBody, toStunError } from "../errors";
import { jsonBodyParser, refuseUnparsableBodies } from "./json-body";
import { buildOpenApi } from "./openapi";
import { restRoutes } from "./rest/routes";
import { registerTrpc } from "./trpc-route";
import { GRAPHQL_PATH, registerGraphql } from "../graphql/route";
import { graphqlErrorBody } from "../graphql/schema";
import { registerWebApp } from "./web";
import { limitApiRequests } from "../limits/http-limits";
import { addressId, retryAfterOf } from "../limits/rate-limits";

const API = "/api/v1";
const VERSION = "0.1.0";

/**
 * The HTTP surface: REST under /api/v1, tRPC under /trpc, GraphQL at /api/graphql, Prometheus metrics at /metrics, and the
 * web app (when config.webDir is set) on every other GET path.
 */
export async function buildHttpApp(app: AppContext): Promise<FastifyInstance> {
  const { BODY_LIMIT, JSON_BODY_LIMIT, JSON_MAX_DEPTH, MODEL_LIMIT } = app.config;
  // Every body is held to JSON_BODY_LIMIT unless its route says otherwise (task inputs: BODY_LIMIT;
  // models: MODEL_LIMIT), and JSON is the only body type besides the model upload's bytes.
  const http = Fastify({ logger: false, bodyLimit: JSON_BODY_LIMIT, forceCloseConnections: true, trustProxy: app.config.trustProxy ?? false });
  http.removeAllContentTypeParsers();
  http.addContentTypeParser("application/json", jsonBodyParser({ limitFor: (req) => req.routeOptions.bodyLimit ?? JSON_BODY_LIMIT, maxDepth: JSON_MAX_DEPTH, output: "json" }));
  http.addHook("preValidation", refuseUnparsableBodies);
  // Rate limits first (onRequest hooks run in order): a flood costs no key lookup.
  limitApiRequests(http, app.limits);
  authenticateBeforeBody(http, app);

  http.setErrorHandler((e, req, reply) => {
    const err = toStunError(e);
    if (err.code === "INTERNAL") app.log.error({ err: e, url: req.url }, "request failed");
    closeUnreadRequest(req, reply);
    const retryAfter = retryAfterOf(err);
    if (retryAfter !== undefined) void reply.header("retry-after", String(retryAfter));
    void reply.status(err.status).send(req.url.startsWith("/trpc") ? trpcErrorBody(err) : req.url.startsWith(GRAPHQL_PATH) ? graphqlErrorBody(err) : errorBody(err));
  });
  http.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody(new StunError("NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`)));
  });

  const health = createHealthCheck(app);
  http.get(`${API}/health`, () => health());
  const openapi = buildOpenApi(VERSION);
  http.get(`${API}/openapi.json`, async () => openapi);
  http.get("/metrics", async (_req, reply) => {
    void reply.header("content-type", app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });

  for (const r of restRoutes) {
    const p = r.procedure;
    http.route({
      method: r.method,
      url: `${API}${r.path}`,
      bodyLimit: p.tensors ? BODY_LIMIT : JSON_BODY_LIMIT,
      ...(p.auth ? AUTH_REQUIRED : {}),
      handler: async (req, reply) => {
        const key = p.auth ? callerOf(req) : await optionalCallerOf(app, req);
        if (key) authorizeCall(p, key);
        const input = p.input.parse(r.input(req));
        const out = await p.handler({ app, accountId: key?.accountId as string, key, ip: addressId(req.ip), signal: hangUpSignal(reply.raw) }, input as never);
        return reply.status(r.status ?? 200).send(out);
      },
    });
  }

  // Binary routes: models go up and down as raw bytes.
  await http.register(async (scope) => {
    scope.addContentTypeParser("application/octet-stream", { parseAs: "buffer", bodyLimit: MODEL_LIMIT }, (_req, body, done) => done(null, body));
    scope.post(`${API}/models`, { bodyLimit: MODEL_LIMIT, ...AUTH_REQUIRED }, async (req, reply) => {
      const { accountId, scopes } = callerOf(req);
      // Scope checked before the body is used (the key itself was checked before it was read).
      requireScope(scopes, ["requester"], "upload models");
      if (!Buffer.isBuffer(req.body)) {
        throw new StunError("UNSUPPORTED_MEDIA_TYPE", "send the ONNX file as the body with Content-Type: application/octet-stream");
      }
      const q = UploadModelQuerySchema.parse(req.query);
      return reply.status(201).send(await uploadModel(app, accountId, req.body, q.name));
    });
    scope.get(`${API}/models/:id/file`, AUTH_REQUIRED, async (req, reply) => {
      const id = IdSchema.parse((req.params as { id: string }).id);
      const model = await getModel(app, id);
      void reply.header("content-type", "application/octet-stream").header("x-content-sha256", model.sha256);
      return reply.send(app.blobs.stream(model.sha256));
    });
    // A zk model's circuit (witness generator), proving key and verification key: what providers
    // prove with and anyone verifies with. 404 until the circuit is built (GET /models/:id/zk
    // says where it stands).
    scope.get(`${API}/models/:id/zk/:file`, AUTH_REQUIRED, async (req, reply) => {
      const { id, file } = req.params as { id: string; file: string };
      const model = await getModelRow(app, IdSchema.parse(id));
      const zk = app.zk.ready(model.id);
      const path = zk && zkFilePath(zk, file);
      if (!zk || !path) throw new StunError("NOT_FOUND", `model ${model.id} has no zk file "${file}" (GET /api/v1/models/${model.id}/zk tells its circuit's state)`);
      void reply.header("content-type", file.endsWith(".json") ? "application/json" : "application/octet-stream").header("x-circuit-sha256", zk.circuitHash);
      return reply.send(createReadStream(path));
    });
  });

  await registerTrpc(http, app);
  await registerGraphql(http, app, jsonBodyParser);
  // Last, so that every API route wins over the web app's catch-all.
  if (app.config.webDir) await registerWebApp(http, app, app.config.webDir);
  return http;
}
