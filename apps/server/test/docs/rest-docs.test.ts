import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildOpenApi } from "../../src/http/openapi";
import { renderRestDocs, renderSchema, type OpenApiDocument } from "../../src/http/rest-docs";

// No database: the OpenAPI document is built from the procedure table alone.
const REST_MD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../docs/REST.md");
const doc = buildOpenApi("test") as OpenApiDocument;

describe("docs/REST.md, generated from the OpenAPI document", () => {
  it("is up to date (run `npm run docs:rest` after changing a route, summary or schema)", () => {
    expect(readFileSync(REST_MD, "utf8")).toBe(renderRestDocs(doc));
  });

  it("lists every route of the document with its auth", () => {
    const md = renderRestDocs(doc);
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) expect(md, `${method} ${p}`).toContain(`### \`${method.toUpperCase()} ${p}\``);
    }
    expect(md).toMatch(/\| POST \| \[`\/api\/v1\/tasks`\]\(#post-apiv1tasks\) \| API key, scope `requester` \|/);
    expect(md).toMatch(/\| GET \| \[`\/api\/v1\/health`\]\(#get-apiv1health\) \| none \|/);
  });

  it("does not depend on the server version", () => {
    expect(renderRestDocs(buildOpenApi("9.9.9") as OpenApiDocument)).toBe(renderRestDocs(doc));
  });

  it("renders schemas as compact types: optional fields, enums, bounds, records, arrays", () => {
    expect(
      renderSchema({
        type: "object",
        properties: {
          limit: { type: "integer", minimum: 1, maximum: 500, default: 100 },
          status: { type: "string", enum: ["queued", "completed"] },
          tags: { type: "array", items: { type: "string" }, maxItems: 8 },
          extra: { type: "object", additionalProperties: { type: "number" } },
        },
        required: ["status"],
      }),
    ).toBe(["{", "  limit?: integer (1–500, default 100);", '  status: "queued" | "completed";', "  tags?: string[] (≤ 8 items);", "  extra?: Record<string, number>;", "}"].join("\n"));
    // Short enough for one line, it stays on one.
    expect(renderSchema({ type: "object", properties: { id: { type: "string" }, at: { type: ["string", "null"] } }, required: ["id"] })).toBe("{ id: string; at?: string | null }");
  });
});
