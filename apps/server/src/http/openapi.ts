import { z } from "zod";
import { HealthSchema, ModelViewSchema, UploadModelQuerySchema } from "@stun/shared";
import { restRoutes } from "./rest/routes";
import { defaultScopes } from "../auth/scopes";

const ErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
});

const json = (schema: z.ZodType, io: "input" | "output") => ({
  "application/json": { schema: z.toJSONSchema(schema, { io, unrepresentable: "any" }) },
});

const errorResponses = {
  "400": { description: "Invalid input", content: json(ErrorSchema, "output") },
  "401": { description: "Missing or bad API key", content: json(ErrorSchema, "output") },
};

/** 413 PAYLOAD_TOO_LARGE: the body is over the route's limit (400 BODY_TOO_DEEP: nested past JSON_MAX_DEPTH). */
const tooLarge = (limit: string) => ({ description: `Body larger than ${limit} bytes`, content: json(ErrorSchema, "output") });

/** POST routes that take no body. */
const NO_BODY = new Set(["/accounts", "/auth/siwe/nonce", "/auth/siws/nonce", "/auth/ton-proof/payload"]);

/** The OpenAPI 3.1 document of every REST route, generated from the same zod schemas. */
export function buildOpenApi(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of restRoutes) {
    const path = `/api/v1${r.path.replace(/:(\w+)/g, "{$1}")}`;
    const p = r.procedure;
    const pathParams = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    const op: Record<string, unknown> = {
      summary: p.summary,
      // Bearer scopes are not OpenAPI scopes (those are OAuth's), so the key scopes a call needs ride in an extension.
      ...(p.auth ? { security: [{ bearer: [] }], "x-stun-scopes": p.scopes ?? defaultScopes(p.kind) } : {}),
      responses: { [String(r.status ?? 200)]: { description: "OK", content: json(p.output, "output") }, ...errorResponses },
    };
    if (r.method === "POST" && !NO_BODY.has(r.path)) op.requestBody = { required: true, content: json(p.input, "input") };
    if (r.method === "POST") (op.responses as Record<string, unknown>)["413"] = tooLarge(p.tensors ? "BODY_LIMIT" : "JSON_BODY_LIMIT");
    if (r.method === "GET") {
      const schema = z.toJSONSchema(p.input, { io: "input", unrepresentable: "any" }) as { properties?: Record<string, unknown> };
      const q = Object.entries(schema.properties ?? {})
        .filter(([name]) => !pathParams.some((pp) => pp.name === name))
        .map(([name, s]) => ({ name, in: "query", required: false, schema: s }));
      op.parameters = [...pathParams, ...q];
    } else if (pathParams.length) op.parameters = pathParams;
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  paths["/api/v1/health"] = {
    get: {
      summary: "Liveness, and how many providers are online (wait for providers.online before submitting work that must run now)",
      responses: { "200": { description: "OK", content: json(HealthSchema, "output") } },
    },
  };
  paths["/api/v1/openapi.json"] = { get: { summary: "This document", responses: { "200": { description: "OK" } } } };
  paths["/api/v1/models"]!.post = {
    summary: "Upload an ONNX model (the raw file as the body); the same bytes give the same model",
    security: [{ bearer: [] }],
    "x-stun-scopes": ["requester"],
    parameters: Object.keys(UploadModelQuerySchema.shape).map((name) => ({ name, in: "query", schema: { type: "string" } })),
    requestBody: { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
    responses: { "201": { description: "Created", content: json(ModelViewSchema, "output") }, ...errorResponses, "413": tooLarge("MODEL_LIMIT") },
  };
  paths["/api/v1/models/{id}/file"] = {
    get: {
      summary: "Download a model's ONNX file (providers fetch models by this route)",
      security: [{ bearer: [] }],
      "x-stun-scopes": ["read"],
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      responses: { "200": { description: "The ONNX file", content: { "application/octet-stream": {} } } },
    },
  };
  paths["/api/v1/models/{id}/zk/{file}"] = {
    get: {
      summary: "A zk model's circuit.wasm (witness generator), circuit.zkey (proving key) or verification_key.json; 404 until its circuit is ready",
      security: [{ bearer: [] }],
      "x-stun-scopes": ["read"],
      parameters: [
        { name: "id", in: "path", required: true, schema: { type: "string" } },
        { name: "file", in: "path", required: true, schema: { type: "string", enum: ["circuit.wasm", "circuit.zkey", "verification_key.json"] } },
      ],
      responses: { "200": { description: "The file", content: { "application/octet-stream": {}, "application/json": {} } }, ...errorResponses },
    },
  };
  return {
    openapi: "3.1.0",
    info: { title: "Stun marketplace API", version },
    servers: [{ url: "/" }],
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}
