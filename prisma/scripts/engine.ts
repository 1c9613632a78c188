/**
 * Drives Prisma's WASM schema engine (@prisma/schema-engine-wasm) offline: the CLI's native engine
 * cannot be downloaded here (see /work/shared/OFFLINE.md). Used only by developer tooling
 * (`npm run db:migration`, the migrations-in-sync test), never by the server at runtime: the engine
 * is slow to start and leaves a ~10 s timer behind, so scripts must exit explicitly.
 */
import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { MigrationList, SchemaEngine } from "@prisma/schema-engine-wasm";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SCHEMA_PATH = path.join(ROOT, "prisma", "schema.prisma");
export const MIGRATIONS_DIR = path.join(ROOT, "prisma", "migrations");

type Bg = typeof import("@prisma/schema-engine-wasm/schema_engine_bg");
let bgPromise: Promise<Bg> | undefined;

/** The WebAssembly global (the project's `lib` setting has no WebAssembly typings). */
function wasmApi(): { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: unknown } }> } {
  return (globalThis as unknown as { WebAssembly: ReturnType<typeof wasmApi> }).WebAssembly;
}

/** Instantiates the engine's WASM module once per process (Node cannot `import` a .wasm file). */
async function loadEngineModule(): Promise<Bg> {
  bgPromise ??= (async () => {
    const require = createRequire(import.meta.url);
    const bgPath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const bg = (await import("@prisma/schema-engine-wasm/schema_engine_bg")) as Bg & {
      __wbg_set_wasm(v: unknown): void;
    };
    const bytes = readFileSync(path.join(path.dirname(bgPath), "schema_engine_bg.wasm"));
    const { instance } = await wasmApi().instantiate(bytes, { "./schema_engine_bg.js": bg });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
    return bg;
  })();
  return bgPromise;
}

/** The migrations folder as the engine reads it (directories sorted by name). */
export function readMigrationList(dir = MIGRATIONS_DIR): MigrationList {
  const lockPath = path.join(dir, "migration_lock.toml");
  const dirs = existsSync(dir)
    ? readdirSync(dir)
        .filter((d) => statSync(path.join(dir, d)).isDirectory())
        .sort()
    : [];
  return {
    baseDir: dir,
    lockfile: { path: "migration_lock.toml", content: existsSync(lockPath) ? readFileSync(lockPath, "utf8") : null },
    shadowDbInitScript: "",
    migrationDirectories: dirs.map((d) => {
      const file = path.join(dir, d, "migration.sql");
      return {
        path: d,
        migrationFile: {
          path: "migration.sql",
          content: existsSync(file) ? { tag: "ok" as const, value: readFileSync(file, "utf8") } : { tag: "error" as const, value: `missing ${file}` },
        },
      };
    }),
  };
}

/**
 * SQL that takes a database built from the migrations folder to the state `schema.prisma`
 * describes. Empty string when they are in sync. The engine replays the migrations on a throwaway
 * in-memory PGlite (the adapter's shadow database).
 */
export async function diffMigrationsToSchema(opts: { schemaPath?: string; migrationsDir?: string } = {}): Promise<string> {
  const schemaPath = opts.schemaPath ?? SCHEMA_PATH;
  const list = readMigrationList(opts.migrationsDir);
  const schema = readFileSync(schemaPath, "utf8");
  const bg = await loadEngineModule();
  const pg = new PGlite();
  const logs: string[] = [];
  let engine: SchemaEngine | undefined;
  try {
    const factory = bindMigrationAwareSqlAdapterFactory(new PrismaPGlite(pg));
    engine = await bg.SchemaEngine.new({ datamodels: [[schemaPath, schema]] }, (msg: string) => logs.push(msg), factory);
    const result = await engine.diff({
      from: list.migrationDirectories.length > 0 ? { tag: "migrations", ...list } : { tag: "empty" },
      to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    const out = result.stdout ?? "";
    return isEmptyScript(out) ? "" : out;
  } finally {
    engine?.free();
    await pg.close();
  }
}

/** The engine prints a comment-only script ("-- This is an empty migration.") when nothing changes. */
function isEmptyScript(sql: string): boolean {
  return sql
    .split("\n")
    .map((l) => l.trim())
    .every((l) => l === "" || l.startsWith("--"));
}
