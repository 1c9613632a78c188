/**
 * The GraphQL schema, generated from the procedure table (procedures/index.ts): each query
 * procedure is a Query field and each mutation a Mutation field named `<domain>_<name>`
 * (`tasks_get`, `accounts_faucet`), its arguments the input's top-level properties, its types
 * derived from the zod schemas' JSON Schema (procedures/shapes.ts). `Subscription.taskUpdates`
 * streams task updates from the same relay as socket.io and tRPC. docs/GATEWAYS.md.
 */
import {
  GraphQLBoolean,
  GraphQLError,
  GraphQLFloat,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  valueFromASTUntyped,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigArgumentMap,
  type GraphQLInputType,
  type GraphQLOutputType,
} from "graphql";
import { StunError, TaskUpdateSchema } from "@stun/shared";
import type { AppContext } from "../context";
import { toStunError } from "../errors";
import { callProcedure, procedureEntries, type GatewayCaller } from "../procedures/catalog";
import { fromWire, pascal, shapeOf, toWire, type Field, type Shape } from "../procedures/shapes";
import { openUpdateStream } from "../procedures/watch";

/** What every resolver gets: the app, the caller, and the request body's size (for the JSON_BODY_LIMIT of procedures without tensors). */
export interface GraphqlContext {
  app: AppContext;
  caller: GatewayCaller;
  bodyBytes: number;
  signal: AbortSignal;
}

/** Unions, records (tensor maps) and anything else a GraphQL type cannot say faithfully: any JSON value. */
export const JsonScalar = new GraphQLScalarType({
  name: "JSON",
  description: "Any JSON value: unions, records (tensor maps: name → {dtype, dims, data}) and nested lists, as REST sends them",
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables ?? undefined),
});

/** The GraphQL form of a StunError: `extensions.code` is the stable code, `extensions.status` its HTTP status. */
export function toGraphqlError(e: unknown, log?: AppContext["log"]): GraphQLError {
  if (e instanceof GraphQLError) return e;
  const err = toStunError(e);
  if (err.code === "INTERNAL") log?.error({ err: e }, "graphql call failed");
  return new GraphQLError(err.message, { extensions: { code: err.code, status: err.status, ...(err.details ? { details: err.details } : {}) } });
}

/** The `errors` body of a request refused before GraphQL ran (rate limits, body limits). */
export const graphqlErrorBody = (err: StunError) => ({ errors: [{ message: err.message, extensions: { code: err.code, status: err.status } }] });

const described = (f: Field): string | undefined => {
  const values = f.shape.kind === "string" && f.shape.enum ? `one of: ${f.shape.enum.join(", ")}` : undefined;
  return [f.description, values].filter(Boolean).join(" — ") || undefined;
};

/** The GraphQL scalar of a shape that is not a list or an object (both directions). */
function scalarOf(shape: Exclude<Shape, { kind: "list" | "object" }>): GraphQLScalarType {
  switch (shape.kind) {
    case "string":
      return GraphQLString;
    case "boolean":
      return GraphQLBoolean;
    case "integer":
      return shape.int32 ? GraphQLInt : GraphQLFloat;
    case "number":
      return GraphQLFloat;
    case "json":
      return JsonScalar;
  }
}

/** Builds GraphQL types from shapes, naming each object type by where it was first met and reusing it for identical shapes. */
class TypeBuilder {
  private readonly outputs = new Map<string, GraphQLOutputType>();
  private readonly inputs = new Map<string, GraphQLInputType>();

  output(shape: Shape, name: string): GraphQLOutputType {
    switch (shape.kind) {
      case "list":
        return new GraphQLList(new GraphQLNonNull(this.output(shape.of, name)));
      case "object": {
        if (shape.fields.length === 0) return JsonScalar;
        const key = JSON.stringify(shape);
        const known = this.outputs.get(key);
        if (known) return known;
        const type: GraphQLObjectType = new GraphQLObjectType({
          name,
          fields: () =>
            Object.fromEntries(
              shape.fields.map((f) => {
                const t = this.output(f.shape, `${name}${pascal(f.name)}`);
                return [f.name, { type: f.optional ? t : new GraphQLNonNull(t), description: described(f) }];
              }),
            ),
        });
        this.outputs.set(key, type);
        return type;
      }
      default:
        return scalarOf(shape);
    }
  }

  input(shape: Shape, name: string): GraphQLInputType {
    switch (shape.kind) {
      case "list":
        return new GraphQLList(new GraphQLNonNull(this.input(shape.of, name)));
      case "object": {
        if (shape.fields.length === 0) return JsonScalar;
        const key = JSON.stringify(shape);
        const known = this.inputs.get(key);
        if (known) return known;
        const type = new GraphQLInputObjectType({ name, fields: () => this.args(shape.fields, name) });
        this.inputs.set(key, type);
        return type;
      }
      default:
        return scalarOf(shape);
    }
  }

  args(fields: readonly Field[], name: string): GraphQLFieldConfigArgumentMap {
    return Object.fromEntries(
      fields.map((f) => {
        const t = this.input(f.shape, `${name}${pascal(f.name)}`);
        return [f.name, { type: f.optional ? t : new GraphQLNonNull(t), description: described(f) }];
      }),
    );
  }
}

/** `tasks` + `deleteData` → `tasks_deleteData`: the field name of a table entry. */
export const graphqlFieldName = (domain: string, name: string): string => `${domain}_${name}`;

/** The schema of every procedure in the table, plus `Subscription.taskUpdates`. */
export function buildGraphqlSchema(): GraphQLSchema {
  const types = new TypeBuilder();
  const query: Record<string, GraphQLFieldConfig<unknown, GraphqlContext>> = {};
  const mutation: Record<string, GraphQLFieldConfig<unknown, GraphqlContext>> = {};
  for (const { domain, name, procedure: p } of procedureEntries()) {
    const base = `${pascal(domain)}${pascal(name)}`;
    const inShape = shapeOf(p.input, "input");
    const outShape = shapeOf(p.output, "output");
    const args = inShape.kind === "object" ? types.args(inShape.fields, `${base}Input`) : { input: { type: types.input(inShape, `${base}Input`) } };
    const field: GraphQLFieldConfig<unknown, GraphqlContext> = {
      type: new GraphQLNonNull(types.output(outShape, `${base}Result`)),
      description: `${p.summary}${p.auth ? " (needs an API key)" : ""}`,
      args,
      resolve: async (_source, a: Record<string, unknown>, ctx) => {
        try {
          const { JSON_BODY_LIMIT } = ctx.app.config;
          if (!p.tensors && ctx.bodyBytes > JSON_BODY_LIMIT)
            throw new StunError("PAYLOAD_TOO_LARGE", `the request body is larger than ${JSON_BODY_LIMIT} bytes, the limit of a request without tensors`, { limit: JSON_BODY_LIMIT });
          const decode = () => (inShape.kind === "object" ? fromWire(inShape, a, { jsonText: false }) : a.input);
          return toWire(outShape, await callProcedure(ctx.app, p, { ...ctx.caller, signal: ctx.signal }, decode), { jsonText: false });
        } catch (e) {
          throw toGraphqlError(e, ctx.app.log);
        }
      },
    };
    (p.kind === "query" ? query : mutation)[graphqlFieldName(domain, name)] = field;
  }
  const taskUpdate = types.output(shapeOf(TaskUpdateSchema, "output"), "TaskUpdate");
  const subscription = new GraphQLObjectType<unknown, GraphqlContext>({
    name: "Subscription",
    fields: {
      taskUpdates: {
        type: new GraphQLNonNull(taskUpdate),
        description: "Task status changes of the caller: one task (its status now first, then each change) or, without taskId, every task of its account. TASK_NOT_FOUND for another account's task.",
        args: { taskId: { type: GraphQLID } },
        subscribe: async (_source, a: { taskId?: string | null }, ctx) => {
          try {
            const stream = await openUpdateStream(ctx.app, ctx.caller, a.taskId == null ? {} : { taskId: a.taskId });
            ctx.signal.addEventListener("abort", () => stream.close(), { once: true });
            const it = stream.updates;
            return {
              [Symbol.asyncIterator]() {
                return this;
              },
              next: () => it.next().catch((e: unknown) => Promise.reject(toGraphqlError(e, ctx.app.log))),
              return: (v?: unknown) => {
                stream.close();
                return it.return(v as never);
              },
              throw: (e?: unknown) => {
                stream.close();
                return it.throw(e);
              },
            } as AsyncIterableIterator<unknown>;
          } catch (e) {
            throw toGraphqlError(e, ctx.app.log);
          }
        },
        resolve: (update: unknown) => update,
      },
    },
  });
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: "Query", fields: query }),
    mutation: new GraphQLObjectType({ name: "Mutation", fields: mutation }),
    subscription,
  });
}
