/**
 * Sealed tasks (privacy "tee", docs/TEE.md), the requester's half: pick an attested provider,
 * verify its evidence here (the same verifier the server runs: trust neither the provider nor the
 * server), seal the inputs to its key with a fresh reply key, and open the outputs that come back.
 * The reply key never leaves this process.
 */
import type { ProviderPublic, ProviderTee, RawTensor, SubmitTask, TaskView } from "@stun/shared";
import { type AttestationPolicyInput, generateTeeKeyPair, openOutputs, parsePolicy, sealRequest, sealedDigest, verifyEvidence, AttestationError } from "@stun/tee";
import { StunApiError } from "./errors";

export interface TeeOptions {
  /** Seal to this provider (default: the attested provider online with the fewest running tasks, then the lowest price). */
  providerId?: string;
  /**
   * What evidence this client accepts (packages/tee AttestationPolicySchema: measurements, TCB,
   * debug, `allowSimulated`). Default: real hardware only, any measurement. Name your measurements
   * in production: the policy is what you trust.
   */
  policy?: AttestationPolicyInput;
}

/** What a sealed task's handle keeps to open its outputs (in memory only). */
export interface SealedTaskKey {
  providerId: string;
  evidenceSha256: string;
  modelSha256: string;
  inputDigest: string;
  replyPrivateKey: Uint8Array;
}

/** The calls sealing needs (StunClient has them). */
export interface SealingClient {
  providers(): Promise<Array<{ id: string; price: bigint; load: number; tee: ProviderPublic["tee"] }>>;
  providerTee(id: string): Promise<ProviderTee>;
  getModel(id: string): Promise<{ sha256: string }>;
}

/** The attested provider to seal to: the one named, or the least loaded then cheapest online. */
async function chooseProvider(client: SealingClient, tee: TeeOptions): Promise<string> {
  if (tee.providerId) return tee.providerId;
  const attested = (await client.providers()).filter((p) => p.tee?.status === "attested");
  attested.sort((a, b) => a.load - b.load || (a.price < b.price ? -1 : a.price > b.price ? 1 : 0));
  const first = attested[0];
  if (!first) throw new StunApiError(0, "NO_ATTESTED_PROVIDER", "no attested TEE provider is online to seal this task to");
  return first.id;
}

/**
 * Seals a submit: `body` is the clear body (its inputs are moved into the box). Throws
 * ATTESTATION_INVALID (with the verifier's reason code in details) when the evidence does not
 * satisfy this client's policy — then nothing was sent.
 */
export async function sealSubmit(client: SealingClient, body: SubmitTask, inputs: Record<string, RawTensor>, tee: TeeOptions = {}): Promise<{ body: SubmitTask; key: SealedTaskKey }> {
  const providerId = await chooseProvider(client, tee);
  const [{ evidence }, model] = await Promise.all([client.providerTee(providerId), client.getModel(body.modelId)]);
  let attested: Awaited<ReturnType<typeof verifyEvidence>>;
  try {
    attested = await verifyEvidence(evidence, parsePolicy(tee.policy ?? {}));
  } catch (e) {
    if (!(e instanceof AttestationError)) throw e;
    throw new StunApiError(0, "ATTESTATION_INVALID", `provider ${providerId}'s TEE evidence does not satisfy this client's policy: ${e.code}: ${e.message}`, {
      details: { providerId, reason: e.code },
    });
  }
  const reply = await generateTeeKeyPair();
  const box = await sealRequest({ providerPublicKey: attested.publicKey, modelSha256: model.sha256, inputs, replyPublicKey: reply.publicKey });
  return {
    body: { ...body, inputs: {}, requirements: { ...body.requirements, privacy: "tee" }, sealed: { ...box, providerId, evidenceSha256: attested.evidenceSha256 } },
    key: { providerId, evidenceSha256: attested.evidenceSha256, modelSha256: model.sha256, inputDigest: await sealedDigest(box), replyPrivateKey: reply.privateKey },
  };
}

/**
 * A completed sealed task's outputs, opened with the reply key, after checking the receipt names
 * the evidence this client verified and the input it sealed (SEALED_INVALID otherwise).
 */
export async function openSealedTask(view: Pick<TaskView, "id" | "sealed" | "receipt">, key: SealedTaskKey): Promise<Record<string, RawTensor>> {
  if (!view.sealed) throw new StunApiError(0, "SEALED_INVALID", `task ${view.id} came back without sealed outputs`);
  const r = view.receipt;
  if (r && (r.tee?.evidenceSha256 !== key.evidenceSha256 || r.inputDigest !== key.inputDigest || r.modelSha256 !== key.modelSha256)) {
    throw new StunApiError(0, "SEALED_INVALID", `task ${view.id}'s receipt names other evidence, input or model than this client sealed`);
  }
  try {
    return await openOutputs(key.replyPrivateKey, view.sealed, key.modelSha256, key.inputDigest);
  } catch (e) {
    throw new StunApiError(0, "SEALED_INVALID", `task ${view.id}'s outputs do not open with this task's reply key: ${(e as Error).message}`);
  }
}
