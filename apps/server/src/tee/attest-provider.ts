import { createHash } from "node:crypto";
import type { TeeAttestationView, TeeEvidence } from "@stun/shared";
import { AttestationError, evidenceSha256, verifyEvidence } from "@stun/tee";
import type { AppContext } from "../context";
import type { AttestedKey } from "./attested-key";
import { pccsCollateral } from "./pccs-collateral";

export interface AttestationOutcome {
  view: TeeAttestationView;
  /** Set when the evidence was accepted. */
  key?: AttestedKey;
}

let collateral: { url: string; fetch: (quote: Uint8Array) => Promise<unknown> } | undefined;
function collateralFetcher(app: AppContext): ((quote: Uint8Array) => Promise<unknown>) | undefined {
  const url = app.config.TEE_PCCS_URL;
  if (!url) return undefined;
  if (collateral?.url !== url) collateral = { url, fetch: pccsCollateral(url) };
  return collateral.fetch;
}

/**
 * Verifies a provider's evidence against the server's policy and the nonce this socket was issued
 * (single use: the caller clears it). Evidence that does not verify is not an error for the
 * provider: it is recorded as refused, with the reason, and the provider works as a plain one.
 */
export async function attestEvidence(app: AppContext, evidence: TeeEvidence, nonce: string | undefined): Promise<AttestationOutcome> {
  const verifiedAt = new Date().toISOString();
  const sha = await evidenceSha256(evidence).catch(() =>
    createHash("sha256")
      .update(JSON.stringify([evidence.kind, evidence.publicKey, evidence.nonce, evidence.quote]))
      .digest("hex"),
  );
  const base = { kind: evidence.kind, simulated: evidence.kind === "simulated", evidenceSha256: sha, verifiedAt };
  try {
    if (nonce === undefined) throw new AttestationError("NONCE_MISMATCH", "no challenge was issued to this connection: ask provider:challenge, then send evidence answering its nonce");
    const fetchCollateral = collateralFetcher(app);
    const a = await verifyEvidence(evidence, app.config.teePolicy, { expectedNonce: nonce, ...(fetchCollateral ? { fetchCollateral } : {}) });
    return {
      view: { ...base, status: "attested", measurement: a.measurement, tcbStatus: a.tcbStatus, reason: null },
      key: { publicKey: evidence.publicKey, evidenceSha256: a.evidenceSha256 },
    };
  } catch (e) {
    const reason =
      e instanceof AttestationError ? { code: e.code, message: e.message } : { code: "EVIDENCE_MALFORMED", message: `the evidence could not be checked: ${(e as Error).message}`.slice(0, 2000) };
    app.log.warn({ kind: evidence.kind, reason: reason.code }, "TEE evidence refused");
    return { view: { ...base, status: "refused", measurement: null, tcbStatus: null, reason } };
  }
}
