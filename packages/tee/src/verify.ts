import type { TeeEvidence, TeeKind } from "@stun/shared";
import { equalBytes, evidenceBytes, toHex } from "./bytes";
import { evidenceSha256, reportDataFor } from "./binding";
import { AttestationError } from "./errors";
import { type AttestationPolicy, applyPolicy } from "./policy";
import { verifySimulatedReport } from "./simulated";
import type { VerifiedQuote } from "./verified-quote";

/** What a verified piece of evidence establishes: this key lives in a guest the policy accepts. */
export interface Attestation {
  kind: TeeKind;
  simulated: boolean;
  /** The HPKE public key to seal to (32 bytes). */
  publicKey: Uint8Array;
  evidenceSha256: string;
  measurement: string;
  tcbStatus: string;
  quote: VerifiedQuote;
}

export interface VerifyEvidenceOptions {
  /** Seconds since the epoch at which certificates and collateral must be valid (default: now). */
  nowSecs?: number;
  /** The challenge the server issued: evidence answering another one is refused. Clients leave it out. */
  expectedNonce?: string;
  /** TDX: collateral when the evidence carries none (the server's PCCS cache). */
  fetchCollateral?: (quote: Uint8Array) => Promise<unknown>;
}

async function verifyQuote(evidence: TeeEvidence, quote: Uint8Array, policy: AttestationPolicy, options: VerifyEvidenceOptions): Promise<VerifiedQuote> {
  const nowSecs = options.nowSecs ?? Math.floor(Date.now() / 1000);
  switch (evidence.kind) {
    case "simulated":
      // Refused before anything else in production: no simulated report is even parsed.
      if (!policy.allowSimulated) throw new AttestationError("SIMULATED_NOT_ALLOWED", "simulated TEE evidence is accepted only in development (policy allowSimulated)");
      return verifySimulatedReport(quote);
    case "tdx": {
      const collateral = evidence.collateral ?? (await options.fetchCollateral?.(quote));
      if (collateral === undefined) throw new AttestationError("COLLATERAL_INVALID", "no TDX collateral: the evidence carries none and no PCCS is configured");
      // Loaded on demand: pages that only ever see simulated evidence never bundle the DCAP verifier.
      const { verifyTdxQuote } = await import("./tdx");
      return verifyTdxQuote(quote, collateral, nowSecs);
    }
    case "sev-snp": {
      if (!evidence.certificates) throw new AttestationError("EVIDENCE_MALFORMED", "SEV-SNP evidence needs its VCEK certificate");
      const { verifySevSnpReport } = await import("./sev-snp");
      return verifySevSnpReport(quote, evidence.certificates, nowSecs);
    }
  }
}

/**
 * Verifies TEE evidence end to end: the hardware signature chain (tdx.ts, sev-snp.ts, or the
 * simulated report), that the report data binds this public key and nonce, and the policy. Used
 * by the server at registration and by every client before it seals (the client trusts neither
 * the provider nor the server). Throws AttestationError with the reason.
 */
export async function verifyEvidence(evidence: TeeEvidence, policy: AttestationPolicy, options: VerifyEvidenceOptions = {}): Promise<Attestation> {
  if (options.expectedNonce !== undefined && evidence.nonce !== options.expectedNonce)
    throw new AttestationError("NONCE_MISMATCH", "the evidence answers another challenge than the one this server issued");
  const publicKey = evidenceBytes(evidence.publicKey, "publicKey");
  if (publicKey.length !== 32) throw new AttestationError("EVIDENCE_MALFORMED", "the public key is not 32 bytes (X25519)");
  const quote = await verifyQuote(evidence, evidenceBytes(evidence.quote, "quote"), policy, options);
  const expected = await reportDataFor(publicKey, evidence.nonce);
  if (!equalBytes(quote.reportData, expected))
    throw new AttestationError("REPORT_DATA_MISMATCH", `the quote's report data (${toHex(quote.reportData).slice(0, 16)}…) does not bind this public key and nonce`);
  applyPolicy(quote, policy);
  return {
    kind: evidence.kind,
    simulated: evidence.kind === "simulated",
    publicKey,
    evidenceSha256: await evidenceSha256(evidence),
    measurement: quote.measurement,
    tcbStatus: quote.tcbStatus,
    quote,
  };
}
