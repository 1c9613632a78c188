/**
 * The wire shapes the generated gateways (GraphQL, gRPC) speak, derived from a procedure's zod
 * schema through its JSON Schema — the same `z.toJSONSchema` the OpenAPI document uses — so
 * neither gateway keeps a schema of its own (docs/GATEWAYS.md "How the schemas are generated").
 *
 * Objects with known properties become object shapes; strings (enums, money, ids), booleans,
 * integers, numbers and lists of those map to each protocol's scalars. What a GraphQL type or a
 * protobuf message cannot say faithfully — unions, records (tensor maps), lists of lists or of
 * nullable items, `$ref`s — is a `json` shape: a JSON scalar in GraphQL, a JSON-text string in gRPC.
 */
import { z } from "zod";
import { StunError } from "@stun/shared";

export type Shape =
  | { kind: "string"; enum?: readonly string[] }
  | { kind: "boolean" }
  /** `int32`: fits a 32-bit signed integer (GraphQL Int, protobuf int32); else up to 2^53 (GraphQL Float, protobuf int64). */
  | { kind: "integer"; int32: boolean }
  | { kind: "number" }
  | { kind: "list"; of: Shape }
  | { kind: "object"; fields: readonly Field[] }
  | { kind: "json" };

export interface Field {
  name: string;
  shape: Shape;
  /** The caller may leave it out (optional, or has a default) or it may be null. */
  optional: boolean;
  /** The value may be null (a nullable schema), as opposed to only absent. */
  nullable: boolean;
  description?: string;
}

type JsonSchema = {
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema | JsonSchema[];
  minimum?: number;
  maximum?: number;
  description?: string;
  default?: unknown;
  $ref?: string;
};

/** `deleteData` → `DeleteData`, `sev-snp` → `SevSnp`: how the gateways name types, messages, services and rpcs. */
export const pascal = (s: string): string => s.replace(/(^|[_\-\s]+)(\w)/g, (_m, _sep, c: string) => c.toUpperCase());

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** The JSON Schema of `schema` as REST/OpenAPI sees it (`io`: the input or the output side). */
export const jsonSchemaOf = (schema: z.ZodType, io: "input" | "output"): JsonSchema => z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;

/** `{ type: X | null }` or `anyOf: [X, null]` → X (and whether null was allowed). */
function withoutNull(s: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  if (Array.isArray(s.type) && s.type.includes("null")) {
    const rest = s.type.filter((t) => t !== "null");
    return { schema: { ...s, type: rest.length === 1 ? rest[0] : rest }, nullable: true };
  }
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives?.some((a) => a.type === "null")) {
    const rest = alternatives.filter((a) => a.type !== "null");
    if (rest.length === 1) return { schema: { ...rest[0], ...(s.description ? { description: s.description } : {}) }, nullable: true };
    return { schema: { anyOf: rest }, nullable: true };
  }
  return { schema: s, nullable: false };
}

/** The wire shape of one JSON Schema. */
export function shapeOfJsonSchema(s: JsonSchema): Shape {
  if (s.$ref || s.allOf || s.anyOf || s.oneOf || Array.isArray(s.type)) return { kind: "json" };
  if (s.const !== undefined) return typeof s.const === "string" ? { kind: "string", enum: [s.const] } : { kind: "json" };
  switch (s.type) {
    case "string":
      return s.enum ? { kind: "string", enum: s.enum as string[] } : { kind: "string" };
    case "boolean":
      return { kind: "boolean" };
    case "integer":
      return { kind: "integer", int32: s.minimum !== undefined && s.maximum !== undefined && s.minimum >= INT32_MIN && s.maximum <= INT32_MAX };
    case "number":
      return { kind: "number" };
    case "array": {
      if (!s.items || Array.isArray(s.items)) return { kind: "json" };
      const item = withoutNull(s.items);
      const of = shapeOfJsonSchema(item.schema);
      // A list of nullable items or of lists has no faithful protobuf field: JSON.
      return item.nullable || of.kind === "list" || of.kind === "json" ? { kind: "json" } : { kind: "list", of };
    }
    case "object": {
      // A record (tensor maps, counts by status) or an object with no known properties: JSON.
      if (typeof s.additionalProperties === "object" || !s.properties || Object.keys(s.properties).length === 0) return { kind: "json" };
      const required = new Set(s.required ?? []);
      const fields = Object.entries(s.properties).map(([name, prop]): Field => {
        const { schema, nullable } = withoutNull(prop);
        const description = prop.description ?? schema.description;
        return { name, shape: shapeOfJsonSchema(schema), optional: !required.has(name) || nullable || prop.default !== undefined, nullable, ...(description ? { description } : {}) };
      });
      return { kind: "object", fields };
    }
    default:
      return { kind: "json" };
  }
}

/** The wire shape of a zod schema (an empty object for an input that takes nothing). */
export function shapeOf(schema: z.ZodType, io: "input" | "output"): Shape {
  const s = jsonSchemaOf(schema, io);
  if (s.type === "object" && (!s.properties || Object.keys(s.properties).length === 0) && s.additionalProperties === undefined) return { kind: "object", fields: [] };
  return shapeOfJsonSchema(s);
}

/**
 * A value as a gateway decoded it → the plain JSON value the procedure's zod schema parses:
 * absent optional fields (null, or a protocol's empty default) are left out, and JSON-text fields
 * (`jsonText`: gRPC) are parsed. Fields the shape does not know are dropped.
 */
export function fromWire(shape: Shape, value: unknown, opts: { jsonText: boolean; path?: string }): unknown {
  const path = opts.path ?? "";
  if (shape.kind === "json" && opts.jsonText) {
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value);
    } catch {
      throw new StunError("VALIDATION_FAILED", `${path || "value"}: not valid JSON text`);
    }
  }
  if (shape.kind === "list" && Array.isArray(value)) return value.map((v, i) => fromWire(shape.of, v, { ...opts, path: `${path}[${i}]` }));
  if (shape.kind === "object" && value !== null && typeof value === "object" && !Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    const record = value as Record<string, unknown>;
    for (const f of shape.fields) {
      const v = record[f.name];
      if (v === undefined) continue;
      if (v === null) {
        if (f.nullable) out[f.name] = null;
        continue;
      }
      // Protobuf cannot tell an absent optional list or JSON text from an empty one.
      if (opts.jsonText && f.optional && ((Array.isArray(v) && v.length === 0) || (f.shape.kind === "json" && v === ""))) continue;
      out[f.name] = fromWire(f.shape, v, { ...opts, path: path ? `${path}.${f.name}` : f.name });
    }
    return out;
  }
  return value;
}

/** A procedure's output → what a gateway encodes: nulls left out, JSON shapes as JSON text when `jsonText` (gRPC). */
export function toWire(shape: Shape, value: unknown, opts: { jsonText: boolean }): unknown {
  if (value === null || value === undefined) return undefined;
  if (shape.kind === "json") return opts.jsonText ? JSON.stringify(value) : value;
  if (shape.kind === "list" && Array.isArray(value)) return value.map((v) => toWire(shape.of, v, opts));
  if (shape.kind === "object" && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const f of shape.fields) {
      const v = toWire(f.shape, (value as Record<string, unknown>)[f.name], opts);
      if (v !== undefined) out[f.name] = v;
    }
    return out;
  }
  return value;
}
