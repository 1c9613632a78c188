/// <reference path="../types/modules.d.ts" />
/**
 * Poseidon in JavaScript (circomlibjs' WASM build), matching circomlib's circuits: `poseidon` is
 * circomlib's Poseidon(n) (1 ≤ n ≤ 16) and `poseidonSponge` is src/poseidon_sponge.circom.
 */
import { buildPoseidon } from "circomlibjs";
import { toField } from "./field";

type PoseidonFn = ((inputs: bigint[], initialState?: bigint) => Uint8Array) & { F: { toObject(v: Uint8Array): bigint } };

let instance: Promise<PoseidonFn> | undefined;
function getPoseidon(): Promise<PoseidonFn> {
  instance ??= buildPoseidon() as Promise<PoseidonFn>;
  return instance;
}

/** Poseidon(inputs) as circomlib's `Poseidon(n)` (and `PoseidonEx(n, 1)` with an initial state). */
export async function poseidon(inputs: readonly (bigint | number)[], initialState: bigint = 0n): Promise<bigint> {
  if (inputs.length < 1 || inputs.length > 16) throw new RangeError(`Poseidon takes 1–16 inputs, got ${inputs.length}`);
  const p = await getPoseidon();
  return p.F.toObject(
    p(
      inputs.map((v) => toField(v)),
      initialState,
    ),
  );
}

/** Chunks hashed between two yields to the event loop (~15 ms of work). */
const YIELD_EVERY = 32;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Elements per sponge chunk (one Poseidon permutation of width 17). */
export const SPONGE_CHUNK = 16;

/** How many chunks `n` values take (at least 1). */
export function spongeChunks(n: number): number {
  return Math.max(1, Math.ceil(n / SPONGE_CHUNK));
}

/**
 * PoseidonSponge(nChunks) of src/poseidon_sponge.circom: the values padded with zeros to
 * 16·nChunks (nChunks defaults to the fewest that hold them), then d_i = PoseidonEx(chunk_i, d_{i−1}).
 */
export async function poseidonSponge(values: readonly (bigint | number)[], nChunks = spongeChunks(values.length)): Promise<bigint> {
  if (values.length > nChunks * SPONGE_CHUNK) throw new RangeError(`${values.length} values do not fit ${nChunks} chunks of ${SPONGE_CHUNK}`);
  const p = await getPoseidon();
  let d = 0n;
  for (let c = 0; c < nChunks; c++) {
    // A model's weights are thousands of chunks (~0.5 ms each): a server hashing them keeps serving.
    if (c % YIELD_EVERY === YIELD_EVERY - 1) await yieldToEventLoop();
    const chunk: bigint[] = [];
    for (let i = 0; i < SPONGE_CHUNK; i++) chunk.push(toField(values[c * SPONGE_CHUNK + i] ?? 0n));
    d = p.F.toObject(p(chunk, d));
  }
  return d;
}
