import { defineConfig } from "vitest/config";

// One Vitest run covers every workspace. The server's integration suite runs twice: once on
// embedded PGlite and once on real PostgreSQL (see apps/server/test/support/database.ts for how the
// PostgreSQL run behaves when no server is reachable).
export default defineConfig({
  // graphql 16 ships CJS (main) and ESM (module) copies: Node (and graphql-yoga, loaded by Node)
  // takes the CJS one, Vite would take the ESM one for the server's own imports, and graphql refuses
  // a schema built by "another realm". Every test imports the copy Node does.
  resolve: { alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }] },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "shared",
          root: "packages/shared",
          include: ["test/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          // TEE evidence: real TDX quotes and SEV-SNP reports (recorded fixtures), policy, sealing.
          name: "tee",
          root: "packages/tee",
          include: ["test/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          // The provider session and helpers both agents share, against a real socket.io server and real HTTP.
          name: "provider-core",
          root: "packages/provider-core",
          include: ["test/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "sdk",
          root: "packages/sdk",
          include: ["test/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "provider",
          root: "apps/provider-native",
          include: ["test/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          // The web app in real Chromium against the real server (apps/web/test/support): the global
          // setup runs `next build` once when apps/web/out is stale.
          name: "web",
          root: "apps/web",
          include: ["test/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          env: { STUN_TEST_DB: "pglite", NEXT_TELEMETRY_DISABLED: "1" },
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // A poll waits for a condition (a page rendered, a row shown): vitest's default 1 s made it
          // a wall-clock assertion that a loaded machine failed (wallet-rails after a reload).
          expect: { poll: { timeout: 30_000 } },
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // Solidity on a real EVM: each file starts its own anvil (contracts/src-ts/anvil.ts);
          // the global setup compiles the sources once (cached by their hash in contracts/artifacts).
          name: "contracts",
          root: "contracts",
          include: ["test/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // The TON marketplace (Tolk) in @ton/sandbox; contracts compile on demand (@ton/tolk-js),
          // cached by their sources' hash in contracts-ton/build.
          name: "contracts-ton",
          root: "contracts-ton",
          include: ["test/**/*.test.ts"],
          testTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // circom circuits and real Groth16 proofs (snarkjs): the global setup builds the development
          // powers of tau (2^11, ~1 min cold) and the result-commitment keys once, cached in circuits/.cache.
          name: "circuits",
          root: "circuits",
          include: ["test/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
      {
        extends: true,
        test: {
          name: "server-pglite",
          root: "apps/server",
          include: ["test/**/*.test.ts"],
          env: { STUN_TEST_DB: "pglite" },
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: "server-postgres",
          root: "apps/server",
          include: ["test/**/*.test.ts"],
          env: { STUN_TEST_DB: "postgres" },
          fileParallelism: false,
        },
      },
    ],
  },
});
