// Writes docs/REST.md from the server's OpenAPI document (`npm run docs:rest`). Run it after changing
// a route, a procedure's summary or a schema; apps/server/test/docs/rest-docs.test.ts fails until then.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildOpenApi } from "../apps/server/src/http/openapi";
import { renderRestDocs, type OpenApiDocument } from "../apps/server/src/http/rest-docs";

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../docs/REST.md");
// The version is not printed, so any value renders the same file.
writeFileSync(out, renderRestDocs(buildOpenApi("docs") as OpenApiDocument));
console.log(`wrote ${path.relative(process.cwd(), out)}`);
