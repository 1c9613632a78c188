import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION, PROVIDER_EVENTS, PROVIDER_NAMESPACE, encodeBase64, type Assign, type TeeEvidence } from "@stun/shared";
import { generateTeeKeyPair, makeSimulatedReport, reportDataFor, sealRequest } from "@stun/tee";
import { buildMlp } from "@stun/testkit";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, uploadModel } from "../support/api";
import { loadTeePolicy } from "../../src/tee/tee-policy";

/** A TEE provider written from docs/PROTOCOL.md alone: it makes (simulated) evidence itself and says what it likes. */
class OutsiderProvider {
  readonly assigned: Assign[] = [];
  private constructor(readonly socket: Socket) {
    socket.on(PROVIDER_EVENTS.assign, (a: Assign, ack: (r: unknown) => void) => {
      this.assigned.push(a);
      ack({ ok: true });
    });
  }
  static async connect(url: string, apiKey: string): Promise<OutsiderProvider> {
    const socket = connect(`${url}${PROVIDER_NAMESPACE}`, { auth: { apiKey, protocolVersion: PROTOCOL_VERSION }, transports: ["websocket"], reconnection: false });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    return new OutsiderProvider(socket);
  }
  async challenge(): Promise<string> {
    const ack = await this.socket.timeout(10_000).emitWithAck(PROVIDER_EVENTS.challenge, {});
    return ack.nonce as string;
  }
  register(name: string, tee?: TeeEvidence) {
    return this.socket.timeout(10_000).emitWithAck(PROVIDER_EVENTS.register, { name, kind: "native", backend: "cpu", price: "1", specs: { cores: 4, memoryMb: 4096 }, ...(tee ? { tee } : {}) });
  }
  close(): void {
    this.socket.disconnect();
  }
}

async function simulatedEvidence(nonce: string, publicKey?: Uint8Array): Promise<TeeEvidence> {
  const key = publicKey ?? (await generateTeeKeyPair()).publicKey;
  return { kind: "simulated", publicKey: encodeBase64(key), nonce, quote: encodeBase64(await makeSimulatedReport(await reportDataFor(key, nonce))) };
}

describe("the server's attestation policy", () => {
  it("accepts the simulated TEE locally by default, never in production", () => {
    expect(loadTeePolicy({ STUN_MODE: "local" }).allowSimulated).toBe(true);
    expect(loadTeePolicy({ STUN_MODE: "local", TEE_ALLOW_SIMULATED: false }).allowSimulated).toBe(false);
    expect(loadTeePolicy({ STUN_MODE: "production" }).allowSimulated).toBe(false);
    expect(() => loadTeePolicy({ STUN_MODE: "production", TEE_ALLOW_SIMULATED: true })).toThrow(/never accepted in production/);
    expect(() => loadTeePolicy({ STUN_MODE: "local", TEE_POLICY_FILE: "/nonexistent/policy.json" })).toThrow(/TEE_POLICY_FILE/);
  });
});

describeDb("TEE evidence at registration: verified, recorded attested or refused with the reason", () => {
  let net: TestNetwork;
  let modelId: string;
  const outsiders: OutsiderProvider[] = [];
  const outsider = async () => {
    const account = await net.addProviderAccount();
    const p = await OutsiderProvider.connect(net.url, account.apiKey);
    outsiders.push(p);
    return p;
  };
  const teeOf = async (providerId: string) => {
    const { providers } = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body as { providers: Array<{ id: string; tee: any }> };
    return providers.find((p) => p.id === providerId)?.tee;
  };

  beforeAll(async () => {
    net = await startTestNetwork();
    modelId = await uploadModel(net.url, net.apiKey, buildMlp({ inputSize: 4, hidden: [4], outputSize: 2, seed: 5 }).bytes, "tee-mlp");
  });
  afterAll(async () => {
    for (const o of outsiders) o.close();
    await net?.close();
  });

  it("refuses evidence for another nonce, for no challenge at all, and for a key it does not bind — the provider still works, as a plain one", async () => {
    const a = await outsider();
    const issued = await a.challenge();
    const wrongNonce = await a.register("wrong-nonce", await simulatedEvidence("ab".repeat(32)));
    expect(wrongNonce.ok).toBe(true);
    expect(await teeOf(wrongNonce.providerId)).toMatchObject({ status: "refused", reason: { code: "NONCE_MISMATCH" } });
    expect(issued).toMatch(/^[0-9a-f]{64}$/);

    const b = await outsider();
    const noChallenge = await b.register("no-challenge", await simulatedEvidence("cd".repeat(32)));
    expect(await teeOf(noChallenge.providerId)).toMatchObject({ status: "refused", reason: { code: "NONCE_MISMATCH" } });

    const c = await outsider();
    const nonce = await c.challenge();
    const evidence = await simulatedEvidence(nonce);
    const other = await generateTeeKeyPair();
    const swapped = await c.register("swapped-key", { ...evidence, publicKey: encodeBase64(other.publicKey) });
    expect(await teeOf(swapped.providerId)).toMatchObject({ status: "refused", reason: { code: "REPORT_DATA_MISMATCH" } });
    // A nonce is used once: the same evidence again is refused.
    const again = await c.register("swapped-key", evidence);
    expect(await teeOf(again.providerId)).toMatchObject({ status: "refused", reason: { code: "NONCE_MISMATCH" } });
    // Refused providers have no evidence to hand out.
    expect((await api(net.url, "GET", `/providers/${again.providerId}/tee`, { key: net.apiKey })).status).toBe(404);
  });

  it("attests good evidence; fresh evidence that fails takes the provider out of sealed work", async () => {
    const p = await outsider();
    const keys = await generateTeeKeyPair();
    const reg = await p.register("good", await simulatedEvidence(await p.challenge(), keys.publicKey));
    const attested = await teeOf(reg.providerId);
    expect(attested).toMatchObject({ status: "attested", kind: "simulated", simulated: true });
    const tampered = await simulatedEvidence(await p.challenge(), keys.publicKey);
    const quote = Buffer.from(tampered.quote, "base64");
    quote[20]! ^= 1;
    const ack = await p.socket.timeout(10_000).emitWithAck(PROVIDER_EVENTS.attest, { tee: { ...tampered, quote: quote.toString("base64") } });
    expect(ack).toMatchObject({ ok: false, error: { code: "SIGNATURE_INVALID" } });
    expect(await teeOf(reg.providerId)).toMatchObject({ status: "refused", reason: { code: "SIGNATURE_INVALID" } });
    const box = await sealRequest({ providerPublicKey: keys.publicKey, modelSha256: "0".repeat(64), inputs: {}, replyPublicKey: keys.publicKey });
    const submit = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, requirements: { privacy: "tee" }, sealed: { ...box, providerId: reg.providerId, evidenceSha256: attested.evidenceSha256 } },
    });
    expect(submit.body.error.code).toBe("REQUIREMENTS_UNSATISFIABLE");
  });

  it("refuses a sealed task's result that comes back in the clear (OUTPUT_INVALID), and stores nothing of it", async () => {
    const p = await outsider();
    const keys = await generateTeeKeyPair();
    const reg = await p.register("cheat", await simulatedEvidence(await p.challenge(), keys.publicKey));
    const { attestation } = (await api(net.url, "GET", `/providers/${reg.providerId}/tee`, { key: net.apiKey })).body;
    const model = (await api(net.url, "GET", `/models/${modelId}`, { key: net.apiKey })).body;
    const box = await sealRequest({
      providerPublicKey: keys.publicKey,
      modelSha256: model.sha256,
      inputs: { x: { dtype: "float32", dims: [1, 4], data: new Uint8Array(16) } },
      replyPublicKey: keys.publicKey,
    });
    const submit = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, requirements: { privacy: "tee" }, sealed: { ...box, providerId: reg.providerId, evidenceSha256: attestation.evidenceSha256 }, maxPrice: "10", deadlineSeconds: 120 },
    });
    expect(submit.status).toBe(202);
    const a = await eventually(async () => p.assigned.find((x) => x.taskId === submit.body.id), 20_000, "the sealed assignment");
    expect(a.inputs).toEqual({});
    expect(a.sealed).toEqual(box);
    const clear = { y: { dtype: "float32", dims: [1, 2], data: new Uint8Array(8) } };
    const ack = await p.socket.timeout(10_000).emitWithAck(PROVIDER_EVENTS.result, { assignmentId: a.assignmentId, outputs: clear, timings: { fetchMs: 0, loadMs: 0, runMs: 1 } });
    expect(ack).toMatchObject({ ok: false, error: { code: "OUTPUT_INVALID" } });
    const view = (await api(net.url, "GET", `/tasks/${submit.body.id}`, { key: net.apiKey })).body;
    expect(view.status).not.toBe("completed");
    expect(view.verification.executions[0]).toMatchObject({ status: "failed", outputDigest: null });
  });
});

describeDb("a server that does not accept the simulated TEE", () => {
  let net: TestNetwork;
  beforeAll(async () => {
    net = await startTestNetwork({ env: { TEE_ALLOW_SIMULATED: "false" } });
  });
  afterAll(async () => net?.close());

  it("records simulated evidence as refused (SIMULATED_NOT_ALLOWED)", async () => {
    const account = await net.addProviderAccount();
    const p = await OutsiderProvider.connect(net.url, account.apiKey);
    try {
      const reg = await p.register("sim", await simulatedEvidence(await p.challenge()));
      const { providers } = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body;
      expect(providers.find((x: { id: string }) => x.id === reg.providerId).tee).toMatchObject({ status: "refused", reason: { code: "SIMULATED_NOT_ALLOWED" } });
    } finally {
      p.close();
    }
  });
});
