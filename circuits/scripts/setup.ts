/**
 * Trusted setup for development and tests, and the exported verifiers.
 *
 *   npx tsx circuits/scripts/setup.ts [--power 11] [--ptau file.ptau] [--capacity 16,32] [--model m.onnx --name MyModel]
 *
 * 1. Powers of tau (phase 1): the local, deterministic development ceremony of 2^power
 *    (newAccumulator → deterministic contribution → beacon → preparePhase2; lib/ptau.ts), cached in
 *    circuits/.cache/ptau/. INSECURE: its entropy is a public string, so anyone can forge proofs
 *    against keys made from it. It exists so that development keys are reproducible (the same
 *    inputs give byte-identical keys and verifiers on every machine).
 *    Production: pass a prepared file from a public ceremony — the perpetual powers of tau
 *    `powersOfTau28_hez_final_<n>.ptau` (Hermez/Polygon) — with --ptau or STUN_PTAU, and run the
 *    phase-2 contributions below with independent contributors (see circuits/README.md).
 * 2. Phase 2 per circuit: Groth16 keys for the result-commitment circuit(s) (a deterministic beacon
 *    contribution in development; lib/keys.ts), cached in circuits/.cache/keys/.
 * 3. Exports for the contracts: circuits/build/ResultCommitmentVerifier.sol (+ .vkey.json; committed,
 *    a test checks they are current) and, with --model, circuits/build/<Name>Verifier.sol for an ONNX
 *    model's zkML circuit.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { commitmentCircuit, compileModelCircuit, devPtau, exportCommitmentVerifier, exportModelVerifier, shutdownZk, TEST_PTAU_POWER } from "../index";

const { values: args } = parseArgs({
  options: {
    power: { type: "string", default: String(TEST_PTAU_POWER) },
    ptau: { type: "string" },
    capacity: { type: "string", default: "16" },
    model: { type: "string" },
    name: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (args.help) {
  console.log("usage: npx tsx circuits/scripts/setup.ts [--power 11] [--ptau file.ptau] [--capacity 16,32] [--model m.onnx --name MyModel]");
  process.exit(0);
}

const log = (line: string) => console.log(line);
const t0 = performance.now();
const ptauPath = args.ptau ?? process.env.STUN_PTAU;
if (ptauPath) {
  log(`powers of tau: ${ptauPath} (given)`);
} else {
  log("powers of tau: development ceremony — INSECURE (public entropy), for development and tests only");
  await devPtau(Number(args.power), { log });
}

for (const capacity of args.capacity.split(",").map(Number)) {
  const { circuit, keys } = await commitmentCircuit(capacity, { ptauPath, log });
  log(`result commitment (${capacity} outputs): ${circuit.info.constraints} constraints; keys ${keys.dir}`);
  const out = await exportCommitmentVerifier(capacity, { ptauPath });
  log(`  → ${out.solPath}\n  → ${out.vkeyPath}`);
}

if (args.model) {
  const artifacts = await compileModelCircuit(readFileSync(args.model), { ptauPath, log, name: args.name });
  log(`model ${args.model}: ${artifacts.circuit.info.constraints} constraints, modelHash ${artifacts.modelHash}`);
  const sol = await exportModelVerifier(artifacts, args.name ? `${args.name}Verifier` : undefined);
  log(`  → ${sol}`);
}

log(`setup done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
await shutdownZk();
