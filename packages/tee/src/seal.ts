/**
 * Sealing tensors to an attested key (HPKE, RFC 9180, base mode: DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, AES-128-GCM). Pure JS X25519, so the same code runs in Node and in the page.
 *
 * A sealed request (requester → TEE provider) carries the requester's reply key inside the
 * ciphertext, so the server cannot swap it; its AAD binds the model's sha256, so the server cannot
 * run the inputs through another model. The sealed outputs (provider → requester) bind the model
 * and the digest of the sealed input they answer.
 */
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256 as NativeX25519, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 as JsX25519 } from "@hpke/dhkem-x25519";
import { deserializeTensorMap, type RawTensor, type SealedBox, serializeTensorMap, StunError } from "@stun/shared";
import { b64, boxBytes, concatBytes, sha256Hex, toHex, utf8 } from "./bytes";

/**
 * X25519 from WebCrypto where the runtime has it (Node 20, current Chromium: ~10x faster), else the
 * pure-JS one; both read and write the same raw 32-byte keys, so either end may use either.
 */
const suiteReady: Promise<CipherSuite> = (async () => {
  let native = false;
  try {
    await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
    native = true;
  } catch {
    native = false;
  }
  return new CipherSuite({ kem: native ? new NativeX25519() : new JsX25519(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
})();
const INFO = utf8("stun-tee-v1");
const REQUEST_MAGIC = utf8("STSR");
const REQUEST_VERSION = 1;

/** Raw X25519 keys (32 bytes each). Keep `privateKey` where the plaintext may live: the TEE, or the requester's process. */
export interface TeeKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export async function generateTeeKeyPair(): Promise<TeeKeyPair> {
  const suite = await suiteReady;
  const pair = await suite.kem.generateKeyPair();
  return {
    publicKey: new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey)),
    privateKey: new Uint8Array(await suite.kem.serializePrivateKey(pair.privateKey)),
  };
}

const inputAad = (modelSha256: string) => utf8(`stun-tee-v1/input\0${modelSha256}`);
const outputAad = (modelSha256: string, inputDigest: string) => utf8(`stun-tee-v1/output\0${modelSha256}\0${inputDigest}`);

async function seal(recipient: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<SealedBox> {
  const suite = await suiteReady;
  const recipientPublicKey = await suite.kem.deserializePublicKey(recipient);
  const { enc, ct } = await suite.seal({ recipientPublicKey, info: INFO }, plaintext, aad);
  return { enc: b64(new Uint8Array(enc)), ciphertext: b64(new Uint8Array(ct)) };
}

async function open(privateKey: Uint8Array, box: SealedBox, aad: Uint8Array, what: string): Promise<Uint8Array> {
  const suite = await suiteReady;
  const recipientKey = await suite.kem.deserializePrivateKey(privateKey);
  try {
    return new Uint8Array(await suite.open({ recipientKey, enc: boxBytes(box.enc, `${what}.enc`), info: INFO }, boxBytes(box.ciphertext, `${what}.ciphertext`), aad));
  } catch (e) {
    if (e instanceof StunError) throw e;
    throw new StunError("SEALED_INVALID", `${what} does not open with this key for this model (tampered, sealed to another key or another model)`);
  }
}

const ENC_BYTES = 32;

/** A box as one byte string, `enc ‖ ciphertext` (X25519's enc is 32 bytes): how the server stores it. */
export function sealedBoxBytes(box: SealedBox): Uint8Array {
  const enc = boxBytes(box.enc, "enc");
  if (enc.length !== ENC_BYTES) throw new StunError("VALIDATION_FAILED", `enc is ${ENC_BYTES} bytes (X25519), not ${enc.length}`);
  return concatBytes(enc, boxBytes(box.ciphertext, "ciphertext"));
}

export function sealedBoxFromBytes(bytes: Uint8Array): SealedBox {
  if (bytes.length < ENC_BYTES + 16) throw new StunError("SEALED_INVALID", "too short for a sealed box");
  return { enc: b64(bytes.subarray(0, ENC_BYTES)), ciphertext: b64(bytes.subarray(ENC_BYTES)) };
}

/** sha256 (hex) of `enc ‖ ciphertext`: a sealed task's input/output digest and blob address. */
export const sealedDigest = async (box: SealedBox): Promise<string> => sha256Hex(sealedBoxBytes(box));

export interface SealRequestOptions {
  /** The attested provider's HPKE public key (from the evidence the requester verified). */
  providerPublicKey: Uint8Array;
  modelSha256: string;
  inputs: Record<string, RawTensor>;
  /** Where the outputs are sealed to: the requester's own key. */
  replyPublicKey: Uint8Array;
}

export async function sealRequest(o: SealRequestOptions): Promise<SealedBox> {
  if (o.replyPublicKey.length !== 32) throw new RangeError("the reply key is 32 bytes (X25519)");
  const plaintext = concatBytes(REQUEST_MAGIC, new Uint8Array([REQUEST_VERSION]), o.replyPublicKey, serializeTensorMap(o.inputs));
  return seal(o.providerPublicKey, plaintext, inputAad(o.modelSha256));
}

export interface OpenedRequest {
  inputs: Record<string, RawTensor>;
  replyPublicKey: Uint8Array;
  /** sealedDigest of the input box (the output seal binds it). */
  inputDigest: string;
}

/** In the TEE: opens a sealed request for the model the assignment names. */
export async function openRequest(privateKey: Uint8Array, box: SealedBox, modelSha256: string): Promise<OpenedRequest> {
  const plain = await open(privateKey, box, inputAad(modelSha256), "sealed input");
  const head = REQUEST_MAGIC.length + 1;
  if (plain.length < head + 32 || toHex(plain.subarray(0, REQUEST_MAGIC.length)) !== toHex(REQUEST_MAGIC) || plain[REQUEST_MAGIC.length] !== REQUEST_VERSION)
    throw new StunError("SEALED_INVALID", "the sealed input is not a version-1 sealed request");
  return {
    replyPublicKey: plain.slice(head, head + 32),
    inputs: deserializeTensorMap(plain.subarray(head + 32)),
    inputDigest: await sealedDigest(box),
  };
}

/** In the TEE: seals the outputs to the requester's reply key. */
export async function sealOutputs(replyPublicKey: Uint8Array, outputs: Record<string, RawTensor>, modelSha256: string, inputDigest: string): Promise<SealedBox> {
  return seal(replyPublicKey, serializeTensorMap(outputs), outputAad(modelSha256, inputDigest));
}

/** At the requester: opens the outputs of the sealed input whose digest is `inputDigest`. */
export async function openOutputs(replyPrivateKey: Uint8Array, box: SealedBox, modelSha256: string, inputDigest: string): Promise<Record<string, RawTensor>> {
  return deserializeTensorMap(await open(replyPrivateKey, box, outputAad(modelSha256, inputDigest), "sealed output"));
}
