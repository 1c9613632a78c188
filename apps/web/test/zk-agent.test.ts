/// <reference path="../../../circuits/types/modules.d.ts" />
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import ort from "onnxruntime-node";
import * as snarkjs from "snarkjs";
import { Server } from "socket.io";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ModelArtifacts, addressToField, compileModelCircuit, decodeOutputs, inputHashOf, shutdownZk, taskIdToField, verifyInference } from "@stun/circuits";
import { type Assign, type ExecutionError, type Groth16Prover, PROVIDER_EVENTS, PROVIDER_NAMESPACE, RegisterSchema, type Result, type ZkJob } from "@stun/shared";
import { buildMlp } from "@stun/testkit";
import { eventually } from "../../server/test/support/network";
import { BrowserProviderAgent } from "../src/provider/agent";
import type { FromWorker } from "../src/provider/messages";
import { openModelStore } from "../src/provider/model-store";
import { WebRunner } from "../src/provider/runner";
import type { OrtModule } from "../src/provider/ort-loader";
import { ZkProver } from "../src/provider/zk-prover";

const PROVIDER = "0x8ba1f109551bD432803012645Ac136ddd64DBA72";

/**
 * The Contribute tab's agent (the code its worker runs) on a zk task: `task:assign` with `zk` →
 * the model runs → the proof is made → `task:result` carries `zk: { proof, publicSignals, proveMs }`
 * (checked with @stun/circuits' verifier); a proof that cannot be made is a `task:error`
 * PROOF_FAILED, never a hung task. Here in Node (onnxruntime-node and snarkjs' Node build stand in
 * for their web builds, same APIs; tests/zk-browser-prover.test.ts runs the prover in Chromium),
 * against a socket.io endpoint speaking the provider protocol that hands out the assignments, so
 * the zk job's shape is the test's own (the marketplace's side is tested in apps/server).
 */
describe("zk: the browser provider agent answers a zk task with a proof", () => {
  const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 11, batch: 1 });
  const modelSha = createHash("sha256").update(mlp.bytes).digest("hex");
  let artifacts: ModelArtifacts;
  let circuitHash: string;
  let httpServer: http.Server;
  let io: Server;
  let origin: string;
  let connected: Promise<import("socket.io").Socket>;
  const answers: Array<{ event: string; payload: Result | ExecutionError }> = [];
  const events: FromWorker[] = [];
  let agent: BrowserProviderAgent;

  beforeAll(async () => {
    artifacts = await compileModelCircuit(mlp.bytes);
    const zkey = readFileSync(artifacts.keys.zkeyPath);
    circuitHash = createHash("sha256").update(zkey).digest("hex");
    const files = new Map<string, Buffer>([
      [`/api/v1/models/mdl_test/file`, Buffer.from(mlp.bytes)],
      [`/api/v1/models/mdl_test/zk/circuit.wasm`, readFileSync(artifacts.circuit.wasmPath)],
      [`/api/v1/models/mdl_test/zk/circuit.zkey`, zkey],
    ]);
    httpServer = http.createServer((req, res) => {
      const body = files.get((req.url ?? "").split("?")[0]!);
      if (body && req.headers.authorization === "Bearer sk_test_agent") res.writeHead(200).end(body);
      else res.writeHead(404).end();
    });
    io = new Server(httpServer, { transports: ["websocket"] });
    connected = new Promise((resolve) => {
      io.of(PROVIDER_NAMESPACE).on("connection", (socket) => {
        socket.on(PROVIDER_EVENTS.register, (_r: unknown, ack: (a: unknown) => void) => ack({ ok: true, providerId: "prv_test" }));
        socket.on(PROVIDER_EVENTS.heartbeat, () => undefined);
        for (const event of [PROVIDER_EVENTS.result, PROVIDER_EVENTS.error]) {
          socket.on(event, (payload: Result | ExecutionError, ack: (a: unknown) => void) => {
            answers.push({ event, payload });
            ack({ ok: true });
          });
        }
        resolve(socket);
      });
    });
    await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
    origin = `http://127.0.0.1:${(httpServer.address() as { port: number }).port}`;

    const runner = new WebRunner({
      ort: ort as unknown as OrtModule,
      store: await openModelStore({ maxBytes: 1 << 30 }),
      server: origin,
      apiKey: "sk_test_agent",
      sessionOptions: { executionProviders: ["cpu"] },
    });
    const prover = new ZkProver({ server: origin, apiKey: "sk_test_agent", loadSnarkjs: async () => snarkjs as Groth16Prover });
    const registration = RegisterSchema.parse({ name: "tab-zk", kind: "browser", backend: "wasm", price: "1", slots: 1, specs: { cores: 2, memoryMb: 0 } });
    agent = new BrowserProviderAgent({ server: origin, apiKey: "sk_test_agent", registration, runner, prover, duty: 1, emit: (e) => events.push(e) });
    agent.start();
    await eventually(async () => events.some((e) => e.type === "registered"), 20_000, "the agent to register");
  });
  afterAll(async () => {
    agent?.unload();
    await io?.close();
    httpServer?.close();
    await shutdownZk();
  });

  const job = (taskId: string, over: Partial<ZkJob> = {}): ZkJob => ({
    circuitHash,
    wasmUrl: "/api/v1/models/mdl_test/zk/circuit.wasm",
    zkeyUrl: "/api/v1/models/mdl_test/zk/circuit.zkey",
    input: mlp.inputName,
    inputSize: artifacts.model.input.size,
    scaleBits: artifacts.model.options.scaleBits,
    taskSignal: taskIdToField(taskId).toString(),
    providerSignal: addressToField(PROVIDER).toString(),
    ...over,
  });
  const assign = async (assignmentId: string, taskId: string, x: Float32Array, zk?: ZkJob) => {
    const socket = await connected;
    const a: Assign = {
      assignmentId,
      taskId,
      model: { id: "mdl_test", sha256: modelSha, url: "/api/v1/models/mdl_test/file", sizeBytes: mlp.bytes.byteLength },
      inputs: { [mlp.inputName]: { dtype: "float32", dims: [1, 4], data: new Uint8Array(x.buffer.slice(0)) } },
      leaseMs: 60_000,
      ...(zk ? { zk } : {}),
    };
    const ack = await socket.timeout(10_000).emitWithAck(PROVIDER_EVENTS.assign, a);
    expect(ack).toEqual({ ok: true });
    const answer = await eventually(async () => answers.find((r) => r.payload.assignmentId === assignmentId), 60_000, `the answer to ${assignmentId}`);
    await eventually(async () => agent.active === 0, 10_000, "the slot to free up"); // one slot: the next assignment waits for it
    return answer;
  };

  it("sends the outputs with a proof that verifies for the task, the provider and the input", async () => {
    const x = new Float32Array([0.5, -1.25, 2, 0.75]);
    const taskId = "tsk_test_zk_agent_1";
    const answer = await assign("asg_zk_1", taskId, x, job(taskId));
    expect(answer.event).toBe(PROVIDER_EVENTS.result);
    const r = answer.payload as Result;
    expect(r.zk?.proveMs).toBeGreaterThan(0);
    const ok = await verifyInference(artifacts.vkey, r.zk!.proof, r.zk!.publicSignals, artifacts.modelHash, {
      expectedInputHash: await inputHashOf(artifacts.model, x),
      taskId,
      provider: PROVIDER,
    });
    expect(ok).toBe(true);
    // The outputs sent are the model's, and the proof publishes the same ones (to fixed point).
    const y = new Float32Array(new Uint8Array(r.outputs[mlp.outputName]!.data as Uint8Array).slice().buffer);
    const proven = decodeOutputs(artifacts.model, r.zk!.publicSignals)[0]!.data;
    Array.from(mlp.forward(x, 1)).forEach((v, i) => {
      expect(Math.abs(y[i]! - v)).toBeLessThan(1e-5);
      expect(Math.abs(proven[i]! - v)).toBeLessThan(1e-3);
    });
    const stages = events.filter((e) => e.type === "task" && e.assignmentId === "asg_zk_1").map((e) => (e as { stage: string }).stage);
    expect(stages).toEqual(["assigned", "proving", "done"]);
    expect(events.find((e) => e.type === "task" && e.assignmentId === "asg_zk_1" && e.stage === "done")).toMatchObject({ proveMs: r.zk!.proveMs });
  });

  it("answers task:error PROOF_FAILED when the proof cannot be made; a task without zk carries no proof", async () => {
    const x = new Float32Array([0.1, 0.2, 0.3, 0.4]);
    const wrongKey = await assign("asg_zk_2", "tsk_test_zk_agent_2", x, job("tsk_test_zk_agent_2", { circuitHash: "ab".repeat(32) }));
    expect(wrongKey).toMatchObject({ event: PROVIDER_EVENTS.error, payload: { code: "PROOF_FAILED" } });
    expect((wrongKey.payload as ExecutionError).message).toMatch(/hashes to [0-9a-f]{64}, but the job names circuit abab/);

    const missing = await assign("asg_zk_3", "tsk_test_zk_agent_3", x, job("tsk_test_zk_agent_3", { circuitHash: "cd".repeat(32), wasmUrl: "/api/v1/models/mdl_test/zk/none.wasm" }));
    expect(missing).toMatchObject({ event: PROVIDER_EVENTS.error, payload: { code: "PROOF_FAILED" } });
    expect((missing.payload as ExecutionError).message).toMatch(/answered HTTP 404/);

    const wrongInput = await assign("asg_zk_4", "tsk_test_zk_agent_4", x, job("tsk_test_zk_agent_4", { input: "image" }));
    expect(wrongInput).toMatchObject({ event: PROVIDER_EVENTS.error, payload: { code: "PROOF_FAILED" } });

    const plain = await assign("asg_zk_5", "tsk_test_zk_agent_5", x);
    expect(plain.event).toBe(PROVIDER_EVENTS.result);
    expect((plain.payload as Result).zk).toBeUndefined();
  });
});
