/**
 * How Stun's string ids travel on chain as bytes32: the id's UTF-8 bytes, right-padded with zeros
 * (Solidity's `bytes32("acc_…")`). Used for the `account` of `deposit` / `Deposited` /
 * `settleFromDeposits` / `withdrawDeposit`, and for the task id of `settleFromDeposits`. Reversible
 * without a lookup table; ids must be 1–32 bytes with no NUL (Stun's ids are 29 ASCII characters).
 */
import { type Hex, bytesToHex, hexToBytes } from "viem";

/** `acc_…` → 0x… (32 bytes). Throws for an empty id, one over 32 bytes, or one containing NUL. */
export function idToBytes32(id: string): Hex {
  const bytes = new TextEncoder().encode(id);
  if (bytes.length === 0 || bytes.length > 32 || bytes.includes(0)) {
    throw new Error(`a Stun id must be 1–32 UTF-8 bytes without NUL to fit bytes32: ${JSON.stringify(id)}`);
  }
  const out = new Uint8Array(32);
  out.set(bytes);
  return bytesToHex(out);
}

/**
 * 0x… (32 bytes) → the id, or undefined when the value is not an encoded id (zero, NUL inside
 * the id, non-zero bytes after the padding starts, or invalid UTF-8).
 */
export function bytes32ToId(value: Hex): string | undefined {
  let bytes: Uint8Array;
  try {
    bytes = hexToBytes(value);
  } catch {
    return undefined;
  }
  if (bytes.length !== 32) return undefined;
  let end = bytes.indexOf(0);
  if (end === -1) end = 32;
  if (end === 0 || bytes.subarray(end).some((b) => b !== 0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end));
  } catch {
    return undefined;
  }
}

/** A Stun account id as the bytes32 `account` of the marketplace's deposit functions. */
export const accountToBytes32 = idToBytes32;
/** The Stun account id a `Deposited` log names, or undefined when it is not an encoded id. */
export const bytes32ToAccount = bytes32ToId;
