/**
 * The `.proto` of the gRPC gateway, emitted from the procedure table (procedures/index.ts): one
 * service per domain (`stun.v1.Accounts`, `stun.v1.Tasks`, …), one rpc per procedure (its name in
 * PascalCase: `tasks.deleteData` → `Tasks.DeleteData`), request and response messages derived
 * from the zod schemas' JSON Schema (procedures/shapes.ts), plus the server-streaming
 * `Tasks.WatchTask`. `npm run docs:proto` writes it to docs/stun.proto. docs/GATEWAYS.md.
 */
import { TaskUpdateSchema, TaskWatchSchema } from "@stun/shared";
import { procedureEntries } from "../procedures/catalog";
import { pascal, shapeOf, type Field, type Shape } from "../procedures/shapes";

export const PROTO_PACKAGE = "stun.v1";

/** The rpc of a table entry: `deleteData` → `DeleteData`. */
export const rpcName = (name: string): string => pascal(name);
/** The service of a table domain: `tasks` → `Tasks`. */
export const serviceName = (domain: string): string => pascal(domain);

/** The streaming rpc of task updates, in the Tasks service. */
export const WATCH_RPC = { service: "Tasks", rpc: "WatchTask", request: TaskWatchSchema, response: TaskUpdateSchema } as const;

interface Message {
  name: string;
  fields: string[];
}

/** Emits messages for shapes: each object shape once (identical shapes share the first name met). */
class MessageBuilder {
  readonly messages: Message[] = [];
  private readonly byShape = new Map<string, string>();

  /**
   * The message name of an object shape (a non-object top-level shape is wrapped: `string json = 1`,
   * JSON text). Each rpc has request and response messages of its own (`own`); nested ones are shared.
   */
  message(shape: Shape, name: string, own = false): string {
    const fields: readonly Field[] = shape.kind === "object" ? shape.fields : [{ name: "json", shape: { kind: "json" }, optional: false, nullable: false }];
    const key = JSON.stringify(fields);
    const known = own ? undefined : this.byShape.get(key);
    if (known) return known;
    if (!this.byShape.has(key)) this.byShape.set(key, name);
    const message: Message = { name, fields: [] };
    this.messages.push(message);
    fields.forEach((f, i) => {
      const { type, repeated, json } = this.fieldType(f.shape, `${name}${pascal(f.name)}`);
      const notes = [
        f.description,
        f.shape.kind === "string" && f.shape.enum ? `one of: ${f.shape.enum.join(", ")}` : undefined,
        json ? "JSON text" : undefined,
        f.nullable ? "absent when null" : undefined,
      ].filter(Boolean);
      const label = repeated ? "repeated " : f.optional && type !== "message" ? "optional " : "";
      message.fields.push(
        `${notes.length ? `  // ${notes.join("; ").replace(/\s*\n\s*/g, " ")}\n` : ""}  ${label}${type === "message" ? this.message(f.shape.kind === "list" ? f.shape.of : f.shape, `${name}${pascal(f.name)}`) : type} ${f.name} = ${i + 1};`,
      );
    });
    return name;
  }

  private fieldType(shape: Shape, name: string): { type: string; repeated: boolean; json: boolean } {
    switch (shape.kind) {
      case "string":
        return { type: "string", repeated: false, json: false };
      case "boolean":
        return { type: "bool", repeated: false, json: false };
      case "integer":
        return { type: shape.int32 ? "int32" : "int64", repeated: false, json: false };
      case "number":
        return { type: "double", repeated: false, json: false };
      case "json":
        return { type: "string", repeated: false, json: true };
      case "object":
        return { type: shape.fields.length === 0 ? "string" : "message", repeated: false, json: shape.fields.length === 0 };
      case "list":
        return { ...this.fieldType(shape.of, name), repeated: true };
    }
  }
}

/** The protobuf text of every procedure of the table. */
export function emitProto(): string {
  const messages = new MessageBuilder();
  const services = new Map<string, string[]>();
  for (const { domain, name, procedure: p } of procedureEntries()) {
    const base = `${pascal(domain)}${pascal(name)}`;
    const request = messages.message(shapeOf(p.input, "input"), `${base}Request`, true);
    const response = messages.message(shapeOf(p.output, "output"), `${base}Response`, true);
    const rpcs = services.get(serviceName(domain)) ?? [];
    rpcs.push(`  // ${p.summary.replace(/\s*\n\s*/g, " ")}${p.auth ? " (needs an API key)" : ""}\n  rpc ${rpcName(name)}(${request}) returns (${response});`);
    services.set(serviceName(domain), rpcs);
  }
  const watchRequest = messages.message(shapeOf(WATCH_RPC.request, "input"), "WatchTaskRequest", true);
  const watchResponse = messages.message(shapeOf(WATCH_RPC.response, "output"), "TaskUpdate", true);
  services
    .get(WATCH_RPC.service)
    ?.push(
      `  // Task status changes of the caller: one task (its status now first, then each change) or, without taskId, every task of its account. NOT_FOUND (stun-code TASK_NOT_FOUND) for another account's task.\n  rpc ${WATCH_RPC.rpc}(${watchRequest}) returns (stream ${watchResponse});`,
    );
  return [
    "// GENERATED from apps/server/src/procedures (the procedure table and its zod schemas) by `npm run docs:proto`: do not edit.",
    "// Field names are the JSON names REST uses; money is a decimal string; fields marked JSON text carry a JSON value. docs/GATEWAYS.md.",
    'syntax = "proto3";',
    "",
    `package ${PROTO_PACKAGE};`,
    "",
    ...[...services].map(([service, rpcs]) => `service ${service} {\n${rpcs.join("\n")}\n}\n`),
    ...messages.messages.map((m) => `message ${m.name} {\n${m.fields.join("\n")}${m.fields.length ? "\n" : ""}}\n`),
  ].join("\n");
}
