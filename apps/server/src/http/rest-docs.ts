/**
 * Renders the OpenAPI document (`buildOpenApi`) as docs/REST.md, so the REST reference is written
 * by the same zod schemas as the handlers instead of by hand (scripts/generate-rest-docs.ts writes
 * it; apps/server/test/docs/rest-docs.test.ts fails when the committed file is stale).
 *
 * The output depends only on the document: paths and methods are sorted, properties keep their
 * schema order, and nothing time- or machine-dependent (the server version included) is printed,
 * so two runs on any machine give the same bytes.
 */

type Schema = Record<string, unknown>;
interface Operation {
  summary?: string;
  security?: unknown[];
  "x-stun-scopes"?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
}

const METHOD_ORDER = ["get", "post", "put", "patch", "delete"];
/** Lines longer than this are broken over several, one property per line. */
const WIDTH = 100;

/** Bounds and default of a scalar, as `1–500, default 100`. */
function facets(s: Schema): string {
  const parts: string[] = [];
  const min = s.minimum ?? s.exclusiveMinimum ?? s.minLength;
  const max = s.maximum ?? s.exclusiveMaximum ?? s.maxLength;
  if (min !== undefined || max !== undefined) {
    const lo = s.exclusiveMinimum !== undefined ? "> " : "≥ ";
    const hi = s.exclusiveMaximum !== undefined ? "< " : "≤ ";
    const range =
      min !== undefined && max !== undefined && s.exclusiveMinimum === undefined && s.exclusiveMaximum === undefined
        ? `${String(min)}–${String(max)}`
        : [min !== undefined ? `${lo}${String(min)}` : "", max !== undefined ? `${hi}${String(max)}` : ""].filter(Boolean).join(", ");
    parts.push(s.minLength !== undefined || s.maxLength !== undefined ? `length ${range}` : range);
  }
  if (s.pattern !== undefined) parts.push(`/${String(s.pattern)}/`);
  if (s.format !== undefined) parts.push(String(s.format));
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** A JSON Schema as a compact TypeScript-like type, indented by `pad` when it spans lines. */
export function renderSchema(s: Schema | undefined, pad = ""): string {
  if (!s || Object.keys(s).filter((k) => k !== "$schema").length === 0) return "unknown";
  const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (alts) return alts.map((a) => renderSchema(a, pad)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (Array.isArray(s.type)) return s.type.map((t) => renderSchema({ ...s, type: t }, pad)).join(" | ");
  switch (s.type) {
    case "object": {
      const props = (s.properties ?? {}) as Record<string, Schema>;
      const names = Object.keys(props);
      if (names.length === 0) {
        const extra = s.additionalProperties;
        return extra && typeof extra === "object" ? `Record<string, ${renderSchema(extra as Schema, pad)}>` : "{}";
      }
      const required = new Set((s.required ?? []) as string[]);
      const inner = `${pad}  `;
      const fields = names.map((n) => `${n}${required.has(n) ? "" : "?"}: ${renderSchema(props[n], inner)}`);
      const oneLine = `{ ${fields.join("; ")} }`;
      if (!oneLine.includes("\n") && pad.length + oneLine.length <= WIDTH) return oneLine;
      return `{\n${fields.map((f) => `${inner}${f};`).join("\n")}\n${pad}}`;
    }
    case "array": {
      const item = renderSchema(s.items as Schema | undefined, pad);
      const bounds = facets({ minimum: s.minItems, maximum: s.maxItems });
      return `${item.includes(" | ") && !item.startsWith("{") ? `(${item})` : item}[]${bounds ? bounds.replace(/\)$/, " items)") : ""}`;
    }
    case "integer":
    case "number":
    case "string":
    case "boolean":
    case "null":
      return `${s.type}${facets(s)}`;
    default:
      return "unknown";
  }
}

function fence(code: string): string {
  return `\`\`\`ts\n${code}\n\`\`\``;
}

function authOf(op: Operation): string {
  if (!op.security?.length) return "none";
  const scopes = op["x-stun-scopes"];
  return scopes?.length ? `API key, scope ${scopes.map((s) => `\`${s}\``).join(" or ")}` : "API key";
}

/** `#get-apiv1tasksid`-style anchor of a route heading, as GitHub makes it. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, "")
    .replace(/ /g, "-");
}

function routes(doc: OpenApiDocument): { method: string; path: string; op: Operation }[] {
  const out: { method: string; path: string; op: Operation }[] = [];
  for (const path of Object.keys(doc.paths).sort()) {
    const ops = doc.paths[path]!;
    for (const method of Object.keys(ops).sort((a, b) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b))) {
      out.push({ method: method.toUpperCase(), path, op: ops[method]! });
    }
  }
  return out;
}

function renderRoute(method: string, path: string, op: Operation): string {
  const lines: string[] = [`### \`${method} ${path}\``, "", op.summary ?? "", "", `- **Auth:** ${authOf(op)}`];
  for (const p of op.parameters ?? []) {
    lines.push(`- **${p.in} \`${p.name}\`**${p.required ? " (required)" : ""}: \`${renderSchema(p.schema)}\``);
  }
  for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
    const schema = renderSchema(media.schema);
    lines.push(`- **Request body** (\`${type}\`)${schema.includes("\n") || schema.length > 60 ? ":" : `: \`${schema}\``}`);
    if (schema.includes("\n") || schema.length > 60) lines.push("", fence(schema), "");
  }
  const responses = op.responses ?? {};
  for (const status of Object.keys(responses).sort()) {
    const r = responses[status]!;
    const media = Object.entries(r.content ?? {});
    const error = status >= "400";
    const head = `- **${status}** ${r.description ?? ""}${media.length ? ` (${media.map(([t]) => `\`${t}\``).join(", ")})` : ""}`;
    // Every error body is the same envelope; print it once at the top rather than per route.
    const schema = !error && media.length === 1 && media[0]![1].schema ? renderSchema(media[0]![1].schema) : undefined;
    if (!schema) lines.push(head);
    else if (schema.includes("\n") || schema.length > 60) lines.push(`${head}:`, "", fence(schema), "");
    else lines.push(`${head}: \`${schema}\``);
  }
  return lines
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trimEnd();
}

/** docs/REST.md from the OpenAPI document. */
export function renderRestDocs(doc: OpenApiDocument): string {
  const all = routes(doc);
  const errorEnvelope = Object.values(doc.paths)
    .flatMap((ops) => Object.values(ops))
    .map((op) => op.responses?.["400"]?.content?.["application/json"]?.schema)
    .find((s) => s !== undefined);
  const out = [
    "<!-- Generated from the server's OpenAPI document by `npm run docs:rest` (scripts/generate-rest-docs.ts). Do not edit by hand: apps/server/test/docs/rest-docs.test.ts fails when this file is stale. -->",
    "",
    "# REST reference",
    "",
    "Every route the server's OpenAPI 3.1 document (`GET /api/v1/openapi.json`, built by",
    "`apps/server/src/http/openapi.ts` from the same zod schemas as the handlers) describes. Amounts are",
    "strings of integer base units. An API key goes in `Authorization: Bearer <apiKey>`; a key may always",
    "read, `admin` may call everything (scopes: [CONCEPTS.md → API keys](CONCEPTS.md#api-keys-scopes-expiry-revocation)).",
    "Conventions, the submit and task bodies, tensor JSON, the stable error codes, tRPC and metrics:",
    "[API.md](API.md).",
    "",
    ...(errorEnvelope ? ["Every error answers with the same body:", "", fence(renderSchema(errorEnvelope)), ""] : []),
    "| method | path | auth | summary |",
    "|---|---|---|---|",
    ...all.map(({ method, path, op }) => {
      const heading = `${method} ${path}`;
      return `| ${method} | [\`${path}\`](#${anchor(heading)}) | ${authOf(op)} | ${(op.summary ?? "").replace(/\|/g, "\\|")} |`;
    }),
    "",
    "## Routes",
    "",
    ...all.flatMap(({ method, path, op }) => [renderRoute(method, path, op), ""]),
  ];
  return out.join("\n");
}
