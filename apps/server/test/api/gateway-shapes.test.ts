import { describe, expect, it } from "vitest";
import { z } from "zod";
import { TaskViewSchema } from "@stun/shared";
import { fromWire, shapeOf, toWire } from "../../src/procedures/shapes";

// No database: how the generated gateways read the zod schemas.
describe("gateway wire shapes (procedures/shapes.ts)", () => {
  const Schema = z.object({
    id: z.string(),
    count: z.number().int().min(0).max(100),
    big: z.number().int(),
    ratio: z.number(),
    mode: z.enum(["a", "b"]).default("a"),
    note: z.string().nullable(),
    tags: z.array(z.string()).optional(),
    byName: z.record(z.string(), z.number()),
    either: z.union([z.string(), z.number()]),
    grid: z.array(z.array(z.number())),
    nested: z.object({ ok: z.boolean() }).optional(),
  });

  it("maps scalars, lists and objects, and what no protocol type says faithfully to JSON", () => {
    const shape = shapeOf(Schema, "input");
    if (shape.kind !== "object") throw new Error("not an object");
    const byName = Object.fromEntries(shape.fields.map((f) => [f.name, f]));
    expect(byName.id).toMatchObject({ shape: { kind: "string" }, optional: false });
    expect(byName.count!.shape).toEqual({ kind: "integer", int32: true });
    expect(byName.big!.shape).toEqual({ kind: "integer", int32: false });
    expect(byName.ratio!.shape).toEqual({ kind: "number" });
    expect(byName.mode).toMatchObject({ shape: { kind: "string", enum: ["a", "b"] }, optional: true });
    expect(byName.note).toMatchObject({ shape: { kind: "string" }, optional: true, nullable: true });
    expect(byName.tags).toMatchObject({ shape: { kind: "list", of: { kind: "string" } }, optional: true });
    for (const json of ["byName", "either", "grid"]) expect(byName[json]!.shape, json).toEqual({ kind: "json" });
    expect(byName.nested!.shape).toEqual({ kind: "object", fields: [{ name: "ok", shape: { kind: "boolean" }, optional: false, nullable: false }] });
  });

  it("reads JSON text and protobuf's empty defaults back into what the zod schema parses", () => {
    const shape = shapeOf(Schema, "input");
    const decoded = { id: "x", count: 3, big: 2 ** 40, ratio: 0.5, mode: "b", note: null, tags: [], byName: '{"a":1}', either: '"s"', grid: "[[1,2]]", nested: null, stray: 1 };
    const input = fromWire(shape, decoded, { jsonText: true });
    expect(input).toEqual({ id: "x", count: 3, big: 2 ** 40, ratio: 0.5, mode: "b", note: null, byName: { a: 1 }, either: "s", grid: [[1, 2]] });
    expect(Schema.parse(input)).toMatchObject({ byName: { a: 1 } });
    expect(() => fromWire(shape, { ...decoded, byName: "{nope" }, { jsonText: true })).toThrow(/byName: not valid JSON text/);
    // GraphQL hands JSON values over as they are.
    expect(fromWire(shape, { byName: { a: 1 } }, { jsonText: false })).toEqual({ byName: { a: 1 } });
  });

  it("writes outputs with nulls left out and JSON shapes as text for gRPC", () => {
    const shape = shapeOf(TaskViewSchema, "output");
    const out = toWire(shape, { id: "t", status: "completed", outputs: { y: { dtype: "float32", dims: [1], data: "AAAAAA==" } }, cost: null }, { jsonText: true }) as Record<string, unknown>;
    expect(out).toEqual({ id: "t", status: "completed", outputs: '{"y":{"dtype":"float32","dims":[1],"data":"AAAAAA=="}}' });
  });
});
