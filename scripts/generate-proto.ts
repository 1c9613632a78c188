// Writes docs/stun.proto, the gRPC gateway's protobuf, from the procedure table (`npm run docs:proto`).
// Run it after changing a procedure or a schema; apps/server/test/docs/proto-docs.test.ts fails until then.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { emitProto } from "../apps/server/src/grpc/proto";

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../docs/stun.proto");
writeFileSync(out, emitProto());
console.log(`wrote ${path.relative(process.cwd(), out)}`);
