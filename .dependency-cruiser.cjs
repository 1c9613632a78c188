/**
 * The import rules of apps/server/src (docs/ARCHITECTURE.md "Folders and the direction of
 * imports"), checked by `npm run lint:deps` in .ci/run: no module imports itself back through
 * others (type-only imports count: they tie the modules' types together just the same), and each
 * folder imports only the folders below it in LAYERS, so the folders' arrows point one way.
 * TypeScript 7 has no compiler API for dependency-cruiser to parse with: swc parses.
 */
const SRC = "^apps/server/src/";

/** apps/server/src's folders, lowest first: a folder may import only folders before it. */
const LAYERS = [
  "db",
  "blobs",
  "ledger",
  "chains",
  "auth",
  "tasks",
  "pricing",
  "models",
  "settlement",
  "storage",
  "onnx",
  "zk",
  "tee",
  "qa",
  "scheduler",
  "limits",
  "services",
  "chain",
  "procedures",
  "trpc",
  "graphql",
  "grpc",
  "http",
  "socket",
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle (type-only ones included): context.ts types what it holds by interfaces (ZkCircuits, ChainPort) so that it imports no module that imports it back.",
      from: { path: SRC },
      to: { circular: true },
    },
    ...LAYERS.slice(0, -1).map((layer, i) => ({
      name: `${layer}-imports-only-lower-folders`,
      severity: "error",
      comment: `apps/server/src/${layer}/ may import only ${LAYERS.slice(0, i).join(", ") || "no other folder"} (and the root modules)`,
      from: { path: `${SRC}${layer}/` },
      to: { path: `${SRC}(${LAYERS.slice(i + 1).join("|")})/` },
    })),
    {
      name: "only-the-composition-root-imports-it",
      severity: "error",
      comment: "server.ts, main.ts and index.ts compose the server: no module of it imports them",
      from: { path: SRC, pathNot: `${SRC}(server|main|index)\\.ts$` },
      to: { path: `${SRC}(server|main|index)\\.ts$` },
    },
    {
      name: "every-folder-is-layered",
      severity: "error",
      comment: "a folder of apps/server/src that LAYERS does not place: add it where its imports allow",
      from: { path: `${SRC}[^/]+/`, pathNot: `${SRC}(${LAYERS.join("|")})/` },
      to: {},
    },
  ],
  options: {
    parser: "swc",
    tsPreCompilationDeps: true,
    includeOnly: SRC,
    exclude: { path: `${SRC}db/generated/` },
    doNotFollow: { path: "node_modules" },
    enhancedResolveOptions: { extensions: [".ts", ".mjs", ".js", ".json"] },
  },
};
