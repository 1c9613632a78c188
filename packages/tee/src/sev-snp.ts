import type { SnpCertificates } from "@stun/shared";
import { AttestationError } from "./errors";
import type { VerifiedQuote } from "./verified-quote";

/**
 * Verifies an AMD SEV-SNP attestation report: its ECDSA P-384 signature by the VCEK, and the
 * VCEK → ASK → ARK chain to AMD's pinned root. Policy is applied by the caller.
 */
export async function verifySevSnpReport(_report: Uint8Array, _certs: SnpCertificates, _nowSecs: number): Promise<VerifiedQuote> {
  throw new AttestationError("KIND_NOT_ACCEPTED", "SEV-SNP verification is not built yet");
}
