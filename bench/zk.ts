/**
 * Zero-knowledge proof benchmark (@stun/circuits): constraints, proving time and verification time
 * (Groth16, snarkjs in Node: WASM with worker threads) for
 *
 *   - the result-commitment circuit (16 outputs, src/result_commitment.circom), and
 *   - an MNIST-size MLP 784-56-10 (44,530 parameters) compiled by the zkML compiler, with and
 *     without the in-circuit commitment to its private input (Poseidon over 784 values).
 *
 *   npx tsx bench/zk.ts [--runs 5] [--no-ceremony]
 *
 * The MLP with its input commitment needs a 2^15 powers of tau; the development ceremony of that
 * size takes ~8–10 min on 2 cores and is cached in circuits/.cache/ptau (progress is printed).
 * --no-ceremony skips the circuits whose ceremony is not built yet and prints their constraint
 * counts only. Quantization error: the circuit's outputs (its exact integer arithmetic) against
 * onnxruntime-node (CPU) on 100 MNIST-like inputs (uniform in [0, 1]). Goal: prove the MLP in ≤ 2 s
 * (circomlib-ml's published MNIST figure: 2.35 s).
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  buildModelCircuit,
  commitmentCircuit,
  compileCircuit,
  devPtau,
  devPtauPath,
  groth16Prove,
  groth16Verify,
  inputHashOf,
  proveCommitment,
  quantizeToField,
  requiredPower,
  setupKeys,
  shutdownZk,
  simulate,
  verifyCommitment,
  verifyInference,
  witnessInput,
  type CircuitKeys,
  type CompiledCircuit,
} from "@stun/circuits";
import { buildMlp, mulberry32 } from "@stun/testkit";
import * as ort from "onnxruntime-node";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    "no-ceremony": { type: "boolean", default: false },
  },
});
const RUNS = Number(args.runs);
const GOAL_PROVE_S = 2;
const log = (line: string) => console.log(`  ${line}`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface Row {
  circuit: string;
  constraints: number;
  ptau: string;
  compile: string;
  setup: string;
  prove: string;
  verify: string;
  error: string;
}
const rows: Row[] = [];

async function timeRuns(prove: () => Promise<{ ok: boolean; proveMs: number; verifyMs: number }>): Promise<{ prove: number[]; verify: number[] }> {
  await prove(); // warm-up: starts snarkjs' worker threads, loads the key
  const p: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await prove();
    if (!r.ok) throw new Error("a proof did not verify");
    p.push(r.proveMs);
    v.push(r.verifyMs);
  }
  return { prove: p, verify: v };
}

// ---------------------------------------------------------------------------------------------
console.log(`zk bench: ${RUNS} timed runs per circuit after one warm-up; snarkjs Groth16 in Node ${process.version}`);

console.log("\n1. Result commitment (16 outputs)");
{
  const t0 = performance.now();
  const { circuit, keys } = await commitmentCircuit(16, { log });
  const setupMs = performance.now() - t0;
  const outputs = quantizeToField(Array.from({ length: 16 }, (_, i) => Math.sin(i)));
  let n = 0;
  const r = await timeRuns(async () => {
    const taskId = `tsk_bench_${n++}`;
    const p = await proveCommitment({ taskId, provider: "0x8ba1f109551bD432803012645Ac136ddd64DBA72", outputs, salt: 12345n });
    const tv = performance.now();
    const ok = await verifyCommitment({ taskId, provider: "0x8ba1f109551bD432803012645Ac136ddd64DBA72", commitment: p.commitment, proof: p.proof }, { vkey: keys.vkey });
    return { ok, proveMs: p.proveMs, verifyMs: performance.now() - tv };
  });
  rows.push({
    circuit: "result commitment (16 outputs)",
    constraints: circuit.info.constraints,
    ptau: `2^${keys.ptau.source === "zkey" ? "?" : keys.ptau.power} (dev)`,
    compile: circuit.cached ? `cached (${sec(circuit.info.compileMs)})` : sec(circuit.info.compileMs),
    setup: keys.cached ? `cached (${sec(keys.setupMs)})` : sec(setupMs),
    prove: `${sec(median(r.prove))} (min ${sec(Math.min(...r.prove))})`,
    verify: sec(median(r.verify)),
    error: "–",
  });
}

// ---------------------------------------------------------------------------------------------
console.log("\n2. MNIST-size MLP 784-56-10 (zkML compiler, k = 16, A = 32)");
const mlp = buildMlp({ inputSize: 784, hidden: [56], outputSize: 10, batch: 1, seed: 2024 });
const rand = mulberry32(7);
const inputs = Array.from({ length: 100 }, () => Float32Array.from({ length: 784 }, () => rand()));
const session = await ort.InferenceSession.create(mlp.bytes, { executionProviders: ["cpu"] });

const variants = [
  { label: "MLP 784-56-10, input private (no input commitment)", commitInput: false },
  { label: "MLP 784-56-10, input private + Poseidon commitment", commitInput: true },
];
const compiled: { v: (typeof variants)[number]; model: Awaited<ReturnType<typeof buildModelCircuit>>; circuit: CompiledCircuit; buildMs: number }[] = [];
for (const v of variants) {
  const t0 = performance.now();
  const model = await buildModelCircuit(mlp.bytes, { commitInput: v.commitInput });
  const buildMs = performance.now() - t0;
  const circuit = await compileCircuit({ name: `bench_mnist_${v.commitInput ? "commit" : "plain"}`, source: model.source, log });
  log(`${v.label}: ${circuit.info.constraints} constraints (${model.stats.parameters} parameters, ${model.stats.relus} ReLUs); front end + weight hash ${sec(buildMs)}`);
  compiled.push({ v, model, circuit, buildMs });
}

// Quantization error of the compiled arithmetic vs onnxruntime (same for both variants).
let maxErr = 0;
let argmaxAgree = 0;
for (const x of inputs) {
  const sim = simulate(compiled[0]!.model, x).outputs[0]!.data;
  const ref = (await session.run({ [mlp.inputName]: new ort.Tensor("float32", x, [1, 784]) }))[mlp.outputName]!.data as Float32Array;
  for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(sim[i]! - ref[i]!));
  const am = (a: ArrayLike<number>) => Array.from(a).reduce((b, v, i, arr) => (v > arr[b]! ? i : b), 0);
  if (am(sim) === am(ref)) argmaxAgree++;
}
log(`quantization error vs onnxruntime over ${inputs.length} inputs in [0,1]: max |Δ| ${maxErr.toExponential(2)}, argmax agrees ${argmaxAgree}/${inputs.length}`);

const power = Math.max(...compiled.map((c) => requiredPower(c.circuit.info.constraints, c.model.nPublic)));
const ptauGiven = process.env.STUN_PTAU;
let ptauPath: string | undefined = ptauGiven;
if (!ptauGiven) {
  if (existsSync(devPtauPath(power))) ptauPath = devPtauPath(power);
  else if (!args["no-ceremony"]) {
    console.log(`\n  building the development powers of tau 2^${power} (once; cached) — this takes minutes:`);
    ptauPath = (await devPtau(power, { log })).path;
  }
}

for (const c of compiled) {
  const need = requiredPower(c.circuit.info.constraints, c.model.nPublic);
  const row: Row = {
    circuit: c.v.label,
    constraints: c.circuit.info.constraints,
    ptau: `2^${need} needed`,
    compile: `${sec(c.circuit.info.compileMs)} circom + ${sec(c.buildMs)}`,
    setup: "–",
    prove: "– (no ceremony)",
    verify: "–",
    error: `${maxErr.toExponential(1)} (argmax ${argmaxAgree}/${inputs.length})`,
  };
  if (ptauPath) {
    const t0 = performance.now();
    const keys: CircuitKeys = await setupKeys(c.circuit, { ptauPath, log });
    row.setup = keys.cached ? `cached (${sec(keys.setupMs)})` : sec(performance.now() - t0);
    row.ptau = `2^${need} (file 2^${keys.ptau.source === "zkey" ? "?" : keys.ptau.power}${ptauGiven ? "" : ", dev"})`;
    let i = 0;
    const r = await timeRuns(async () => {
      const x = inputs[i++ % inputs.length]!;
      const { proof, publicSignals, proveMs } = await groth16Prove(c.circuit.wasmPath, keys.zkeyPath, witnessInput(c.model, x, 1n, 2n));
      const tv = performance.now();
      const ok =
        (await verifyInference(keys.vkey, proof, publicSignals, c.model.modelHash, { expectedInputHash: await inputHashOf(c.model, x) })) && (await groth16Verify(keys.vkey, publicSignals, proof));
      return { ok, proveMs, verifyMs: (performance.now() - tv) / 2 };
    });
    const med = median(r.prove);
    row.prove = `${sec(med)} (min ${sec(Math.min(...r.prove))})${med <= GOAL_PROVE_S * 1000 ? " — goal met" : ` — goal ≤ ${GOAL_PROVE_S} s not met`}`;
    row.verify = sec(median(r.verify));
  }
  rows.push(row);
}
await session.release();

// ---------------------------------------------------------------------------------------------
console.log("\n| circuit | constraints | powers of tau | compile | setup | prove (median) | verify | max quantization error |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.circuit} | ${r.constraints.toLocaleString("en-US")} | ${r.ptau} | ${r.compile} | ${r.setup} | ${r.prove} | ${r.verify} | ${r.error} |`);
await shutdownZk();
