/**
 * Compiles the Tolk contracts with @ton/tolk-js (WebAssembly, offline) and caches each compiled
 * code cell by the hash of its sources and the compiler version in contracts-ton/build (gitignored),
 * so a clean clone compiles on demand and later runs reuse the cache.
 *
 * `npx tsx contracts-ton/src-ts/compile.ts` compiles every contract and prints its code hash.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Cell } from "@ton/core";
import { getTolkCompilerVersion, runTolkCompiler } from "@ton/tolk-js";

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Where the Tolk sources live. */
export const SOURCE_DIR = join(packageRoot, "src");
/** Where compiled code is cached (gitignored). */
export const BUILD_DIR = join(packageRoot, "build");

/** The contracts this package compiles: entry file names in src/. */
export type ContractName = "marketplace" | "test-jetton-minter" | "test-jetton-wallet";

function sourcesHash(version: string): string {
  const hash = createHash("sha256").update(version);
  for (const file of readdirSync(SOURCE_DIR)
    .filter((f) => f.endsWith(".tolk"))
    .sort()) {
    hash
      .update(file)
      .update("\0")
      .update(readFileSync(join(SOURCE_DIR, file)))
      .update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/** Compiles `name` (or reads it from the cache) and returns its code cell. */
export async function compileContract(name: ContractName): Promise<Cell> {
  const version = await getTolkCompilerVersion();
  const cached = join(BUILD_DIR, `${name}.${sourcesHash(version)}.boc`);
  if (existsSync(cached)) return Cell.fromBoc(readFileSync(cached))[0] as Cell;
  const result = await runTolkCompiler({
    entrypointFileName: `${name}.tolk`,
    fsReadCallback: (path) => readFileSync(join(SOURCE_DIR, path), "utf8"),
  });
  if (result.status === "error") throw new Error(`Tolk compilation of ${name} failed:\n${result.message}`);
  const code = Cell.fromBase64(result.codeBoc64);
  mkdirSync(BUILD_DIR, { recursive: true });
  // write then rename: test files compiling in parallel never read a half-written cache entry
  const partial = `${cached}.${process.pid}.tmp`;
  writeFileSync(partial, code.toBoc());
  renameSync(partial, cached);
  return code;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const name of ["marketplace", "test-jetton-wallet", "test-jetton-minter"] as const) {
    const code = await compileContract(name);
    console.log(`${name}: code hash ${code.hash().toString("hex")}, ${code.toBoc().length} bytes BOC`);
  }
}
