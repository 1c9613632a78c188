// Generates the Prisma client after `npm install`. Prisma's CLI looks for a native schema-engine
// binary it would download from outside the npm registry; `generate` never runs that engine, so we
// point it at /bin/false and stay offline.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const prismaBin = path.join(root, "node_modules", "prisma", "build", "index.js");
if (!existsSync(prismaBin)) {
  console.log("[postinstall] prisma not installed yet; skipping client generation");
  process.exit(0);
}
const result = spawnSync(process.execPath, [prismaBin, "generate", "--schema", path.join(root, "prisma", "schema.prisma")], {
  cwd: root,
  stdio: "inherit",
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? "/bin/false",
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
  },
});
process.exit(result.status ?? 1);
