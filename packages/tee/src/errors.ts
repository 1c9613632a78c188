/**
 * Why evidence was refused: a stable code (what clients and the provider record match on) and a
 * sentence for people.
 */
export const ATTESTATION_ERROR_CODES = [
  /** The quote/report or its certificates do not parse. */
  "EVIDENCE_MALFORMED",
  /** A signature over the quote/report, or in the certificate chain, does not verify. */
  "SIGNATURE_INVALID",
  /** The certificate chain does not lead to the vendor's pinned root (or a certificate is revoked/expired). */
  "CERT_CHAIN_INVALID",
  /** Collateral (TDX TCB info, QE identity, CRLs) is missing, unreachable or expired. */
  "COLLATERAL_INVALID",
  /** The platform's TCB status is below the policy's minimum (OutOfDate, Revoked, ...). */
  "TCB_NOT_ACCEPTED",
  /** A debug guest: its memory is readable by the host. */
  "DEBUG_GUEST",
  /** The launch measurement is not in the policy's list. */
  "MEASUREMENT_NOT_ALLOWED",
  /** The report data does not bind this public key and nonce. */
  "REPORT_DATA_MISMATCH",
  /** The evidence answers another challenge than the one issued. */
  "NONCE_MISMATCH",
  /** Simulated evidence where the policy does not accept it (production). */
  "SIMULATED_NOT_ALLOWED",
  /** A kind of evidence this verifier does not accept (or one the policy turned off). */
  "KIND_NOT_ACCEPTED",
] as const;
export type AttestationErrorCode = (typeof ATTESTATION_ERROR_CODES)[number];

export class AttestationError extends Error {
  readonly code: AttestationErrorCode;
  constructor(code: AttestationErrorCode, message: string) {
    super(message);
    this.name = "AttestationError";
    this.code = code;
  }
}
