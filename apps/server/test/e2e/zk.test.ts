/**
 * Verification mode zk end to end: real agents (child processes) prove with snarkjs, the server
 * verifies with the model's verification key before accepting, and the receipt carries a proof
 * anyone can check. The circuit (an MLP 4-8-3, 968 constraints) uses the 2^11 development
 * ceremony cached in circuits/.cache (built on first use: ~1 min cold).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildMlp, buildSoftmaxModel } from "@stun/testkit";
import { addressToField, buildModelCircuit, inputHashOf, shutdownZk, taskIdToField, verifyInference } from "@stun/circuits";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, float32Of, runTask, toJsonTensor, waitTask, waitZkReady } from "../support/api";

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 11, batch: 1 });
const input = new Float32Array([0.5, -1.25, 2, 0.75]);
const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(input.buffer.slice(0)) });

describeDb("verification mode zk", () => {
  let net: TestNetwork;
  let modelId: string;

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 1, env: { ZK_FEE_PER_1K_CONSTRAINTS: "5" } });
    const up = await api(net.url, "POST", "/models", { key: net.apiKey, bytes: mlp.bytes });
    modelId = up.body.id;
  }, 300_000);
  afterAll(async () => {
    await net?.close();
    await shutdownZk();
  });

  it("proves on a native provider, verifies on the server, and delivers the proven outputs and a checkable receipt", async () => {
    const before = await api(net.url, "GET", `/models/${modelId}/zk`, { key: net.apiKey });
    expect(["compiling", "ready"]).toContain(before.body.status);
    // The quote taken while the circuit may still be building names the fee the task is charged
    // after the build (docs/PRICING.md: priced on the front end's estimate either way).
    const quoted = (await api(net.url, "GET", `/quote?modelId=${modelId}&mode=zk`, { key: net.apiKey })).body;
    expect(quoted.zk.fee).toBe(before.body.fee);
    expect(["estimate", "built"]).toContain(quoted.zk.basis); // the build may finish between the two calls
    expect(quoted.executions).toBe(1);
    const status = await waitZkReady(net.url, net.apiKey, modelId);
    expect(status.fee).toBe(quoted.zk.fee);
    expect((await api(net.url, "GET", `/quote?modelId=${modelId}&mode=zk`, { key: net.apiKey })).body.zk).toMatchObject({ fee: quoted.zk.fee, basis: "built" });
    // ~968 constraints at 5 base units per 1,000, rounded up.
    expect(status).toMatchObject({ status: "ready", nPublic: 7 });
    expect(BigInt(status.fee)).toBeGreaterThan(0n);

    const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x }, verification: { mode: "zk" }, maxPrice: "100" }, 120);
    expect(done.error).toBeUndefined();
    expect(done.status).toBe("completed");
    expect(done.verification).toMatchObject({ mode: "zk", replicas: 1, outcome: "accepted" });
    expect(done.receipt.qa).toEqual({ kind: "user", check: "proof", recheck: "none" });
    // The outputs are the ones the proof publishes: within the fixed-point error of the float model.
    const got = float32Of(done.outputs[mlp.outputName]);
    const want = mlp.forward(input, 1);
    expect(got).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-3);
    // The provider is paid its price plus the proving fee (80% of it; 15% treasury, 5% creator).
    const provider = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers[0];
    expect(BigInt(done.cost)).toBe(BigInt(provider.price) + BigInt(quoted.zk.fee));

    // Anyone with the task's input can check the receipt's proof with the published verification key.
    const { zk } = done.receipt;
    expect(zk.modelHash).toBe(status.modelHash);
    const vkey = (await api(net.url, "GET", `/models/${modelId}/zk/verification_key.json`, { key: net.apiKey })).body;
    const expectedInputHash = await inputHashOf(await buildModelCircuit(mlp.bytes), input);
    expect(zk.inputHash).toBe(expectedInputHash);
    const providerId = provider.id as string;
    const bind = { expectedInputHash, taskId: done.id, provider: providerId };
    expect(await verifyInference(vkey, zk.proof, zk.publicSignals, zk.modelHash, bind)).toBe(true);
    expect(zk.publicSignals.at(-2)).toBe(taskIdToField(done.id).toString());
    expect(zk.publicSignals.at(-1)).toBe(addressToField(providerId).toString());
    // … and not as a proof for another task, another input, or of other outputs.
    expect(await verifyInference(vkey, zk.proof, zk.publicSignals, zk.modelHash, { ...bind, taskId: "tsk_another" })).toBe(false);
    expect(await verifyInference(vkey, zk.proof, zk.publicSignals, zk.modelHash, { ...bind, expectedInputHash: "12345" })).toBe(false);
    const tampered = [...zk.publicSignals];
    tampered[2] = (BigInt(tampered[2]) + 1n).toString();
    expect(await verifyInference(vkey, zk.proof, tampered, zk.modelHash, bind)).toBe(false);
  });

  it("answers 400 MODEL_NOT_PROVABLE, naming the operator, for a model the compiler cannot prove", async () => {
    const up = await api(net.url, "POST", "/models", { key: net.apiKey, bytes: buildSoftmaxModel() });
    const res = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId: up.body.id, inputs: { x }, verification: { mode: "zk" } } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("MODEL_NOT_PROVABLE");
    expect(res.body.error.message).toMatch(/Softmax/);
    const zk = await api(net.url, "GET", `/models/${up.body.id}/zk`, { key: net.apiKey });
    expect(zk.body).toMatchObject({ status: "unsupported", unsupported: [{ op: "Softmax" }] });
    // The same model without zk runs as usual.
    expect((await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId: up.body.id, inputs: { x } } })).status).toBe(202);
  });

  it("refuses models over ZK_MAX_MODEL_BYTES without compiling them", async () => {
    const small = await startTestNetwork({ env: { ZK_MAX_MODEL_BYTES: "100" } });
    try {
      const up = await api(small.url, "POST", "/models", { key: small.apiKey, bytes: mlp.bytes });
      const res = await api(small.url, "POST", "/tasks", { key: small.apiKey, json: { modelId: up.body.id, inputs: { x }, verification: { mode: "zk" } } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("MODEL_NOT_PROVABLE");
      expect(res.body.error.message).toMatch(/ZK_MAX_MODEL_BYTES/);
    } finally {
      await small.close();
    }
  });

  it("fails (and refunds) the zk tasks of a model whose circuit cannot be built, and refuses new ones", async () => {
    const broken = await startTestNetwork();
    const saved = process.env.STUN_PTAU;
    // A powers-of-tau file that does not exist: the circuit compiles, its keys cannot be made.
    process.env.STUN_PTAU = "/nonexistent/stun-test.ptau";
    try {
      const up = await api(broken.url, "POST", "/models", { key: broken.apiKey, bytes: buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 13, batch: 1 }).bytes });
      const before = (await api(broken.url, "GET", "/accounts/me", { key: broken.apiKey })).body.balance;
      const sub = await api(broken.url, "POST", "/tasks", { key: broken.apiKey, json: { modelId: up.body.id, inputs: { x }, verification: { mode: "zk" } } });
      expect(sub.status).toBe(202);
      const done = await waitTask(broken.url, broken.apiKey, sub.body.id, 120);
      expect(done.status).toBe("failed");
      expect(done.error.code).toBe("MODEL_NOT_PROVABLE");
      expect(done.error.message).toMatch(/stun-test\.ptau/);
      expect((await api(broken.url, "GET", "/accounts/me", { key: broken.apiKey })).body.balance).toBe(before);
      expect((await api(broken.url, "GET", `/models/${up.body.id}/zk`, { key: broken.apiKey })).body.status).toBe("failed");
      const again = await api(broken.url, "POST", "/tasks", { key: broken.apiKey, json: { modelId: up.body.id, inputs: { x }, verification: { mode: "zk" } } });
      expect(again.status).toBe(400);
      expect(again.body.error.code).toBe("MODEL_NOT_PROVABLE");
    } finally {
      if (saved === undefined) delete process.env.STUN_PTAU;
      else process.env.STUN_PTAU = saved;
      await broken.close();
    }
  });

  it("refuses a maxPrice that does not cover the proving fee, and privacy zk means mode zk", async () => {
    const res = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: { x }, verification: { mode: "zk" }, maxPrice: "1" } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "REQUIREMENTS_UNSATISFIABLE" });
    expect(res.body.error.message).toMatch(/proving fee/);
    const conflict = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: { x }, verification: { mode: "redundant" }, requirements: { privacy: "zk" } },
    });
    expect(conflict.status).toBe(400);
    const viaPrivacy = await runTask(net.url, net.apiKey, { modelId, inputs: { x }, requirements: { privacy: "zk" }, maxPrice: "100" }, 120);
    expect(viaPrivacy.status).toBe("completed");
    expect(viaPrivacy.receipt.qa.check).toBe("proof");
  });

  it("rejects a forged proof (PROOF_INVALID): the provider is not paid and the requester gets the escrow back", async () => {
    // The honest provider leaves; a provider that alters the proven output after proving joins.
    await net.providers[0]!.kill();
    await net.addProvider({ name: "forger", args: ["--fault", "forge-proof"] });
    const balanceBefore = (await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body.balance;
    const sub = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: { x }, verification: { mode: "zk" }, maxPrice: "100" } });
    expect(sub.status).toBe(202);
    const done = await waitTask(net.url, net.apiKey, sub.body.id, 120);
    expect(done.status).toBe("failed");
    expect(done.error.message).toMatch(/PROOF_INVALID/);
    const failed = await net.db.prisma.assignment.findMany({ where: { taskId: sub.body.id } });
    expect(failed.length).toBeGreaterThan(0);
    for (const a of failed) expect(a).toMatchObject({ status: "failed", errorCode: "PROOF_INVALID" });
    await eventually(async () => (await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body.balance === balanceBefore, 5000, "escrow refunded");
  });
});
