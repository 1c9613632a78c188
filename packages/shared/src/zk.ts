/**
 * The zero-knowledge pieces every end shares (browser-safe: no `node:` imports): the BN254 scalar
 * field and fixed-point encoding circom circuits use, and how a provider turns a zk job
 * (`Assign.zk`, docs/PROTOCOL.md) into a Groth16 proof with snarkjs. The compiler, keys and
 * verification live in @stun/circuits (server side).
 */
import type { Groth16Proof, WireTensorMap, ZkJob } from "./schemas/protocol";
import { toTypedArray } from "./tensor";

/** The BN254 scalar field's prime p (circom's default field). */
export const FIELD_P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** A value as a canonical field element (0 ≤ v < p); negative integers become p − |v|. */
export function toField(v: bigint | number | string): bigint {
  const b = typeof v === "bigint" ? v : BigInt(v);
  const r = b % FIELD_P;
  return r < 0n ? r + FIELD_P : r;
}

/** round(x · 2^scaleBits) as an integer (ties away from zero); throws on NaN/∞. */
export function quantize(x: number, scaleBits: number): bigint {
  if (!Number.isFinite(x)) throw new RangeError(`cannot quantize ${x}`);
  const scaled = x * 2 ** scaleBits;
  return BigInt(Math.sign(scaled) * Math.round(Math.abs(scaled)));
}

/**
 * The witness input of a zkML circuit (circuits/zkml): the task and provider the proof binds, and
 * the private input quantized at 2^scaleBits as field elements, row-major.
 */
export function zkWitnessInput(job: Pick<ZkJob, "taskSignal" | "providerSignal" | "scaleBits" | "inputSize">, input: ArrayLike<number>): Record<string, string | string[]> {
  if (input.length !== job.inputSize) throw new RangeError(`the input has ${input.length} values, the circuit takes ${job.inputSize}`);
  return {
    taskId: job.taskSignal,
    provider: job.providerSignal,
    in: Array.from(input, (x) => toField(quantize(x, job.scaleBits)).toString()),
  };
}

/**
 * The values a zk job proves: the float32 input tensor `job.input` of the assignment, decoded
 * (little-endian, aligned copy). Throws a RangeError saying what is wrong when the task has no
 * such input, or it is not float32 of the circuit's size.
 */
export function zkInputValues(job: Pick<ZkJob, "input" | "inputSize">, inputs: WireTensorMap): Float32Array {
  const t = inputs[job.input];
  if (!t) throw new RangeError(`the zk job proves input "${job.input}", which the task does not have (inputs: ${Object.keys(inputs).join(", ")})`);
  if (t.dtype !== "float32") throw new RangeError(`input "${job.input}" is ${t.dtype}; the circuit takes float32`);
  const raw: unknown = t.data;
  const bytes = raw instanceof Uint8Array ? raw : raw instanceof ArrayBuffer ? new Uint8Array(raw) : undefined;
  if (!bytes || bytes.byteLength !== job.inputSize * 4) {
    throw new RangeError(`input "${job.input}" has ${bytes ? bytes.byteLength / 4 : 0} values; the circuit takes ${job.inputSize}`);
  }
  return toTypedArray({ dtype: "float32", dims: [job.inputSize], data: bytes }, job.input).data as Float32Array;
}

/** The part of snarkjs a prover needs (its Node build and its browser build both have it). */
export interface Groth16Prover {
  groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasm: { type: "mem"; data: Uint8Array } | string,
      zkey: { type: "mem"; data: Uint8Array } | string,
      logger?: unknown,
      wtnsCalcOptions?: unknown,
      proverOptions?: { singleThread?: boolean },
    ): Promise<{ proof: unknown; publicSignals: string[] }>;
  };
}

/**
 * Proves a zk job: witness from the circuit's WASM, then Groth16 with its proving key (both as
 * bytes the provider fetched from `job.wasmUrl` / `job.zkeyUrl`). `snarkjs` is passed in so that
 * Node and the browser each bring their own build.
 */
export async function proveZkJob(
  snarkjs: Groth16Prover,
  job: ZkJob,
  artifacts: { wasm: Uint8Array; zkey: Uint8Array },
  input: ArrayLike<number>,
  opts: { singleThread?: boolean } = {},
): Promise<{ proof: Groth16Proof; publicSignals: string[]; proveMs: number }> {
  const t0 = performance.now();
  const { proof, publicSignals } = await snarkjs.groth16.fullProve(
    zkWitnessInput(job, input),
    { type: "mem", data: artifacts.wasm },
    { type: "mem", data: artifacts.zkey },
    undefined,
    undefined,
    opts.singleThread ? { singleThread: true } : undefined,
  );
  return { proof: proof as Groth16Proof, publicSignals, proveMs: performance.now() - t0 };
}

/**
 * Stops snarkjs' bn128 curve worker threads (snarkjs keeps one curve per process once it has
 * proven or verified, and its workers keep a Node process alive); proving again restarts them.
 */
export async function stopSnarkjsWorkers(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  const curve = g.curve_bn128;
  if (curve) {
    g.curve_bn128 = null;
    await curve.terminate();
  }
}
