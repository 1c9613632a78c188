import { StunError, TeeAttestationViewSchema, TeeEvidenceSchema, type SubmitTask } from "@stun/shared";
import { sealedBoxBytes } from "@stun/tee";
import type { AppContext } from "../context";
import type { StoredVerification } from "../tasks/verification";

/** A submit's input as the server stores it: the bytes of the input blob, their meta and the verification. */
export interface PreparedInput {
  bytes: Uint8Array;
  meta: Record<string, { dtype: string; dims: number[] }>;
  verification: StoredVerification;
}

/**
 * A sealed task's input (privacy "tee", docs/TEE.md): the box, stored as it came, for the attested
 * provider it was sealed to. The server checks only what it can see: that provider is attested now
 * with the evidence the requester verified. Sealed tasks run once, in the TEE (receipt check
 * `attested`): the server cannot compare outputs it cannot read.
 */
export async function prepareSealedInput(app: AppContext, body: SubmitTask): Promise<PreparedInput> {
  const sealed = body.sealed;
  if (body.requirements?.privacy !== "tee" || !sealed) {
    throw new StunError("VALIDATION_FAILED", `a sealed input needs requirements.privacy "tee", and privacy "tee" needs a sealed input (docs/TEE.md)`);
  }
  if (Object.keys(body.inputs ?? {}).length > 0) throw new StunError("VALIDATION_FAILED", "a sealed task carries no inputs in the clear: put them all in the sealed box");
  const mode = body.verification?.mode ?? "auto";
  if (mode !== "auto" && mode !== "none") {
    throw new StunError("REQUIREMENTS_UNSATISFIABLE", `a sealed task runs once, in the attested TEE: verification "${mode}" is not offered for privacy "tee" (docs/TEE.md)`);
  }
  const row = await app.db.prisma.provider.findUnique({ where: { id: sealed.providerId }, select: { teeAttestation: true, teeEvidence: true } });
  const attestation = TeeAttestationViewSchema.safeParse(row?.teeAttestation);
  const evidence = TeeEvidenceSchema.safeParse(row?.teeEvidence);
  if (!row || !attestation.success || attestation.data.status !== "attested" || !evidence.success) {
    throw new StunError("REQUIREMENTS_UNSATISFIABLE", `provider ${sealed.providerId} is not an attested TEE provider`);
  }
  if (attestation.data.evidenceSha256 !== sealed.evidenceSha256) {
    throw new StunError(
      "EVIDENCE_STALE",
      `provider ${sealed.providerId} now holds other evidence (${attestation.data.evidenceSha256}): fetch GET /providers/${sealed.providerId}/tee, verify it and seal again`,
    );
  }
  const a = attestation.data;
  return {
    bytes: sealedBoxBytes(sealed),
    meta: {},
    verification: {
      mode: "none",
      replicas: 1,
      argmax: false,
      tee: { providerId: sealed.providerId, publicKey: evidence.data.publicKey, evidenceSha256: a.evidenceSha256, kind: a.kind, simulated: a.simulated, measurement: a.measurement },
    },
  };
}
