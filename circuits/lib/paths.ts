/** Where @stun/circuits keeps its sources, caches and build outputs, and where its tools live. */
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The `circuits/` workspace. */
export const CIRCUITS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Hand-written circom templates (circomlib style: one template per file). */
export const SRC_DIR = join(CIRCUITS_DIR, "src");
/**
 * Build cache (gitignored): powers of tau, compiled circuits and proving keys, each in a folder
 * keyed by a hash of what made it. `STUN_ZK_CACHE` moves it (e.g. to a persistent volume).
 */
export const CACHE_DIR = process.env.STUN_ZK_CACHE ? resolve(process.env.STUN_ZK_CACHE) : join(CIRCUITS_DIR, ".cache");
/** Exported artifacts for other workspaces (Solidity verifiers, verification keys). */
export const BUILD_DIR = join(CIRCUITS_DIR, "build");

const require = createRequire(join(CIRCUITS_DIR, "package.json"));

/** circomlib's templates (poseidon.circom, bitify.circom, …). */
export const CIRCOMLIB_DIR = join(dirname(require.resolve("circomlib/package.json")), "circuits");
/** circom 2 compiled to WASM (npm circom2). */
export const CIRCOM_CLI = require.resolve("circom2/cli.js");
export const CIRCOM2_VERSION: string = (require("circom2/package.json") as { version: string }).version;
/** snarkjs's version (its package.json is not exported, so read it from the file). */
export const SNARKJS_VERSION: string = (() => {
  const main = require.resolve("snarkjs"); // …/snarkjs/build/main.cjs
  return (require(join(dirname(main), "..", "package.json")) as { version: string }).version;
})();
