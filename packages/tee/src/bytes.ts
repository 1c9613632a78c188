import { concatBytes as concatParts, decodeBase64, encodeBase64, StunError, utf8Encoder } from "@stun/shared";
import { AttestationError } from "./errors";

export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export function fromHex(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new AttestationError("EVIDENCE_MALFORMED", "not lower-case hex");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Decodes base64 evidence fields; a bad one is malformed evidence, not a crash. */
export function evidenceBytes(b64: string, what: string): Uint8Array {
  try {
    return decodeBase64(b64);
  } catch {
    throw new AttestationError("EVIDENCE_MALFORMED", `${what} is not base64`);
  }
}

/** Base64 of bytes for sealed boxes; decoding errors in boxes are the caller's bad input (VALIDATION_FAILED). */
export const b64 = encodeBase64;
export function boxBytes(s: string, what: string): Uint8Array {
  try {
    return decodeBase64(s);
  } catch {
    throw new StunError("VALIDATION_FAILED", `${what} is not base64`);
  }
}

export const concatBytes = (...parts: Uint8Array[]): Uint8Array => concatParts(parts);

export const utf8 = (s: string): Uint8Array => utf8Encoder.encode(s);

export async function digest(alg: "SHA-256" | "SHA-384" | "SHA-512", data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(alg, data as Uint8Array<ArrayBuffer>));
}

export const sha256Hex = async (data: Uint8Array): Promise<string> => toHex(await digest("SHA-256", data));

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
