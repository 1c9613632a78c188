/**
 * The zkML compiler end to end: ONNX (built with @stun/testkit) → circom → Groth16 proof → verify,
 * with the circuit's outputs checked against onnxruntime-node (CPU) on the same inputs.
 */
import { buildMlp, buildSmallCnn, buildSoftmaxModel } from "@stun/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SUPPORTED_OPS,
  ZkmlRangeError,
  ZkmlUnsupportedError,
  buildModelCircuit,
  compileModelCircuit,
  inputHashOf,
  proveInference,
  shutdownZk,
  simulate,
  verifyInference,
  zkmlSupported,
  type InferenceProof,
  type ModelArtifacts,
} from "./support/api";
import { buildDynamicWeightsModel, buildTinyCnn, maxAbsDiff, randomInput, runOrt } from "./support/models";

const TASK = "tsk_zkml_1";
const PROVIDER = "0x00000000000000000000000000000000000000a1";

// The MLP of the issue: 4-8-3 (Gemm+Relu, then MatMul+Add), batch dimension symbolic ("N").
const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 11 });
// Same architecture, other weights: "another model".
const other = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 12 });
const x = Float32Array.from([0.75, -1.5, 2.25, 0.3]);

let A: ModelArtifacts;
let proofA: InferenceProof;

beforeAll(async () => {
  A = await compileModelCircuit(mlp.bytes);
  proofA = await proveInference(A, x, { taskId: TASK, provider: PROVIDER });
});
afterAll(() => shutdownZk());

describe("zkML: MLP 4-8-3", () => {
  it("compiles to a small circuit with the documented public signals", () => {
    expect(A.circuit.info.constraints).toBeLessThan(1100);
    expect(A.model.stats).toMatchObject({ parameters: 4 * 8 + 8 + 8 * 3 + 3, relus: 8, maxes: 0 });
    expect(A.vkey.nPublic).toBe(2 + 3 + 2);
    expect(proofA.publicSignals[0]).toBe(A.modelHash);
    expect(proofA.publicSignals).toHaveLength(7);
  });

  it("an honest proof verifies, bound to model, input, task and provider", async () => {
    const inputHash = await inputHashOf(A.model, x);
    expect(proofA.inputHash).toBe(inputHash);
    expect(await verifyInference(A.vkey, proofA.proof, proofA.publicSignals, A.modelHash, { expectedInputHash: inputHash, taskId: TASK, provider: PROVIDER })).toBe(true);
  });

  it("publishes exactly the simulated fixed-point outputs, within the quantization error of onnxruntime", async () => {
    const sim = simulate(A.model, x);
    expect(Array.from(proofA.outputs[0]!.data)).toEqual(Array.from(sim.outputs[0]!.data, Math.fround));
    const ref = await runOrt(mlp.bytes, x, [1, 4]);
    const err = maxAbsDiff(proofA.outputs[0]!.data, ref);
    console.log(`[circuits] MLP 4-8-3: |circuit − onnxruntime| max ${err.toExponential(2)} on the proven input`);
    expect(err).toBeLessThan(1e-4);
  });

  it("quantization error over 200 random inputs stays below 1e-4 (k = 16)", async () => {
    let worst = 0;
    for (let s = 0; s < 200; s++) {
      const xi = randomInput(4, 1000 + s, 3);
      worst = Math.max(worst, maxAbsDiff(simulate(A.model, xi).outputs[0]!.data, await runOrt(mlp.bytes, xi, [1, 4])));
    }
    console.log(`[circuits] MLP 4-8-3: max |circuit − onnxruntime| over 200 inputs in [-3, 3]: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  });

  it("rejects a tampered output, another task id, another provider and another input", async () => {
    const { proof, publicSignals } = proofA;
    const tampered = [...publicSignals];
    tampered[2] = (BigInt(tampered[2]!) + 1n).toString();
    expect(await verifyInference(A.vkey, proof, tampered, A.modelHash)).toBe(false);
    // The prover's own signals with another task id / provider substituted fail the pairing check…
    const otherTask = [...publicSignals];
    otherTask[5] = "12345";
    expect(await verifyInference(A.vkey, proof, otherTask, A.modelHash)).toBe(false);
    // …and a verifier expecting another task, provider or input refuses before it.
    expect(await verifyInference(A.vkey, proof, publicSignals, A.modelHash, { taskId: "tsk_zkml_2" })).toBe(false);
    expect(await verifyInference(A.vkey, proof, publicSignals, A.modelHash, { provider: "0x00000000000000000000000000000000000000a2" })).toBe(false);
    const y = Float32Array.from(x, (v, i) => (i === 0 ? v + 0.01 : v));
    expect(await verifyInference(A.vkey, proof, publicSignals, A.modelHash, { expectedInputHash: await inputHashOf(A.model, y) })).toBe(false);
  });

  it("rejects a proof made with another model's weights", async () => {
    const B = await compileModelCircuit(other.bytes);
    expect(B.modelHash).not.toBe(A.modelHash);
    const proofB = await proveInference(B, x, { taskId: TASK, provider: PROVIDER });
    expect(await verifyInference(B.vkey, proofB.proof, proofB.publicSignals, B.modelHash)).toBe(true);
    // Against model A: its key refuses B's proof, and so does A's model hash…
    expect(await verifyInference(A.vkey, proofB.proof, proofB.publicSignals, A.modelHash)).toBe(false);
    expect(await verifyInference(B.vkey, proofB.proof, proofB.publicSignals, A.modelHash)).toBe(false);
    // …even with A's model hash written into B's public signals (the hash is bound to the circuit).
    const relabelled = [...proofB.publicSignals];
    relabelled[0] = A.modelHash;
    expect(await verifyInference(B.vkey, proofB.proof, relabelled, A.modelHash)).toBe(false);
    expect(await verifyInference(A.vkey, proofB.proof, relabelled, A.modelHash)).toBe(false);
  });

  it("refuses an input outside the proven range with a ZkmlRangeError naming the node", () => {
    const huge = Float32Array.from([1e5, 1e5, -1e5, 1e5]);
    expect(() => simulate(A.model, huge)).toThrow(ZkmlRangeError);
    expect(() => simulate(A.model, huge)).toThrow(/node "Relu_node_\d+"/);
  });
});

describe("zkML: convolutions", () => {
  it("a tiny CNN (Conv, Relu, MaxPool, Flatten, Gemm) proves and matches onnxruntime", async () => {
    const bytes = buildTinyCnn();
    const C = await compileModelCircuit(bytes);
    const img = randomInput(16, 77, 1);
    const p = await proveInference(C, img, { taskId: TASK, provider: PROVIDER });
    expect(await verifyInference(C.vkey, p.proof, p.publicSignals, C.modelHash, { expectedInputHash: await inputHashOf(C.model, img) })).toBe(true);
    const err = maxAbsDiff(p.outputs[0]!.data, await runOrt(bytes, img, [1, 1, 4, 4]));
    console.log(`[circuits] tiny CNN: ${C.circuit.info.constraints} constraints, |circuit − onnxruntime| max ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
  });

  it("testkit's small CNN (+ GlobalAveragePool) simulates within the quantization error", async () => {
    const cnn = buildSmallCnn();
    const m = await buildModelCircuit(cnn.bytes);
    expect(m.stats).toMatchObject({ relus: 8 * 8 * 8, maxes: 8 * 4 * 4 * 3 });
    let worst = 0;
    for (let s = 0; s < 20; s++) {
      const img = randomInput(64, 500 + s, 2);
      worst = Math.max(worst, maxAbsDiff(simulate(m, img).outputs[0]!.data, await runOrt(cnn.bytes, img, [1, 1, 8, 8])));
    }
    console.log(`[circuits] small CNN: ~${m.stats.estimatedConstraints} constraints (not proven here), max |circuit − onnxruntime| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-3);
  });
});

describe("zkML: unsupported models", () => {
  it("names the unsupported operator and node, and the supported ones", async () => {
    const bytes = buildSoftmaxModel();
    const support = zkmlSupported(bytes);
    expect(support).toMatchObject({ supported: false, code: "MODEL_NOT_PROVABLE", unsupported: [{ op: "Softmax", node: expect.stringMatching(/^Softmax_node_/) }] });
    const err = await buildModelCircuit(bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkmlUnsupportedError);
    expect((err as ZkmlUnsupportedError).code).toBe("MODEL_NOT_PROVABLE");
    expect((err as Error).message).toMatch(/^operator "Softmax" \(node "Softmax_node_\d+"\) is not supported; supported: Gemm, MatMul, Add, /);
    expect((err as Error).message).toContain(SUPPORTED_OPS.join(", "));
  });

  it("the check also catches supported operators used in unsupported ways", async () => {
    const bytes = buildDynamicWeightsModel();
    expect(zkmlSupported(bytes)).toEqual({ supported: false, code: "MODEL_NOT_PROVABLE", unsupported: expect.any(Array), message: expect.stringMatching(/exactly one \(float\) input/) });
    expect(zkmlSupported(mlp.bytes)).toEqual({ supported: true });
    expect(zkmlSupported(new Uint8Array([1, 2, 3]))).toMatchObject({ supported: false, code: "MODEL_INVALID" });
  });
});

describe("zkML: public signals", () => {
  it("rejects non-canonical public signals (v + p for v)", async () => {
    const shifted = [...proofA.publicSignals];
    shifted[2] = (BigInt(shifted[2]!) + 21888242871839275222246405745257275088548364400416034343698204186575808495617n).toString();
    expect(await verifyInference(A.vkey, proofA.proof, shifted, A.modelHash)).toBe(false);
  });
});
