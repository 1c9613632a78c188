/**
 * TEST-ONLY fault injection: makes this agent a deliberately wrong provider so QA tests can watch
 * the marketplace catch it. Nothing here runs unless the operator asks for it explicitly with
 * `--fault <name>` (or STUN_PROVIDER_FAULT); the agent logs a warning at start when it is on.
 *
 * - `perturb`: adds noise to every element of every floating-point output (float32, float64,
 *   float16), large enough to fail a tolerance-aware comparison (±(0.005 … 0.015 + 5%·|v|));
 *   other dtypes are untouched.
 * - `forge-proof`: on zk tasks, changes the first output the proof publishes after proving (a
 *   forged claim the server's verifier must reject); outputs are untouched.
 */
import { float16ToFloat32, float32ToFloat16, mulberry32, type WireTensor, type WireTensorMap, type ZkProof } from "@stun/shared";

export const FAULTS = ["perturb", "forge-proof"] as const;
export type Fault = (typeof FAULTS)[number];

export const isFault = (s: string): s is Fault => (FAULTS as readonly string[]).includes(s);

export type OutputFault = (outputs: WireTensorMap) => WireTensorMap;

/** v moved by at least 0.005 and at most 0.015 + 5%·|v|, either way: every element is wrong, never by chance right. */
function noise(rand: () => number, v: number): number {
  return v + (rand() < 0.5 ? -1 : 1) * (0.005 + rand() * (0.01 + 0.05 * Math.abs(v)));
}

function perturbTensor(t: WireTensor, rand: () => number): WireTensor {
  if (typeof t.data === "object" && Array.isArray(t.data)) return t;
  const src = t.data instanceof Uint8Array ? t.data : new Uint8Array(t.data as ArrayBuffer);
  const bytes = Buffer.from(src); // copy: never write into onnxruntime's memory
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (t.dtype === "float32") {
    for (let o = 0; o < bytes.byteLength; o += 4) view.setFloat32(o, noise(rand, view.getFloat32(o, true)), true);
  } else if (t.dtype === "float64") {
    for (let o = 0; o < bytes.byteLength; o += 8) view.setFloat64(o, noise(rand, view.getFloat64(o, true)), true);
  } else if (t.dtype === "float16") {
    for (let o = 0; o < bytes.byteLength; o += 2) view.setUint16(o, float32ToFloat16(noise(rand, float16ToFloat32(view.getUint16(o, true)))), true);
  } else {
    return t;
  }
  return { ...t, data: bytes };
}

export function createFault(fault: Fault, seed = Date.now()): OutputFault {
  const rand = mulberry32(seed);
  switch (fault) {
    case "perturb":
      return (outputs) => Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, perturbTensor(t, rand)]));
    case "forge-proof":
      return (outputs) => outputs;
  }
}

/** `forge-proof`: the proof's first published output, plus one (publicSignals[2]; [0] and [1] are the model and input hashes). */
export function forgeProof(proof: ZkProof): ZkProof {
  const publicSignals = [...proof.publicSignals];
  publicSignals[2] = (BigInt(publicSignals[2]!) + 1n).toString();
  return { ...proof, publicSignals };
}
