/**
 * Field elements of BN254's scalar field (the one circom and snarkjs' Groth16 use) and the
 * encodings Stun puts into it: signed fixed-point numbers, task ids and provider addresses.
 */
import { createHash } from "node:crypto";

// The field and the fixed-point encoding are shared with the provider agents (browser-safe).
import { FIELD_P, quantize, toField } from "@stun/shared";

export { FIELD_P, quantize, toField };
const HALF_P = FIELD_P / 2n;

/** A field element read back as a signed integer: values above (p−1)/2 are negative. */
export function fromFieldSigned(v: bigint | string): bigint {
  const b = toField(v);
  return b > HALF_P ? b - FIELD_P : b;
}

/** An integer at scale 2^scaleBits back to a float. */
export function dequantize(v: bigint, scaleBits: number): number {
  return Number(v) / 2 ** scaleBits;
}

/**
 * Quantizes a float tensor into field elements (what the commitment circuit and `proveCommitment`
 * take as outputs): round(x · 2^scaleBits), negatives as p − |v|. Default scale 2^16.
 */
export function quantizeToField(values: ArrayLike<number>, scaleBits = 16): bigint[] {
  return Array.from(values, (x) => toField(quantize(x, scaleBits)));
}

/** The first 31 bytes (248 bits, always < p) of sha256(utf-8 text) as a field element. */
export function textToField(text: string): bigint {
  const digest = createHash("sha256").update(text, "utf8").digest();
  return BigInt(`0x${digest.subarray(0, 31).toString("hex")}`);
}

/**
 * A task id as a field element: a bigint/number is taken as is (must be < p); a decimal string too;
 * any other string (Stun's `tsk_…` ids) is hashed with `textToField`.
 */
export function taskIdToField(taskId: string | bigint | number): bigint {
  if (typeof taskId !== "string") return checkedField(BigInt(taskId), "taskId");
  if (/^[0-9]+$/.test(taskId)) return checkedField(BigInt(taskId), "taskId");
  return textToField(taskId);
}

/**
 * A provider address as a field element: a 0x-prefixed hex address (an EVM address is 160 bits) is
 * its integer value; a bigint/number as is; any other string (a Stun provider id, a Solana or TON
 * address) is hashed with `textToField`.
 */
export function addressToField(address: string | bigint | number): bigint {
  if (typeof address !== "string") return checkedField(BigInt(address), "provider");
  if (/^0x[0-9a-fA-F]{1,62}$/.test(address)) return checkedField(BigInt(address), "provider");
  return textToField(address);
}

function checkedField(v: bigint, what: string): bigint {
  if (v < 0n || v >= FIELD_P) throw new RangeError(`${what} ${v} is not a field element (0 ≤ v < p)`);
  return v;
}
