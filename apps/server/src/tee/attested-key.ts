/** What matching needs of an attested provider: the key requesters seal to (docs/TEE.md). */
export interface AttestedKey {
  /** base64 of the X25519 public key. */
  publicKey: string;
  evidenceSha256: string;
}
