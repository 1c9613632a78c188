/**
 * GraphQL at /api/graphql (graphql-yoga on the Fastify server): queries and mutations over
 * POST (JSON) or GET, `taskUpdates` subscriptions over server-sent events (POST or GET with
 * `Accept: text/event-stream`; graphql-sse's "distinct connections" mode). Same auth as REST
 * (Authorization: Bearer <key>), same body limits as tRPC: JSON_BODY_LIMIT, or BODY_LIMIT with a
 * valid key (and then a field without tensors still refuses a body over JSON_BODY_LIMIT).
 * GraphiQL is off: it loads its page from a CDN, which neither the CSP nor an offline host allows.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { createYoga, type Plugin } from "graphql-yoga";
import { GraphQLError, Kind, type ValidationRule } from "graphql";
import { StunError } from "@stun/shared";
import type { AppContext } from "../context";
import { bearerToken } from "../auth/api-keys";
import { authenticateKey, type KeyAuth } from "../auth/key-auth";
import { addressId } from "../limits/rate-limits";
import type { GatewayCaller } from "../procedures/catalog";
import { buildGraphqlSchema, type GraphqlContext } from "./schema";

export const GRAPHQL_PATH = "/api/graphql";

/** Top-level fields (aliases included) per operation: as tRPC's TRPC_MAX_BATCH, one request must not become thousands of calls. */
export const GRAPHQL_MAX_ROOT_FIELDS = 32;

/** Refuses an operation selecting more than GRAPHQL_MAX_ROOT_FIELDS top-level fields (fragments counted by their fields). */
const limitRootFields: ValidationRule = (context) => ({
  OperationDefinition(op) {
    let count = 0;
    const visit = (set: typeof op.selectionSet, seen: Set<string>) => {
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) count++;
        else if (sel.kind === Kind.INLINE_FRAGMENT) visit(sel.selectionSet, seen);
        else if (!seen.has(sel.name.value)) {
          seen.add(sel.name.value);
          const fragment = context.getFragment(sel.name.value);
          if (fragment) visit(fragment.selectionSet, seen);
        }
      }
    };
    visit(op.selectionSet, new Set());
    if (count > GRAPHQL_MAX_ROOT_FIELDS)
      context.reportError(new GraphQLError(`an operation may select at most ${GRAPHQL_MAX_ROOT_FIELDS} top-level fields (this one selects ${count})`, { nodes: op }));
  },
});

declare module "fastify" {
  interface FastifyRequest {
    /** GraphQL: the caller of a request with a bearer token, found before its body is read. */
    graphqlCaller?: { key: KeyAuth | undefined; authError?: unknown };
  }
}

const rootFieldLimit: Plugin = { onValidate: ({ addValidationRule }) => addValidationRule(limitRootFields) };

type JsonBodyParser = (opts: {
  limitFor(req: FastifyRequest): number;
  maxDepth: number;
  output: "text";
}) => (req: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => void;

/** Mounts GraphQL; `jsonBodyParser` is the HTTP layer's limited JSON reader (passed in: http imports graphql, not the reverse). */
export async function registerGraphql(http: FastifyInstance, app: AppContext, jsonBodyParser: JsonBodyParser): Promise<void> {
  const { BODY_LIMIT, JSON_BODY_LIMIT, JSON_MAX_DEPTH } = app.config;
  const yoga = createYoga<{ req: FastifyRequest }, GraphqlContext>({
    schema: buildGraphqlSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: false,
    landingPage: false,
    logging: false,
    // Errors are GraphQLErrors with the stable code (schema.ts); anything else is masked as
    // "Unexpected error." — never with its message or stack, whatever NODE_ENV says.
    maskedErrors: { isDev: false },
    // As REST: no CORS headers (a browser on another origin cannot send the JSON POST).
    cors: false,
    plugins: [rootFieldLimit],
    context: ({ req, request }) => {
      const bodyBytes = typeof req.body === "string" ? Buffer.byteLength(req.body) : 0;
      const caller: GatewayCaller = { ...(req.graphqlCaller ?? { key: undefined }), ip: addressId(req.ip) };
      return { app, caller, bodyBytes, signal: request.signal };
    },
  });
  await http.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("application/json", jsonBodyParser({ limitFor: (req) => (req.graphqlCaller?.key ? BODY_LIMIT : JSON_BODY_LIMIT), maxDepth: JSON_MAX_DEPTH, output: "text" }));
    // The key is checked before the body is read: only a valid key may send more than JSON_BODY_LIMIT.
    scope.addHook("onRequest", async (req) => {
      const token = bearerToken(req.headers.authorization);
      if (!token) return;
      try {
        req.graphqlCaller = { key: await authenticateKey(app, token) };
      } catch (authError) {
        req.graphqlCaller = { key: undefined, authError };
      }
    });
    scope.route({
      url: GRAPHQL_PATH,
      method: ["GET", "POST"],
      bodyLimit: BODY_LIMIT,
      handler: async (req, reply) => {
        if (req.method === "POST" && (typeof req.body !== "string" || req.body.trim() === "")) {
          throw new StunError("INVALID_JSON", 'send a JSON body {"query": "...", "variables": {...}} with Content-Type: application/json');
        }
        const response = await yoga.handleNodeRequestAndResponse(req, reply, { req });
        for (const [key, value] of response.headers) void reply.header(key, value);
        void reply.status(response.status);
        return reply.send(response.body);
      },
    });
  });
}
