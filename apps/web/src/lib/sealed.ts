"use client";
/**
 * Sealed tasks (privacy "tee", docs/TEE.md) in the page: the same steps as the SDK's sealSubmit and
 * openSealedTask (packages/sdk/src/sealed.ts), on @stun/tee. The provider's evidence is verified
 * here, against this page's policy — the page trusts neither the provider nor the server — the
 * inputs are sealed here, and the reply key that opens the outputs stays in this tab's
 * sessionStorage: it is never sent anywhere.
 */
import type { RawTensor, SealedInput, TaskView, TeeKind } from "@stun/shared";
import { AttestationError, fromHex, generateTeeKeyPair, openOutputs, parsePolicy, sealRequest, sealedDigest, toHex, verifyEvidence } from "@stun/tee";
import { ClientError } from "./errors";
import { trpc } from "./trpc";

/** What this page made of a provider's evidence. */
export interface PageAttestation {
  providerId: string;
  kind: TeeKind;
  simulated: boolean;
  measurement: string;
  evidenceSha256: string;
  publicKey: Uint8Array;
}

/**
 * Fetches a provider's current evidence and verifies it here. Throws ClientError with the
 * verifier's reason code (SIMULATED_NOT_ALLOWED, MEASUREMENT_NOT_ALLOWED, ...) when the policy
 * refuses it.
 */
export async function verifyProviderInPage(providerId: string, allowSimulated: boolean): Promise<PageAttestation> {
  const { evidence } = await trpc.network.providerTee.query({ id: providerId });
  try {
    const a = await verifyEvidence(evidence, parsePolicy({ allowSimulated }));
    return { providerId, kind: a.kind, simulated: a.simulated, measurement: a.measurement, evidenceSha256: a.evidenceSha256, publicKey: a.publicKey };
  } catch (e) {
    if (e instanceof AttestationError) throw new ClientError(e.code, `This page refused the provider's TEE evidence: ${e.message}`);
    throw e;
  }
}

/** What the tab keeps to open a sealed task's outputs (sessionStorage, per task). */
export interface SealedTaskKey {
  providerId: string;
  kind: TeeKind;
  simulated: boolean;
  measurement: string;
  evidenceSha256: string;
  modelSha256: string;
  inputDigest: string;
  /** X25519 private key, hex. */
  replyPrivateKey: string;
}

/** Seals `inputs` to an attested key with a fresh reply key pair: the submit's `sealed` and the key to keep. */
export async function sealInPage(attestation: PageAttestation, modelSha256: string, inputs: Record<string, RawTensor>): Promise<{ sealed: SealedInput; key: SealedTaskKey }> {
  const reply = await generateTeeKeyPair();
  const box = await sealRequest({ providerPublicKey: attestation.publicKey, modelSha256, inputs, replyPublicKey: reply.publicKey });
  const { providerId, kind, simulated, measurement, evidenceSha256 } = attestation;
  return {
    sealed: { ...box, providerId, evidenceSha256 },
    key: { providerId, kind, simulated, measurement, evidenceSha256, modelSha256, inputDigest: await sealedDigest(box), replyPrivateKey: toHex(reply.privateKey) },
  };
}

const storageKey = (taskId: string) => `stun.sealed.${taskId}`;

export function storeSealedKey(taskId: string, key: SealedTaskKey): void {
  try {
    window.sessionStorage.setItem(storageKey(taskId), JSON.stringify(key));
  } catch {
    // storage refused (private mode quota): the outputs will not open in this tab
  }
}

export function loadSealedKey(taskId: string): SealedTaskKey | null {
  try {
    const raw = window.sessionStorage.getItem(storageKey(taskId));
    return raw ? (JSON.parse(raw) as SealedTaskKey) : null;
  } catch {
    return null;
  }
}

/**
 * A completed sealed task's outputs, opened with the tab's reply key, after checking that the
 * receipt names the evidence this page verified, the input it sealed and the model (SEALED_INVALID
 * otherwise).
 */
export async function openSealedInPage(view: Pick<TaskView, "id" | "sealed" | "receipt">, key: SealedTaskKey): Promise<Record<string, RawTensor>> {
  if (!view.sealed) throw new ClientError("SEALED_INVALID", `Task ${view.id} came back without sealed outputs.`);
  const r = view.receipt;
  if (r && (r.tee?.evidenceSha256 !== key.evidenceSha256 || r.inputDigest !== key.inputDigest || r.modelSha256 !== key.modelSha256)) {
    throw new ClientError("SEALED_INVALID", `Task ${view.id}'s receipt names other evidence, input or model than this page sealed.`);
  }
  try {
    return await openOutputs(fromHex(key.replyPrivateKey), view.sealed, key.modelSha256, key.inputDigest);
  } catch (e) {
    throw new ClientError("SEALED_INVALID", `Task ${view.id}'s outputs do not open with this tab's reply key: ${(e as Error).message}`);
  }
}
