import ort from "onnxruntime-node";
import { afterEach, describe, expect, it } from "vitest";
import { RegisterSchema } from "@stun/shared";
import { buildSlowModel } from "@stun/testkit";
import { api, toJsonTensor, uploadModel, waitTask } from "../../server/test/support/api";
import { eventually, startTestNetwork, type TestNetwork } from "../../server/test/support/network";
import { BrowserProviderAgent } from "../src/provider/agent";
import type { FromWorker } from "../src/provider/messages";
import { openModelStore } from "../src/provider/model-store";
import { WebRunner } from "../src/provider/runner";
import type { OrtModule } from "../src/provider/ort-loader";

/**
 * The Contribute tab's agent (the code its Web Worker runs) against the real server, here in Node
 * with onnxruntime-node standing in for onnxruntime-web (same API): pausing gives running work
 * back with task:release, and the duty-cycle throttle answers BUSY while it rests.
 */
describe("browser provider agent: pause and throttle", () => {
  let net: TestNetwork | undefined;
  const agents: BrowserProviderAgent[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) a.unload();
    await net?.close();
    net = undefined;
  });

  async function startAgent(n: TestNetwork, duty: number, maxHeldRestMs?: number, gate?: Promise<void>) {
    const events: FromWorker[] = [];
    const inner = new WebRunner({
      ort: ort as unknown as OrtModule,
      store: await openModelStore({ maxBytes: 1 << 30 }),
      server: n.url,
      apiKey: n.providerApiKey,
      sessionOptions: { executionProviders: ["cpu"] },
    });
    // A gate holds every run until the test opens it: "still running" without racing a clock.
    const runner = gate ? (Object.assign(Object.create(inner), { run: async (req: Parameters<WebRunner["run"]>[0]) => (await gate, inner.run(req)) }) as WebRunner) : inner;
    const registration = RegisterSchema.parse({ name: `tab-${agents.length}`, kind: "browser", backend: "wasm", price: "1", slots: 1, specs: { cores: 2, memoryMb: 0 } });
    const agent = new BrowserProviderAgent({
      server: n.url,
      apiKey: n.providerApiKey,
      registration,
      runner,
      duty,
      emit: (e) => events.push(e),
      ...(maxHeldRestMs !== undefined ? { maxHeldRestMs } : {}),
    });
    agents.push(agent);
    agent.start();
    await eventually(async () => events.some((e) => e.type === "registered"), 20_000, "the agent to register");
    return { agent, events };
  }

  const submitSlow = async (n: TestNetwork, modelId: string, seed: number) => {
    const x = Float32Array.from({ length: 512 }, (_, i) => Math.cos(i + seed));
    // The slow model cannot be refereed by the server (it is not calibrated) and the agent is the only
    // operator online: `allowSingle` lets it run alone rather than wait for a checker.
    const inputs = { x: toJsonTensor({ dtype: "float32", dims: [1, 512], data: new Uint8Array(x.buffer) }) };
    const res = await api(n.url, "POST", "/tasks", { key: n.apiKey, json: { modelId, inputs, verification: { mode: "auto", allowSingle: true } } });
    expect(res.status).toBe(202);
    return res.body.id as string;
  };

  it("pause drains, then releases the task still running (re-queued without using an attempt)", async () => {
    const n = (net = await startTestNetwork());
    const slow = buildSlowModel({ ms: 300 });
    const modelId = await uploadModel(n.url, n.apiKey, slow.bytes, "slow");
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { agent, events } = await startAgent(n, 1, undefined, gate);
    const taskId = await submitSlow(n, modelId, 1);
    await eventually(async () => events.some((e) => e.type === "task" && e.stage === "assigned" && e.taskId === taskId), 20_000, "the task to be assigned");
    await agent.pause(0);
    expect(events.filter((e) => e.type === "phase").map((e) => (e as { phase: string }).phase)).toContain("paused");
    const rows = await n.db.prisma.assignment.findMany({ where: { taskId } });
    expect(rows.map((r) => r.status)).toEqual(["released"]);
    const task = await n.db.prisma.task.findUnique({ where: { id: taskId } });
    expect(task).toMatchObject({ status: "queued", attempts: 0 });
    open();
    // Whatever the run produces now is dropped, never sent as a result.
    const ended = (e: FromWorker) => e.type === "task" && (e.stage === "released" || (e.stage === "undelivered" && e.code === "CANCELLED"));
    await eventually(async () => events.some(ended), 30_000, "the run to end");
    expect(events.some((e) => e.type === "task" && e.stage === "done")).toBe(false);
  });

  it("rests between tasks in proportion to their run time, answering BUSY meanwhile", async () => {
    const n = (net = await startTestNetwork());
    const slow = buildSlowModel({ ms: 400 });
    const modelId = await uploadModel(n.url, n.apiKey, slow.bytes, "slow");
    // 10% use: after a task that kept it busy t ms the agent rests 9·t ms, answering BUSY meanwhile
    // (maxHeldRestMs 0: it never holds an assignment through a rest).
    const { events } = await startAgent(n, 0.1, 0);
    const ids = [await submitSlow(n, modelId, 1), await submitSlow(n, modelId, 2)];
    const done = await Promise.all(ids.map((id) => waitTask(n.url, n.apiKey, id, 60)));
    expect(done.map((t) => t.status)).toEqual(["completed", "completed"]);
    const busy = await n.db.prisma.assignment.findMany({ where: { taskId: { in: ids }, errorCode: "BUSY" } });
    expect(busy.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === "task" && e.stage === "done")).toHaveLength(2);
  });
});
