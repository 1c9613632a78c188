import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import * as ort from "onnxruntime-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseNpy } from "@stun/shared";
import { StunClient, isStunApiError, sealSubmit } from "../src/index";
import { runStun, tempDir } from "./support/cli";
import { buildMlp } from "@stun/testkit";
import { eventually, startTestNetwork, type ProviderProcess, type TestNetwork } from "../../../apps/server/test/support/network";
import { api, uploadModel } from "../../../apps/server/test/support/api";

/** Every file under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/**
 * Sealed tasks end to end (docs/TEE.md): a requester using the SDK, a native provider in the
 * simulated TEE, and a plain provider beside it. The inputs and outputs must never be readable by
 * the server: not in the database, not in the blob store, not in its logs.
 */
describe("sealed tasks (privacy tee): SDK, simulated-TEE native provider", () => {
  let net: TestNetwork;
  let modelId: string;
  let teeProvider: ProviderProcess;
  let plain: ProviderProcess;
  const logLines: string[] = [];
  const mlp = buildMlp({ inputSize: 8, hidden: [16], outputSize: 4, seed: 11 });
  // Values no other test uses, so their bytes are recognisable wherever they might leak.
  const x = Float32Array.from([0.8125, -0.3046875, 0.59765625, -0.9296875, 0.1171875, 0.66015625, -0.45703125, 0.26953125]);

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    net = await startTestNetwork({ logger: pino({ level: "debug" }, sink) });
    modelId = await uploadModel(net.url, net.apiKey, mlp.bytes, "sealed-mlp");
    teeProvider = await net.addProvider({ name: "tee", args: ["--tee", "simulated", "--price", "50"] });
    plain = await net.addProvider({ name: "plain", args: ["--price", "1"] });
  });
  afterAll(async () => {
    await net?.close();
  });

  const client = () => new StunClient({ baseUrl: net.url, apiKey: net.apiKey });
  const devPolicy = { allowSimulated: true };

  it("shows which providers are attested, and serves the evidence to verify", async () => {
    const { providers } = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body as { providers: Array<{ id: string; name: string; tee: any }> };
    const tee = providers.find((p) => p.name === "tee")!;
    expect(tee.tee).toMatchObject({ status: "attested", kind: "simulated", simulated: true, reason: null });
    expect(providers.find((p) => p.name === "plain")!.tee).toBeNull();
    const evidence = await client().providerTee(tee.id);
    expect(evidence.attestation.evidenceSha256).toBe(tee.tee.evidenceSha256);
    expect(evidence.evidence.kind).toBe("simulated");
    const none = await api(net.url, "GET", `/providers/${providers.find((p) => p.name === "plain")!.id}/tee`, { key: net.apiKey });
    expect(none.status).toBe(404);
  });

  it("runs a sealed task: the requester decrypts the right outputs, and the server never held them in the clear", async () => {
    const handle = await client().submitTask({ modelId, inputs: { x: { dtype: "float32", dims: [1, 8], data: x } }, requirements: { privacy: "tee" }, tee: { policy: devPolicy }, maxPrice: "100" });
    const info = await handle.wait({ timeoutMs: 60_000 });
    expect(info.status).toBe("completed");
    expect(info.receipt?.qa?.check).toBe("attested");
    expect(info.receipt?.tee).toMatchObject({ kind: "simulated", simulated: true });
    expect(info.verification.executions.map((e) => e.providerId)).toEqual([teeProvider.providerId]);

    // The right outputs: bare onnxruntime-node on the same model and input.
    const session = await ort.InferenceSession.create(mlp.bytes);
    const ref = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, [1, 8]) });
    const outName = session.outputNames[0]!;
    const want = ref[outName]!.data as Float32Array;
    const got = info.outputs![outName]!;
    expect(got.dims).toEqual([1, 4]);
    expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want));

    // Grep everything the server keeps for the plaintext: raw bytes, base64, hex.
    const secrets = [Buffer.from(x.buffer), Buffer.from(want.buffer, want.byteOffset, want.byteLength)];
    const needles = secrets.flatMap((b) => [b.toString("base64"), b.toString("hex")]);
    for (const file of filesUnder(net.dataDir)) {
      const bytes = readFileSync(file);
      for (const s of secrets) expect(bytes.indexOf(s), `${file} holds plaintext`).toBe(-1);
    }
    const prisma = net.server.app.db.prisma;
    const tables = await prisma.$queryRawUnsafe<Array<{ t: string }>>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`);
    expect(tables.length).toBeGreaterThan(5);
    for (const { t } of tables) {
      const rows = await prisma.$queryRawUnsafe<Array<{ j: string }>>(`SELECT row_to_json(x)::text AS j FROM "${t}" x`);
      const dump = rows.map((r) => r.j).join("\n");
      for (const n of needles) expect(dump.includes(n), `table ${t} holds plaintext`).toBe(false);
    }
    const logs = logLines.join("");
    expect(logs.length).toBeGreaterThan(0);
    for (const n of needles) expect(logs.includes(n), "the server's logs hold plaintext").toBe(false);
  });

  it("stun tasks submit --tee: seals, waits and writes the opened outputs; without --tee-allow-simulated it refuses the simulated TEE", async () => {
    const dir = await tempDir();
    try {
      const env = { STUN_SERVER: net.url, STUN_API_KEY: net.apiKey };
      const input = `x=@${JSON.stringify({ dtype: "float32", dims: [1, 8], data: [0.25, 0.5, -0.75, 1, 0, -1, 0.125, 2] })}`;
      const refused = await runStun(["tasks", "submit", "--model", modelId, "--input", input, "--tee"], { cwd: dir.path, env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/ATTESTATION_INVALID.*SIMULATED_NOT_ALLOWED/);
      const r = await runStun(["tasks", "submit", "--model", modelId, "--input", input, "--tee", "--tee-allow-simulated", "--output-dir", "out", "--json"], { cwd: dir.path, env });
      expect(r.code, r.stderr).toBe(0);
      const info = JSON.parse(r.stdout) as { status: string; receipt: { qa: { check: string } } };
      expect([info.status, info.receipt.qa.check]).toEqual(["completed", "attested"]);
      const session = await ort.InferenceSession.create(mlp.bytes);
      const ref = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from([0.25, 0.5, -0.75, 1, 0, -1, 0.125, 2]), [1, 8]) });
      const written = parseNpy(new Uint8Array(readFileSync(path.join(dir.path, "out", `${session.outputNames[0]}.npy`))));
      expect(Array.from(new Float32Array((written.data as Uint8Array).slice().buffer))).toEqual(Array.from(ref[session.outputNames[0]!]!.data as Float32Array));
    } finally {
      await dir.remove();
    }
  });

  it("refuses simulated evidence under the SDK's default policy, before anything is sent", async () => {
    const before = (await api(net.url, "GET", "/tasks", { key: net.apiKey })).body.tasks.length;
    const e = await client()
      .submitTask({ modelId, inputs: { x: { dtype: "float32", dims: [1, 8], data: x } }, requirements: { privacy: "tee" } })
      .catch((err: unknown) => err);
    expect(isStunApiError(e) && e.code).toBe("ATTESTATION_INVALID");
    expect(isStunApiError(e) && e.details?.reason).toBe("SIMULATED_NOT_ALLOWED");
    expect((await api(net.url, "GET", "/tasks", { key: net.apiKey })).body.tasks.length).toBe(before);
  });

  it("refuses bad sealed submits with clear codes", async () => {
    const sealed = { enc: Buffer.alloc(32, 1).toString("base64"), ciphertext: Buffer.alloc(40, 2).toString("base64"), evidenceSha256: "0".repeat(64) };
    const submit = (body: Record<string, unknown>) => api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, ...body } });
    // Sealed to a provider that is not attested, to stale evidence, without privacy tee, with clear inputs beside it.
    expect((await submit({ requirements: { privacy: "tee" }, sealed: { ...sealed, providerId: plain.providerId } })).body.error.code).toBe("REQUIREMENTS_UNSATISFIABLE");
    const stale = await submit({ requirements: { privacy: "tee" }, sealed: { ...sealed, providerId: teeProvider.providerId } });
    expect([stale.status, stale.body.error.code]).toEqual([409, "EVIDENCE_STALE"]);
    expect((await submit({ sealed: { ...sealed, providerId: teeProvider.providerId } })).body.error.code).toBe("VALIDATION_FAILED");
    expect((await submit({ requirements: { privacy: "tee" } })).body.error.code).toBe("VALIDATION_FAILED");
    const redundant = await submit({ requirements: { privacy: "tee" }, verification: { mode: "redundant" }, sealed: { ...sealed, providerId: teeProvider.providerId } });
    expect(redundant.body.error.code).toBe("REQUIREMENTS_UNSATISFIABLE");
  });

  it("a sealed task whose provider leaves waits until its deadline, then expires TEE_PROVIDER_UNAVAILABLE with its escrow back", async () => {
    const c = client();
    const balance = async () => BigInt(((await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body as { balance: string }).balance);
    // Sealed while the provider is attested; then the agent stops (its key dies with it).
    const before = await balance();
    const { body } = await sealSubmit(
      c,
      { modelId, inputs: {}, maxPrice: "100", deadlineSeconds: 3 },
      { x: { dtype: "float32", dims: [1, 8], data: new Uint8Array(x.buffer) } },
      { policy: devPolicy },
    );
    await teeProvider.kill();
    await eventually(async () => !(await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers.some((p: { name: string }) => p.name === "tee"), 20_000, "the TEE provider offline");
    const res = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: body });
    expect(res.status).toBe(202);
    const done = await c.waitForTask(res.body.id as string, { timeoutMs: 60_000 });
    expect(done.status).toBe("expired");
    expect(done.error?.code).toBe("TEE_PROVIDER_UNAVAILABLE");
    const fee = net.server.app.config.EXPIRED_TASK_FEE;
    expect(await balance()).toBe(before - fee);
  });
});
