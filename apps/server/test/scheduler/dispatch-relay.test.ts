import { buildMlp } from "@stun/testkit";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { api, runTask, toJsonTensor, uploadModel, waitTask } from "../support/api";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 2 });
const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) });

/** The dispatcher's passes and placements so far, by outcome (`submit`, `placed`, `skipped`, …). */
const claimsBy = async (net: TestNetwork, outcome: string) => (await net.server.app.metrics.dispatchClaims.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;

/**
 * With several instances, work queued on one is announced to the others only when that one cannot
 * place it (no free slot, no eligible provider here): N instances do not each run a claim
 * transaction per task. A lone instance that saw its queue drained runs no statement for freed
 * capacity (its timer probes, one statement, for work nobody announced), and places a new task
 * inside its submit's transaction.
 */
describeDb("dispatcher: the other instances hear only of work this one cannot place", () => {
  let net: TestNetwork;
  let modelId: string;
  /** The "work available" pokes this instance published to the others (its relay, as Redis would carry them). */
  const relayed: string[] = [];

  beforeAll(async () => {
    // No backstop timer: its pass, running when a submit comes, sends that task through the queue
    // (a submit places its task only while no pass runs), which would make the counts below
    // depend on the clock. Its probe is tested on its own, below.
    net = await startTestNetwork({ providers: 1, env: { DISPATCH_INTERVAL_MS: String(3_600_000) } });
    modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
  });
  afterAll(() => net?.close());
  // As if another instance shared the bus (Redis would carry what the relay is handed).
  beforeEach(() => {
    relayed.length = 0;
    net.server.app.bus.setRelay((channel) => {
      if (channel === "work") relayed.push(channel);
    });
  });
  afterEach(() => net.server.app.bus.setRelay(undefined));

  const readsBy = (outcome: string) => claimsBy(net, outcome);
  const submit = async (body: Record<string, unknown> = {}) => {
    const sub = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: { x }, verification: { mode: "none" }, ...body } });
    expect(sub.status).toBe(202);
    return sub.body.id as string;
  };

  it("places a task its own provider can take without poking the other instances", async () => {
    for (let i = 0; i < 3; i++) expect((await runTask(net.url, net.apiKey, { modelId, inputs: { x }, verification: { mode: "none" } })).status).toBe("completed");
    expect(relayed).toEqual([]);
  });

  it("pokes the other instances for a task none of its providers can take, once, and never passes a relayed poke on", async () => {
    // Browser providers only: the native provider here cannot take it.
    const id = await submit({ requirements: { kind: "browser" }, deadlineSeconds: 2 });
    await eventually(async () => relayed.length >= 1, 10_000, "a relayed poke");
    // Another instance's poke runs a pass here too, and this one finds the task unplaceable as well.
    const unplaced = await readsBy("unplaced");
    net.server.app.bus.receive("work", "");
    await eventually(async () => (await readsBy("unplaced")) > unplaced, 10_000, "the relayed pass");
    expect(relayed).toEqual(["work"]);
    expect((await waitTask(net.url, net.apiKey, id, 10)).status).toBe("expired");
  });

  it("relays a task queued while its only provider's slot is taken", async () => {
    const app = net.server.app;
    const [provider] = app.providers.list();
    expect(provider).toBeDefined();
    // The slot held as a running execution would hold it.
    app.providers.reserve(provider!.id, "asg_held", { taskId: "task_held", modelId });
    try {
      const id = await submit();
      await eventually(async () => relayed.length >= 1, 10_000, "a relayed poke");
      app.providers.free(provider!.id, "asg_held");
      app.bus.workAvailable("here");
      expect((await waitTask(net.url, net.apiKey, id, 20)).status).toBe("completed");
    } finally {
      app.providers.free(provider!.id, "asg_held");
    }
    expect(relayed).toEqual(["work"]);
  });

  it("relays nothing for new work announced while its only provider's slot is taken when nothing is queued: the pass before placed it", async () => {
    const app = net.server.app;
    const [provider] = app.providers.list();
    // The announced task was placed by the pass running when its poke came, and its execution
    // holds the slot; the poke's own pass finds no slot free.
    app.providers.reserve(provider!.id, "asg_placed", { taskId: "task_placed", modelId });
    try {
      const skipped = await readsBy("skipped");
      app.bus.workAvailable("new");
      await eventually(async () => (await readsBy("skipped")) > skipped, 10_000, "the pass asking whether anything is queued");
    } finally {
      app.providers.free(provider!.id, "asg_placed");
    }
    expect(relayed).toEqual([]);
  });

  it("with other instances, once the queue is drained, freed capacity asks whether anything is queued (one statement) instead of claiming", async () => {
    expect((await runTask(net.url, net.apiKey, { modelId, inputs: { x }, verification: { mode: "none" } })).status).toBe("completed");
    const freed = async () => {
      const skipped = await readsBy("skipped");
      net.server.app.bus.workAvailable("here");
      await eventually(async () => (await readsBy("skipped")) > skipped, 10_000, "a probe for the freed slot");
    };
    await freed();
    const empty = await readsBy("empty");
    for (let i = 0; i < 5; i++) await freed();
    expect(await readsBy("empty")).toBe(empty);
    // Work another instance relays is claimed and placed here.
    const placed = await readsBy("placed");
    const id = await submit();
    expect((await waitTask(net.url, net.apiKey, id)).status).toBe("completed");
    expect(await readsBy("placed")).toBeGreaterThan(placed);
  });

  it("alone, a submit places its task only when nothing else waits: a busy slot or another instance sends it through the queue", async () => {
    const app = net.server.app;
    app.bus.setRelay(undefined);
    const [provider] = app.providers.list();
    // The queue drained, the slot free: placed by the submit.
    expect((await runTask(net.url, net.apiKey, { modelId, inputs: { x }, verification: { mode: "none" } })).status).toBe("completed");
    let atSubmit = await readsBy("submit");
    const placed = await readsBy("placed");
    expect((await runTask(net.url, net.apiKey, { modelId, inputs: { x }, verification: { mode: "none" } })).status).toBe("completed");
    expect(await readsBy("submit")).toBe(++atSubmit);
    expect(await readsBy("placed")).toBe(placed);
    // The only slot held: queued; once it frees, a pass claims the task (the submit placed nothing).
    app.providers.reserve(provider!.id, "asg_held", { taskId: "task_held", modelId });
    try {
      const id = await submit();
      expect((await api(net.url, "GET", `/tasks/${id}`, { key: net.apiKey })).body.status).toBe("queued");
      app.providers.free(provider!.id, "asg_held");
      app.bus.workAvailable("here");
      expect((await waitTask(net.url, net.apiKey, id, 20)).status).toBe("completed");
    } finally {
      app.providers.free(provider!.id, "asg_held");
    }
    expect(await readsBy("submit")).toBe(atSubmit);
    expect(await readsBy("placed")).toBe(placed + 1);
    // Another instance shares the queue: its older tasks may be waiting for this provider, so the
    // task goes through the queue too.
    app.bus.setRelay(() => undefined);
    atSubmit = await readsBy("submit");
    expect((await runTask(net.url, net.apiKey, { modelId, inputs: { x }, verification: { mode: "none" } })).status).toBe("completed");
    expect(await readsBy("submit")).toBe(atSubmit);
    expect(await readsBy("placed")).toBe(placed + 2);
  });
});

/** The backstop timer (every 500 ms): the one pass that probes a queue seen empty, for work nobody announced. */
describeDb("dispatcher: the backstop timer", () => {
  let timed: TestNetwork;
  let modelId: string;
  beforeAll(async () => {
    timed = await startTestNetwork({ providers: 1 });
    modelId = await uploadModel(timed.url, timed.apiKey, mlp.bytes);
  });
  afterAll(() => timed?.close());
  const timerReads = (outcome: string) => claimsBy(timed, outcome);

  it("alone, once the queue is drained, freed capacity runs no statement: only the backstop timer's pass probes for work nobody announced", async () => {
    expect((await runTask(timed.url, timed.apiKey, { modelId, inputs: { x }, verification: { mode: "none" } })).status).toBe("completed");
    const before = { skipped: await timerReads("skipped"), empty: await timerReads("empty"), placed: await timerReads("placed") };
    // Twenty pokes for freed capacity, each given time for a pass of its own.
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      timed.server.app.bus.workAvailable("here");
      await new Promise((r) => setTimeout(r, 25));
    }
    const elapsed = performance.now() - t0;
    // At most one probe per 500 ms timer tick, whatever the pokes.
    expect((await timerReads("skipped")) - before.skipped).toBeLessThanOrEqual(Math.floor(elapsed / 500) + 1);
    await eventually(async () => (await timerReads("skipped")) > before.skipped, 10_000, "the timer's probe");
    expect(await timerReads("empty")).toBe(before.empty);
    expect(await timerReads("placed")).toBe(before.placed);
  });
});
