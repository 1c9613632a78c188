import { decodeBase64, encodeBase64, StunError, type TeeEvidence } from "@stun/shared";
import { describe, expect, it } from "vitest";
import { refusal } from "./support/evidence";
import { AttestationError, evidenceSha256, generateTeeKeyPair, makeSimulatedReport, openOutputs, openRequest, parsePolicy, reportDataFor, sealOutputs, sealRequest, verifyEvidence } from "../src";

const MODEL = "a".repeat(64);
const OTHER_MODEL = "b".repeat(64);
const NONCE = "0f".repeat(32);
const inputs = { x: { dtype: "float32" as const, dims: [1, 3], data: new Uint8Array(new Float32Array([1, 2, 3]).buffer) } };

async function simulatedEvidence(options: { debug?: boolean; nonce?: string; bindNonce?: string } = {}) {
  const keys = await generateTeeKeyPair();
  const nonce = options.nonce ?? NONCE;
  const report = await makeSimulatedReport(await reportDataFor(keys.publicKey, options.bindNonce ?? nonce), { debug: options.debug ?? false });
  const evidence: TeeEvidence = { kind: "simulated", publicKey: encodeBase64(keys.publicKey), nonce, quote: encodeBase64(report) };
  return { keys, evidence, report };
}

const dev = parsePolicy({ allowSimulated: true });
const production = parsePolicy({});

const refusalCode = async (p: Promise<unknown>): Promise<string> => (await refusal(p)).code;

describe("simulated evidence", () => {
  it("is accepted by a development policy and names the key it binds", async () => {
    const { keys, evidence } = await simulatedEvidence();
    const a = await verifyEvidence(evidence, dev, { expectedNonce: NONCE });
    expect(a.simulated).toBe(true);
    expect(a.publicKey).toEqual(keys.publicKey);
    expect(a.evidenceSha256).toBe(await evidenceSha256(evidence));
    expect(a.measurement).toMatch(/^[0-9a-f]{96}$/);
  });

  it("is refused by the production policy", async () => {
    const { evidence } = await simulatedEvidence();
    expect(await refusalCode(verifyEvidence(evidence, production))).toBe("SIMULATED_NOT_ALLOWED");
  });

  it("refuses another key, another nonce, a tampered report and a debug guest, each with its reason", async () => {
    const { evidence, report } = await simulatedEvidence();
    const other = await generateTeeKeyPair();
    expect(await refusalCode(verifyEvidence({ ...evidence, publicKey: encodeBase64(other.publicKey) }, dev))).toBe("REPORT_DATA_MISMATCH");
    expect(await refusalCode(verifyEvidence(evidence, dev, { expectedNonce: "1f".repeat(32) }))).toBe("NONCE_MISMATCH");
    const stale = await simulatedEvidence({ bindNonce: "2f".repeat(32) });
    expect(await refusalCode(verifyEvidence(stale.evidence, dev))).toBe("REPORT_DATA_MISMATCH");
    const flipped = report.slice();
    flipped[20]! ^= 1;
    expect(await refusalCode(verifyEvidence({ ...evidence, quote: encodeBase64(flipped) }, dev))).toBe("SIGNATURE_INVALID");
    expect(await refusalCode(verifyEvidence({ ...evidence, quote: encodeBase64(report.subarray(0, 100)) }, dev))).toBe("EVIDENCE_MALFORMED");
    const debug = await simulatedEvidence({ debug: true });
    // A debug simulated guest is still simulated: development accepts it, production never parses it.
    expect((await verifyEvidence(debug.evidence, dev)).quote.debug).toBe(true);
  });

  it("refuses evidence with no collateral or certificates for the hardware kinds", async () => {
    const { evidence } = await simulatedEvidence();
    expect(await refusalCode(verifyEvidence({ ...evidence, kind: "tdx" }, production))).toBe("COLLATERAL_INVALID");
    expect(await refusalCode(verifyEvidence({ ...evidence, kind: "sev-snp" }, production))).toBe("EVIDENCE_MALFORMED");
  });
});

describe("sealing", () => {
  it("interoperates with the pure-JS X25519 (what a browser without WebCrypto X25519 uses)", async () => {
    const { Aes128Gcm, CipherSuite, HkdfSha256 } = await import("@hpke/core");
    const { DhkemX25519HkdfSha256 } = await import("@hpke/dhkem-x25519");
    const js = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
    const pair = await js.kem.generateKeyPair();
    const provider = { publicKey: new Uint8Array(await js.kem.serializePublicKey(pair.publicKey)), privateKey: new Uint8Array(await js.kem.serializePrivateKey(pair.privateKey)) };
    const requester = await generateTeeKeyPair();
    const box = await sealRequest({ providerPublicKey: provider.publicKey, modelSha256: MODEL, inputs, replyPublicKey: requester.publicKey });
    const plain = await js.open(
      { recipientKey: pair, enc: decodeBase64(box.enc), info: new TextEncoder().encode("stun-tee-v1") },
      decodeBase64(box.ciphertext),
      new TextEncoder().encode(`stun-tee-v1/input\0${MODEL}`),
    );
    expect(new TextDecoder().decode(new Uint8Array(plain).subarray(0, 4))).toBe("STSR");
    expect((await openRequest(provider.privateKey, box, MODEL)).replyPublicKey).toEqual(requester.publicKey);
  });

  it("round-trips inputs to the provider and outputs to the requester, and nobody else opens them", async () => {
    const provider = await generateTeeKeyPair();
    const requester = await generateTeeKeyPair();
    const box = await sealRequest({ providerPublicKey: provider.publicKey, modelSha256: MODEL, inputs, replyPublicKey: requester.publicKey });
    expect(decodeBase64(box.ciphertext).length).toBeGreaterThan(12);
    const opened = await openRequest(provider.privateKey, box, MODEL);
    expect(opened.replyPublicKey).toEqual(requester.publicKey);
    expect(new Float32Array((opened.inputs.x!.data as Uint8Array).slice().buffer)).toEqual(new Float32Array([1, 2, 3]));

    const outputs = { y: { dtype: "float32" as const, dims: [1], data: new Uint8Array(new Float32Array([6]).buffer) } };
    const sealedOut = await sealOutputs(opened.replyPublicKey, outputs, MODEL, opened.inputDigest);
    const back = await openOutputs(requester.privateKey, sealedOut, MODEL, opened.inputDigest);
    expect(new Float32Array((back.y!.data as Uint8Array).slice().buffer)).toEqual(new Float32Array([6]));

    const code = (p: Promise<unknown>) =>
      p.then(
        () => "opened",
        (e: unknown) => (e instanceof StunError ? e.code : String(e)),
      );
    // Another key, another model (the server swapped it), a flipped byte, outputs for another input.
    expect(await code(openRequest(requester.privateKey, box, MODEL))).toBe("SEALED_INVALID");
    expect(await code(openRequest(provider.privateKey, box, OTHER_MODEL))).toBe("SEALED_INVALID");
    const ct = decodeBase64(box.ciphertext);
    ct[0]! ^= 1;
    expect(await code(openRequest(provider.privateKey, { ...box, ciphertext: encodeBase64(ct) }, MODEL))).toBe("SEALED_INVALID");
    expect(await code(openOutputs(requester.privateKey, sealedOut, MODEL, "c".repeat(64)))).toBe("SEALED_INVALID");
    expect(await code(openRequest(provider.privateKey, { ...box, enc: "not base64!" }, MODEL))).toBe("VALIDATION_FAILED");
  });
});

describe("the evidence schema", () => {
  it("bounds what a provider may make the server store", async () => {
    const { TeeEvidenceSchema, MAX_COLLATERAL_JSON } = await import("@stun/shared");
    const base = { kind: "tdx", publicKey: "A".repeat(43) + "=", nonce: "0".repeat(64), quote: "AAAA" };
    expect(TeeEvidenceSchema.safeParse({ ...base, collateral: { tcb_info: "x" } }).success).toBe(true);
    expect(TeeEvidenceSchema.safeParse({ ...base, collateral: { padding: "x".repeat(MAX_COLLATERAL_JSON) } }).success).toBe(false);
    expect(TeeEvidenceSchema.safeParse({ ...base, nonce: "zz" }).success).toBe(false);
    expect(TeeEvidenceSchema.safeParse({ ...base, kind: "sgx" }).success).toBe(false);
  });
});
