import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as protoLoader from "@grpc/proto-loader";
import { emitProto, PROTO_PACKAGE, rpcName, serviceName } from "../../src/grpc/proto";
import { PROTO_LOADER_OPTIONS } from "../../src/grpc/server";
import { procedureEntries } from "../../src/procedures/catalog";

// No database: the proto is emitted from the procedure table alone.
const PROTO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../docs/stun.proto");

describe("docs/stun.proto, emitted from the procedure table", () => {
  it("is up to date (run `npm run docs:proto` after changing a procedure or a schema)", () => {
    expect(readFileSync(PROTO, "utf8")).toBe(emitProto());
  });

  it("has an rpc for every procedure, and the streaming WatchTask", () => {
    const def = protoLoader.loadSync(PROTO, PROTO_LOADER_OPTIONS);
    for (const { domain, name } of procedureEntries()) {
      const service = def[`${PROTO_PACKAGE}.${serviceName(domain)}`] as Record<string, { responseStream: boolean }> | undefined;
      expect(service?.[rpcName(name)], `${domain}.${name}`).toMatchObject({ responseStream: false });
    }
    expect((def[`${PROTO_PACKAGE}.Tasks`] as Record<string, { responseStream: boolean }>).WatchTask).toMatchObject({ responseStream: true });
  });
});
