/**
 * Compiles Stun's Solidity sources with solc-js (offline, standard JSON) and writes
 *
 * - `contracts/artifacts/<Contract>.json` — ABI, bytecode and deployed bytecode of every deployable
 *   contract (a build cache, gitignored; skipped when the sources' hash is unchanged);
 * - `contracts/src-ts/generated/<Contract>.ts` — the same ABIs as `as const` literals (so viem infers
 *   function names and argument types) plus bytecode, for TypeScript consumers. These are committed;
 *   a test fails when they are older than the sources.
 *
 * Usage: `npx tsx contracts/scripts/compile.ts [--force] [--check]` (`npm run compile -w @stun/contracts`).
 * `--check` compiles to the cache only and exits 1 when the generated TypeScript is stale.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const CONTRACTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ARTIFACTS_DIR = join(CONTRACTS_DIR, "artifacts");
export const GENERATED_DIR = join(CONTRACTS_DIR, "src-ts", "generated");

/** Source roots: production contracts, and test-only helpers (not exported to TypeScript). */
const SOURCE_ROOTS = ["src", "test/solidity"] as const;
/** Contracts the TypeScript package exports (ABI + bytecode). */
export const EXPORTED_CONTRACTS = ["StunToken", "StunGovernor", "TimelockController", "ComputeMarketplace", "Staking", "ZkProofChecker", "MockERC20"] as const;
/**
 * Errors a contract's calls bubble up from a helper contract it calls, added to its exported ABI so
 * that viem decodes them: ComputeMarketplace.settleWithProof reverts with ZkProofChecker's errors,
 * ComputeMarketplace.slash with Staking's.
 */
const BUBBLED_ERRORS: Partial<Record<(typeof EXPORTED_CONTRACTS)[number], readonly string[]>> = {
  ComputeMarketplace: ["ZkProofChecker", "Staking"],
};
/** Contracts from imported libraries that get artifacts too. */
const LIBRARY_CONTRACTS = new Set(["TimelockController"]);

export const SETTINGS = {
  // The IR pipeline: ComputeMarketplace's deployed code is ~4.5 KB smaller than with the legacy
  // one at the same runs (it reuses code across functions), which keeps it well under EIP-170's
  // 24,576 bytes with solc's usual 200 runs (contracts/test/build.test.ts keeps 4 KB of headroom).
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  viaIR: true,
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
} as const;

/** EIP-170: the most bytes of code a contract may deploy. */
export const EIP170_LIMIT = 24_576;
/** Room every deployed contract keeps under EIP-170 for the on-chain work still to come (4 KB). */
export const SIZE_HEADROOM = 4_096;

/** The size of a contract's deployed (runtime) code, in bytes: what EIP-170 limits. */
export const deployedSize = (a: Pick<Artifact, "deployedBytecode">): number => (a.deployedBytecode.length - 2) / 2;

export interface Artifact {
  contractName: string;
  sourceName: string;
  abi: unknown[];
  bytecode: `0x${string}`;
  deployedBytecode: `0x${string}`;
}

const require = createRequire(join(CONTRACTS_DIR, "package.json"));

function listSources(): Map<string, string> {
  const sources = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".sol")) sources.set(relative(CONTRACTS_DIR, path).split(sep).join("/"), readFileSync(path, "utf8"));
    }
  };
  for (const root of SOURCE_ROOTS) {
    const dir = join(CONTRACTS_DIR, root);
    if (existsSync(dir)) walk(dir);
  }
  return sources;
}

function solcVersion(): string {
  return (require("solc/package.json") as { version: string }).version;
}

function ozVersion(): string {
  return (require("@openzeppelin/contracts/package.json") as { version: string }).version;
}

/** Hash of everything the build depends on: compiler, settings, library version, sources. */
export function sourceHash(): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ solc: solcVersion(), oz: ozVersion(), settings: SETTINGS }));
  hash.update(readFileSync(fileURLToPath(import.meta.url))); // this script (what it writes, and how)
  for (const [path, content] of listSources()) hash.update(`\0${path}\0${content}`);
  return hash.digest("hex");
}

function findImport(path: string): { contents: string } | { error: string } {
  try {
    if (path.startsWith("@")) return { contents: readFileSync(require.resolve(path), "utf8") };
    return { contents: readFileSync(join(CONTRACTS_DIR, path), "utf8") };
  } catch (error) {
    return { error: `cannot resolve ${path}: ${(error as Error).message}` };
  }
}

interface SolcOutput {
  errors?: Array<{ severity: "error" | "warning" | "info"; formattedMessage: string }>;
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
}

function runSolc(): Artifact[] {
  const solc = require("solc") as { compile(input: string, options: { import: typeof findImport }): string };
  const sources = Object.fromEntries([...listSources()].map(([path, content]) => [path, { content }]));
  const input = { language: "Solidity", sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  // OpenZeppelin's own warnings (e.g. TransientSlot's note on EIP-1153) are expected; ours are shown.
  const warnings = (output.errors ?? []).filter((e) => e.severity === "warning" && !/^\s*--> @openzeppelin\//m.test(e.formattedMessage));
  for (const w of warnings) console.warn(w.formattedMessage);
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join("\n")}`);

  const artifacts: Artifact[] = [];
  for (const [sourceName, contracts] of Object.entries(output.contracts ?? {})) {
    const own = !sourceName.startsWith("@");
    for (const [contractName, c] of Object.entries(contracts)) {
      if (!own && !LIBRARY_CONTRACTS.has(contractName)) continue;
      // Interfaces and abstract contracts have no bytecode; libraries of internal functions no ABI.
      if (c.evm.bytecode.object.length === 0 || c.abi.length === 0) continue;
      artifacts.push({
        contractName,
        sourceName,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
      });
    }
  }
  return artifacts.sort((a, b) => a.contractName.localeCompare(b.contractName));
}

const HASH_FILE = join(ARTIFACTS_DIR, "source-hash.txt");

/**
 * Compiles into `contracts/artifacts/` unless it is up to date with the sources (or `force`).
 * Returns the artifacts by contract name.
 */
export function compile(options: { force?: boolean; quiet?: boolean } = {}): Map<string, Artifact> {
  const hash = sourceHash();
  const log = options.quiet ? () => {} : (m: string) => console.log(m);
  if (!options.force && existsSync(HASH_FILE) && readFileSync(HASH_FILE, "utf8").trim() === hash) {
    log(`contracts: artifacts up to date (${hash.slice(0, 12)})`);
    return readArtifacts();
  }
  const started = performance.now();
  const artifacts = runSolc();
  rmSync(ARTIFACTS_DIR, { recursive: true, force: true });
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (const a of artifacts) writeFileSync(join(ARTIFACTS_DIR, `${a.contractName}.json`), `${JSON.stringify(a, null, 2)}\n`);
  writeFileSync(HASH_FILE, `${hash}\n`);
  log(`contracts: compiled ${artifacts.length} contracts with solc ${solcVersion()} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const a of artifacts) {
    const size = deployedSize(a);
    log(`  ${a.contractName.padEnd(22)} ${String(size).padStart(6)} bytes deployed${size > EIP170_LIMIT - SIZE_HEADROOM ? "  (less than 4 KB under the EIP-170 limit!)" : ""}`);
  }
  return new Map(artifacts.map((a) => [a.contractName, a]));
}

export function readArtifacts(): Map<string, Artifact> {
  const result = new Map<string, Artifact>();
  for (const file of readdirSync(ARTIFACTS_DIR)) {
    if (!file.endsWith(".json")) continue;
    const a = JSON.parse(readFileSync(join(ARTIFACTS_DIR, file), "utf8")) as Artifact;
    result.set(a.contractName, a);
  }
  return result;
}

function camel(name: string): string {
  return name[0]!.toLowerCase() + name.slice(1);
}

type AbiItem = { type: string; name?: string; inputs?: Array<{ type: string }> };
const signature = (item: AbiItem) => `${item.type} ${item.name}(${(item.inputs ?? []).map((i) => i.type).join(",")})`;

/** `name`'s ABI plus the errors of the helpers in BUBBLED_ERRORS it does not declare itself. */
function exportedAbi(artifacts: Map<string, Artifact>, name: (typeof EXPORTED_CONTRACTS)[number]): unknown[] {
  const abi = artifacts.get(name)!.abi as AbiItem[];
  const seen = new Set(abi.map(signature));
  const extra: AbiItem[] = [];
  for (const helper of BUBBLED_ERRORS[name] ?? []) {
    const h = artifacts.get(helper);
    if (!h) throw new Error(`no artifact for ${helper}`);
    for (const item of h.abi as AbiItem[]) {
      if (item.type === "error" && !seen.has(signature(item))) {
        seen.add(signature(item));
        extra.push(item);
      }
    }
  }
  return [...abi, ...extra];
}

/** The generated TypeScript files, by file name. */
export function generatedFiles(artifacts: Map<string, Artifact>, hash: string): Map<string, string> {
  const files = new Map<string, string>();
  const header = "// Generated by contracts/scripts/compile.ts from the Solidity sources. Do not edit.\n";
  for (const name of EXPORTED_CONTRACTS) {
    const a = artifacts.get(name);
    if (!a) throw new Error(`no artifact for ${name}`);
    files.set(
      `${name}.ts`,
      `${header}\nexport const ${camel(name)}Abi = ${JSON.stringify(exportedAbi(artifacts, name), null, 2)} as const;\n\n` + `export const ${camel(name)}Bytecode = "${a.bytecode}" as const;\n`,
    );
  }
  files.set(
    "index.ts",
    `${header}\n/** Hash of the compiler, its settings and the sources these files were generated from. */\n` +
      `export const SOURCE_HASH = "${hash}";\n\n` +
      EXPORTED_CONTRACTS.map((n) => `export { ${camel(n)}Abi, ${camel(n)}Bytecode } from "./${n}";\n`).join(""),
  );
  return files;
}

/** Names of generated files that differ from what the current sources produce (empty: fresh). */
export function staleGeneratedFiles(artifacts: Map<string, Artifact>): string[] {
  const stale: string[] = [];
  for (const [file, content] of generatedFiles(artifacts, sourceHash())) {
    const path = join(GENERATED_DIR, file);
    if (!existsSync(path) || readFileSync(path, "utf8") !== content) stale.push(file);
  }
  return stale;
}

export function writeGenerated(artifacts: Map<string, Artifact>): void {
  mkdirSync(GENERATED_DIR, { recursive: true });
  for (const [file, content] of generatedFiles(artifacts, sourceHash())) writeFileSync(join(GENERATED_DIR, file), content);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = new Set(process.argv.slice(2));
  const artifacts = compile({ force: args.has("--force") });
  if (args.has("--check")) {
    const stale = staleGeneratedFiles(artifacts);
    if (stale.length > 0) {
      console.error(`contracts: src-ts/generated is stale (${stale.join(", ")}): run npm run compile -w @stun/contracts`);
      process.exit(1);
    }
    console.log("contracts: src-ts/generated is up to date");
  } else {
    writeGenerated(artifacts);
    console.log(`contracts: wrote ${relative(process.cwd(), GENERATED_DIR)}`);
  }
}
