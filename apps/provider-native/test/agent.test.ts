// ProviderAgent in-process against a stand-in socket.io marketplace.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildFileReadingModel, buildIdentityModel, buildMlp, buildSlowModel, wireTensor } from "@stun/testkit";
import { ProviderAgent, type ProviderAgentOptions } from "../src/agent";
import { createJsonLogger } from "../src/logger";
import { type FakeMarketplace, startFakeMarketplace } from "./support/fake-marketplace";
import { f32, maxAbsDiff } from "./support/tensors";

let market: FakeMarketplace;
let dir: string;
let agents: ProviderAgent[] = [];
let logs: Record<string, unknown>[] = [];

beforeEach(async () => {
  market = await startFakeMarketplace();
  dir = await mkdtemp(path.join(os.tmpdir(), "stun-agent-"));
  logs = [];
});

afterEach(async () => {
  for (const a of agents) await a.stop({ graceMs: 0 });
  agents = [];
  await market.close();
  await rm(dir, { recursive: true, force: true });
});

function newAgent(extra: Partial<ProviderAgentOptions> = {}): ProviderAgent {
  const agent = new ProviderAgent({
    server: market.url,
    apiKey: market.apiKey,
    name: "test-provider",
    cacheDir: dir,
    benchmarkMs: 0,
    heartbeatMs: 100,
    ackTimeoutMs: 1000,
    reconnectDelayMs: 50,
    hardware: { cpuModel: "Test CPU", cores: 4, memoryMb: 8192, gpus: [] },
    logger: createJsonLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) }),
    ...extra,
  });
  agents.push(agent);
  return agent;
}

const slow = () => buildSlowModel(300);
const slowInput = (size: number) => ({ x: wireTensor("float32", [1, size], new Float32Array(size).fill(0.2)) });

describe("ProviderAgent", () => {
  it("registers as a native provider with its specs and benchmark, and logs the registered line", async () => {
    const agent = newAgent({ benchmarkMs: 50, slots: 3, price: "250", region: "eu-west" });
    const id = await agent.start();
    expect(id).toBe("prv_test-provider");
    expect(agent.providerId).toBe(id);
    const reg = market.registrations[0]!;
    expect(reg).toMatchObject({ name: "test-provider", kind: "native", backend: "cpu", region: "eu-west", price: "250", slots: 3, version: "0.1.0" });
    expect(reg.specs).toMatchObject({ cpuModel: "Test CPU", cores: 4, memoryMb: 8192, gpus: [] });
    expect(reg.specs.benchmarkIps).toBeGreaterThan(0);
    expect(logs[0]).toMatchObject({ msg: "starting", backend: "cpu", hardware: { cores: 4 } });
    expect((logs[0]!.benchmark as { ips: number }).ips).toBeGreaterThan(0);
    expect(logs.find((l) => l.msg === "registered")).toMatchObject({ providerId: id });
    await market.waitFor(() => market.heartbeats.length >= 2);
    expect(market.heartbeats[0]).toEqual({ active: 0 });
  });

  it("runs an assignment and answers task:result with binary outputs and timings", async () => {
    await newAgent().start();
    const mlp = buildMlp({ inputSize: 784, hidden: [512, 256], outputSize: 10, seed: 3 });
    const model = market.models.add("mlp", mlp.bytes);
    const x = Float32Array.from({ length: 784 }, (_, i) => Math.sin(i));
    expect(await market.assign(model, { x: wireTensor("float32", [1, 784], x) }, { assignmentId: "asg_a" })).toEqual({ ok: true });
    const result = await market.waitFor(() => market.results[0]);
    expect(result.assignmentId).toBe("asg_a");
    expect(result.outputs.y!.data).toBeInstanceOf(Uint8Array); // arrived as a binary attachment
    expect(maxAbsDiff(f32(result.outputs.y!), mlp.forward(x, 1))).toBeLessThan(1e-5);
    expect(result.timings.runMs).toBeGreaterThan(0);
    expect(result.timings.fetchMs).toBeGreaterThan(0);
  });

  it("logs each task at debug and sums its tasks up at info every summaryEveryMs, skipping windows with none", async () => {
    const agent = newAgent({ summaryEveryMs: 50 });
    await agent.start();
    const model = market.models.add("id", buildIdentityModel("int32", [2]).bytes);
    const input = { x: wireTensor("int32", [2], Int32Array.of(1, 2)) };
    const reader = market.models.add("reader", buildFileReadingModel("secret.txt", 16).bytes);
    for (const id of ["asg_s1", "asg_s2"]) {
      await market.assign(model, input, { assignmentId: id });
      await market.waitFor(() => market.results.some((r) => r.assignmentId === id));
    }
    await market.assign(reader, { x: wireTensor("float32", [1], new Float32Array([1])) }, { assignmentId: "asg_s3" });
    const summaries = () => logs.filter((l) => l.msg === "tasks");
    const total = (key: string) => summaries().reduce((n, l) => n + Number(l[key] ?? 0), 0);
    await market.waitFor(() => total("delivered") === 3);
    expect({ ran: total("ran"), failed: total("failed"), delivered: total("delivered") }).toEqual({ ran: 2, failed: 1, delivered: 3 });
    for (const l of summaries()) {
      expect(l).toMatchObject({ level: "info", windowMs: expect.any(Number) });
      expect(Number(l.ran) + Number(l.failed) + Number(l.delivered ?? 0)).toBeGreaterThan(0); // windows with nothing say nothing
    }
    expect(logs.filter((l) => l.msg === "task assigned").map((l) => [l.level, l.assignmentId])).toEqual([
      ["debug", "asg_s1"],
      ["debug", "asg_s2"],
      ["debug", "asg_s3"],
    ]);
    expect(logs.filter((l) => l.msg === "task done").map((l) => l.level)).toEqual(["debug", "debug"]);
    expect(logs.find((l) => l.msg === "task failed")).toMatchObject({ level: "warn", assignmentId: "asg_s3", code: "MODEL_EXTERNAL_DATA" });
  });

  it("sums up the tasks since the last summary when it stops, before its stopped line", async () => {
    const agent = newAgent({ summaryEveryMs: 0 });
    await agent.start();
    const model = market.models.add("id", buildIdentityModel("int32", [2]).bytes);
    await market.assign(model, { x: wireTensor("int32", [2], Int32Array.of(1, 2)) }, { assignmentId: "asg_t1" });
    await market.waitFor(() => logs.some((l) => l.msg === "task done"));
    await agent.stop();
    expect(logs.filter((l) => l.msg === "tasks")).toEqual([expect.objectContaining({ level: "info", ran: 1, failed: 0, windowMs: expect.any(Number) })]);
    expect(logs.at(-2)).toMatchObject({ msg: "tasks" });
    expect(logs.at(-1)).toMatchObject({ msg: "stopped" });
  });

  it("acks BUSY when its slots are full, ok for a repeated assignment, and reports active work in heartbeats", async () => {
    const agent = newAgent({ slots: 1 });
    await agent.start();
    // The slot is held by a slow model download rather than a slow run: onnxruntime-node's run
    // blocks the event loop, so on a loaded machine the acks below could wait past their timeout.
    const model = market.models.add("held", buildIdentityModel("int32", [2]).bytes, { delayMs: 1500 });
    const input = { x: wireTensor("int32", [2], Int32Array.of(1, 2)) };
    const freed: string[] = [];
    agent.events.on("idle-slot", (id: string) => freed.push(id));
    expect(await market.assign(model, input, { assignmentId: "asg_1" })).toEqual({ ok: true });
    expect(await market.assign(model, input, { assignmentId: "asg_1" })).toEqual({ ok: true });
    const busy = await market.assign(model, input, { assignmentId: "asg_2" });
    expect(busy).toMatchObject({ ok: false, error: { code: "BUSY" } });
    await market.waitFor(() => market.heartbeats.some((h) => h.active === 1));
    await market.waitFor(() => market.results.length === 1);
    expect(market.results.map((r) => r.assignmentId)).toEqual(["asg_1"]);
    // The slot frees once the result is acknowledged (the fake market records it on receipt).
    await market.waitFor(() => freed.includes("asg_1"));
    expect(await market.assign(model, input, { assignmentId: "asg_3" })).toEqual({ ok: true });
  });

  it("acks VALIDATION_FAILED for a malformed assignment", async () => {
    await newAgent().start();
    const ack = await market
      .socket()
      .timeout(2000)
      .emitWithAck("task:assign", { assignmentId: "x", taskId: "t", model: { sha256: "nope" } });
    expect(ack).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
  });

  it("answers task:error with a code when the model's bytes do not match its sha256", async () => {
    await newAgent().start();
    const good = buildIdentityModel("float32", [1]).bytes;
    const model = market.models.add("tampered", good, { body: buildIdentityModel("float64", [1]).bytes });
    expect(await market.assign(model, { x: wireTensor("float32", [1], Float32Array.of(1)) }, { assignmentId: "asg_bad" })).toEqual({ ok: true });
    const e = await market.waitFor(() => market.errors[0]);
    expect(e).toMatchObject({ assignmentId: "asg_bad", code: "MODEL_HASH_MISMATCH" });
    expect(market.results).toEqual([]);
  });

  it("drops the result of a cancelled assignment", async () => {
    const agent = newAgent();
    await agent.start();
    const m = slow();
    const model = market.models.add("slow", m.bytes);
    const outcomes: unknown[] = [];
    agent.events.on("task", (t) => outcomes.push(t));
    await market.assign(model, slowInput(m.size), { assignmentId: "asg_c" });
    market.socket().emit("task:cancel", { assignmentId: "asg_c", reason: "requester cancelled" });
    await market.waitFor(() => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({ assignmentId: "asg_c", outcome: "cancelled" });
    expect(market.results).toEqual([]);
    expect(agent.active).toBe(0);
  });

  it("retries a result whose ack never came", async () => {
    await newAgent({ ackTimeoutMs: 200 }).start();
    const model = market.models.add("id", buildIdentityModel("int32", [2]).bytes);
    market.dropResults = 1;
    await market.assign(model, { x: wireTensor("int32", [2], Int32Array.of(4, 5)) }, { assignmentId: "asg_r" });
    const r = await market.waitFor(() => market.results[0]);
    expect(r.assignmentId).toBe("asg_r");
    expect(logs.some((l) => l.msg === "no ack for the answer; will retry")).toBe(true);
  });

  it("after a dropped connection it reconnects, registers again and delivers the pending result", async () => {
    const agent = newAgent();
    await agent.start();
    const m = slow();
    const model = market.models.add("slow", m.bytes);
    // The model is loaded first: a disconnect aborts a download in flight (the real server gives a
    // disconnected provider's work up), but an execution under way finishes and is delivered.
    await market.assign(model, slowInput(m.size), { assignmentId: "asg_warm" });
    await market.waitFor(() => market.results[0]);
    await market.assign(model, slowInput(m.size), { assignmentId: "asg_n" });
    market.socket().conn.close(); // the network goes away, not a server kick
    await market.waitFor(() => market.registrations.length === 2);
    const r = await market.waitFor(() => market.results[1]);
    expect(r.assignmentId).toBe("asg_n");
    // The market counts a registration when it arrives; the agent is registered when the ack
    // arrives back, which may be after the result (delivered before the drop was noticed).
    await market.waitFor(() => agent.isRegistered || undefined);
  });

  it("a dropped connection aborts a model download in flight and frees the slot at once (no BUSY until a fetch timeout)", async () => {
    const agent = newAgent({ slots: 1 });
    await agent.start();
    const outcomes: { assignmentId: string; outcome: string }[] = [];
    agent.events.on("task", (t) => outcomes.push(t));
    const stalled = market.models.add("stalled", buildIdentityModel("int32", [2]).bytes, { delayMs: 30_000 }); // answers after the test
    await market.assign(stalled, { x: wireTensor("int32", [2], Int32Array.of(1, 2)) }, { assignmentId: "asg_dl" });
    await market.waitFor(() => market.models.countFor("stalled") === 1); // the download is in flight
    market.socket().conn.close();
    await market.waitFor(() => outcomes.find((o) => o.assignmentId === "asg_dl"));
    expect(outcomes[0]).toMatchObject({ assignmentId: "asg_dl", outcome: "lost" });
    expect(agent.active).toBe(0);
    await market.waitFor(() => market.registrations.length === 2);
    const model = market.models.add("id", buildIdentityModel("int32", [2]).bytes);
    expect(await market.assign(model, { x: wireTensor("int32", [2], Int32Array.of(4, 5)) }, { assignmentId: "asg_next" })).toEqual({ ok: true });
    expect((await market.waitFor(() => market.results[0])).assignmentId).toBe("asg_next");
    expect(market.errors).toEqual([]); // the given-up task is not reported: the server has forgotten it
  });

  it("stop() drains: no new work, the running task finishes and is delivered, then it disconnects", async () => {
    const agent = newAgent();
    await agent.start();
    const m = slow();
    const model = market.models.add("slow", m.bytes);
    await market.assign(model, slowInput(m.size), { assignmentId: "asg_d" });
    const stopped = agent.stop({ graceMs: 20_000 });
    await market.waitFor(() => market.drains === 1);
    expect(await market.assign(model, slowInput(m.size), { assignmentId: "asg_late" })).toMatchObject({ ok: false, error: { code: "DRAINING" } });
    await stopped;
    expect(market.results.map((r) => r.assignmentId)).toEqual(["asg_d"]);
    expect(market.releases).toEqual([]);
    expect(logs.at(-1)).toMatchObject({ msg: "stopped" });
  });

  it("stop() with a short grace period releases what is still running", async () => {
    const agent = newAgent();
    await agent.start();
    // Long enough to be still running when the 50 ms grace ends, even on a loaded machine.
    const m = buildSlowModel(3000); // ms
    const model = market.models.add("slow", m.bytes);
    const outcome = new Promise((resolve) => agent.events.on("task", resolve));
    await market.assign(model, slowInput(m.size), { assignmentId: "asg_rel" });
    await agent.stop({ graceMs: 50 });
    expect(market.releases).toEqual([{ assignmentId: "asg_rel" }]);
    // When the run ends, its result is dropped, never delivered.
    expect(await outcome).toMatchObject({ assignmentId: "asg_rel", outcome: "released" });
    expect(market.results).toEqual([]);
  });

  it("--stake tops the account's stake up before it connects, and does nothing when it is there", async () => {
    Object.assign(market.models.account, { balance: 5000n, stake: 400n });
    await newAgent({ stake: "1000" }).start();
    expect(market.models.account).toEqual({ balance: 4400n, stake: 1000n });
    const msgs = logs.map((l) => l.msg);
    expect(logs.find((l) => l.msg === "staked")).toMatchObject({ level: "info", amount: "600", stake: "1000", target: "1000" });
    expect(msgs.indexOf("staked")).toBeLessThan(msgs.indexOf("connected"));
    await agents.pop()!.stop({ graceMs: 0 });

    logs = [];
    await newAgent({ stake: "1000" }).start();
    expect(market.models.account).toEqual({ balance: 4400n, stake: 1000n });
    expect(logs.find((l) => l.msg === "stake already at target")).toMatchObject({ stake: "1000", target: "1000" });
  });

  it("--stake that the balance cannot cover warns and the agent still registers (free work only)", async () => {
    Object.assign(market.models.account, { balance: 10n, stake: 0n });
    expect(await newAgent({ stake: "1000" }).start()).toBe("prv_test-provider");
    expect(market.models.account).toEqual({ balance: 10n, stake: 0n });
    expect(logs.find((l) => String(l.msg).startsWith("could not stake"))).toMatchObject({ level: "warn", code: "INSUFFICIENT_FUNDS", target: "1000" });
  });

  it("a refused API key makes start() fail instead of retrying forever", async () => {
    const agent = newAgent({ apiKey: "wrong" });
    await expect(agent.start()).rejects.toThrow(/refused the connection: UNAUTHORIZED/);
  });

  it("a registration the server rejects as invalid makes start() fail", async () => {
    market.io.of("/provider").removeAllListeners("connection");
    market.io.of("/provider").on("connection", (s) => s.on("provider:register", (_p: unknown, ack: (a: unknown) => void) => ack({ ok: false, error: { code: "VALIDATION_FAILED", message: "no" } })));
    await expect(newAgent().start()).rejects.toThrow(/registration rejected: VALIDATION_FAILED/);
  });
});
