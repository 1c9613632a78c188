import type { TeeEvidence } from "@stun/shared";
import { concatBytes, digest, evidenceBytes, fromHex, sha256Hex, utf8 } from "./bytes";

const REPORT_DATA_LABEL = utf8("stun-tee-v1\0");

/**
 * The 64 bytes a TEE provider puts in its quote's report data: SHA-512("stun-tee-v1\0" ||
 * publicKey || nonce). It binds the HPKE key to the attested guest and the evidence to one
 * server challenge.
 */
export async function reportDataFor(publicKey: Uint8Array, nonceHex: string): Promise<Uint8Array> {
  return digest("SHA-512", concatBytes(REPORT_DATA_LABEL, publicKey, fromHex(nonceHex)));
}

/**
 * The evidence's identity: sha256 over kind, key, nonce and quote (collateral and certificates are
 * public inputs to the check, not part of what was attested). A sealed task and its receipt name it.
 */
export async function evidenceSha256(e: Pick<TeeEvidence, "kind" | "publicKey" | "nonce" | "quote">): Promise<string> {
  return sha256Hex(concatBytes(utf8(`${e.kind}\0`), evidenceBytes(e.publicKey, "publicKey"), fromHex(e.nonce), evidenceBytes(e.quote, "quote")));
}
