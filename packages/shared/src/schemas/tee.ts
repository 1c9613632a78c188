import { z } from "zod";
import { IdSchema, Sha256Schema } from "./common";

/**
 * Confidential inference (docs/TEE.md). A TEE provider proves with hardware evidence that an
 * HPKE key pair lives inside an attested guest; requesters seal task inputs to that key and the
 * server only ever stores and relays ciphertext.
 */

/** tdx: an Intel TDX quote (DCAP v4/v5); sev-snp: an AMD SEV-SNP attestation report; simulated: a software stand-in for development (never accepted in production). */
export const TEE_KINDS = ["tdx", "sev-snp", "simulated"] as const;
export const TeeKindSchema = z.enum(TEE_KINDS);
export type TeeKind = z.infer<typeof TeeKindSchema>;

/** Standard base64 of at most `maxBytes` bytes (checked by length only; decoding checks the rest). */
export const base64Of = (maxBytes: number) =>
  z
    .string()
    .max(Math.ceil(maxBytes / 3) * 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, "not base64");

/** A hex string of exactly `bytes` bytes, lower case. */
export const hexOf = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `not ${bytes} bytes of lower-case hex`);

/** The most a quote/report may weigh (a TDX v5 quote with its certification chain is ~5-8 KiB). */
export const MAX_QUOTE_BYTES = 64 * 1024;
/** The most TDX collateral may weigh as JSON (Intel's is ~20-40 KiB: TCB info, QE identity, CRLs, chains). */
export const MAX_COLLATERAL_JSON = 256 * 1024;

/** SEV-SNP certificates (DER): the VCEK that signed the report and, optionally, the ASK/ARK above it (the verifier pins AMD's roots). */
export const SnpCertificatesSchema = z.object({
  vcek: base64Of(16 * 1024),
  ask: base64Of(16 * 1024).optional(),
  ark: base64Of(16 * 1024).optional(),
});
export type SnpCertificates = z.infer<typeof SnpCertificatesSchema>;

/**
 * What a TEE provider sends with `provider:register` / `provider:attest`: the quote binds
 * `reportData = SHA-512("stun-tee-v1\0" || publicKey || nonce)` (packages/tee `reportDataFor`).
 */
export const TeeEvidenceSchema = z.object({
  kind: TeeKindSchema,
  /** The provider's HPKE public key (X25519, 32 bytes), base64. */
  publicKey: base64Of(32),
  /** The server's challenge this evidence answers (32 bytes, hex). */
  nonce: hexOf(32),
  /** The raw quote (tdx), report (sev-snp) or simulated report, base64. */
  quote: base64Of(MAX_QUOTE_BYTES),
  /** tdx: the DCAP collateral (Intel-signed; the provider's PCCS or the server's fetches it). */
  collateral: z
    .record(z.string(), z.unknown())
    .refine((c) => JSON.stringify(c).length <= MAX_COLLATERAL_JSON, `collateral is larger than ${MAX_COLLATERAL_JSON} bytes of JSON`)
    .optional(),
  /** sev-snp: the certificate chain. */
  certificates: SnpCertificatesSchema.optional(),
});
export type TeeEvidence = z.infer<typeof TeeEvidenceSchema>;

/** What the server accepted (or refused) of a provider's evidence: shown on GET /providers. */
export const TeeAttestationViewSchema = z.object({
  status: z.enum(["attested", "refused"]),
  kind: TeeKindSchema,
  simulated: z.boolean(),
  /** sha256 of the canonical evidence (packages/tee `evidenceSha256`): what a sealed task names. */
  evidenceSha256: Sha256Schema,
  /** The launch measurement (TDX MRTD, SNP MEASUREMENT), hex. */
  measurement: z.string().max(200).nullable(),
  tcbStatus: z.string().max(64).nullable(),
  /** Why it was refused (a stable code and a sentence). */
  reason: z.object({ code: z.string().max(64), message: z.string().max(2000) }).nullable(),
  verifiedAt: z.string(),
});
export type TeeAttestationView = z.infer<typeof TeeAttestationViewSchema>;

/** An HPKE ciphertext (RFC 9180 single-shot): `enc` is the encapsulated key. */
export const SealedBoxSchema = z.object({
  enc: base64Of(32),
  ciphertext: base64Of(256 * 1024 * 1024),
});
export type SealedBox = z.infer<typeof SealedBoxSchema>;

/**
 * A sealed task's input, sealed by the requester to one attested provider's key. The plaintext
 * (packages/tee `SealedRequest`) carries the tensors and the requester's reply key, and the AAD binds the model's sha256.
 */
export const SealedInputSchema = SealedBoxSchema.extend({
  providerId: IdSchema,
  /** The evidence the requester verified before sealing (the receipt repeats it). */
  evidenceSha256: Sha256Schema,
});
export type SealedInput = z.infer<typeof SealedInputSchema>;
