import { buildMlp } from "@stun/testkit";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { loadCandidateFacts } from "../../src/qa/candidates";
import { ClaimBatch } from "../../src/scheduler/claim-batch";
import { api, toJsonTensor, uploadModel, waitTask } from "../support/api";
import { describeDb } from "../support/database";
import { insertExecution } from "../support/execution-rows";
import { startTestNetwork, type TestNetwork } from "../support/network";

/**
 * A claim reads its candidates' facts once and writes its placements in one statement at the end
 * (scheduler/claim-batch.ts): until then its own placements must count as at risk for their
 * accounts, exactly as a read after each insert counted them.
 */
describeDb("ClaimBatch: a page's facts read once, its placements written together", () => {
  let net: TestNetwork;
  beforeAll(async () => {
    net = await startTestNetwork({ providers: 0 });
  });
  afterAll(() => net?.close());

  /** A queued task of the same model as `like`, no execution yet. */
  const queuedTask = async (like: string, id: string) => {
    const t = await net.db.prisma.task.findUniqueOrThrow({ where: { id: like } });
    await net.db.prisma.task.create({
      data: {
        id,
        requesterId: t.requesterId,
        modelId: t.modelId,
        status: "queued",
        inputSha256: t.inputSha256,
        inputMeta: {},
        verification: { mode: "auto", replicas: 2, argmax: false },
        requirements: {},
        maxPrice: t.maxPrice,
        escrowHeld: 0n,
        wanted: 2,
        dispatched: 0,
        deadline: t.deadline,
      },
    });
    return net.db.prisma.task.findUniqueOrThrow({ where: { id } });
  };

  it("counts its own placements at risk before writing them, then writes every assignment and task in one statement", async () => {
    // A provider with one live execution at 10: its account has 10 at risk.
    const live = await insertExecution(net, { accountId: net.providerAccountId, price: 10n, status: "assigned", taskStatus: "assigned" });
    const placedTask = await queuedTask(live.taskId, `${live.taskId}_placed`);
    const planOnly = await queuedTask(live.taskId, `${live.taskId}_plan`);
    const plan = { wanted: 3, verification: { mode: "auto" as const, replicas: 3, argmax: false, plan: "replicate" as const } };

    await net.db.prisma.$transaction(async (tx) => {
      const claim = new ClaimBatch();
      expect((await claim.factsOf(tx, [live.providerId])).get(live.providerId)?.atRisk).toBe(10n);
      claim.place(placedTask.id, [{ id: `${placedTask.id}_a`, taskId: placedTask.id, providerId: live.providerId, accountId: net.providerAccountId, backend: "cpu", price: 7n }], plan);
      claim.place(planOnly.id, [], plan);
      // Not in the database yet, yet at risk: this claim's next task weighs it.
      expect((await claim.factsOf(tx, [live.providerId])).get(live.providerId)?.atRisk).toBe(17n);
      expect(await tx.assignment.count({ where: { taskId: placedTask.id } })).toBe(0);
      await claim.flush(tx, 60_000);
      // Read back from the database, the facts agree with what the claim counted.
      expect((await loadCandidateFacts(tx, [live.providerId])).get(live.providerId)?.atRisk).toBe(17n);
    });

    const a = await net.db.prisma.assignment.findUniqueOrThrow({ where: { id: `${placedTask.id}_a` } });
    expect(a).toMatchObject({ taskId: placedTask.id, providerId: live.providerId, status: "assigned", backend: "cpu", price: 7n });
    expect(a.leaseUntil.getTime()).toBeGreaterThan(Date.now() + 50_000);
    const placed = await net.db.prisma.task.findUniqueOrThrow({ where: { id: placedTask.id } });
    expect(placed).toMatchObject({ status: "assigned", dispatched: 1, wanted: 3, verification: plan.verification });
    // A plan with nobody to run it now: stored, the task still queued and as it was otherwise.
    const planned = await net.db.prisma.task.findUniqueOrThrow({ where: { id: planOnly.id } });
    expect(planned).toMatchObject({ status: "queued", dispatched: 0, wanted: 3, verification: plan.verification });
    expect(planned.updatedAt).toEqual(planOnly.updatedAt);
  });

  it("writes nothing for a claim that placed nothing", async () => {
    await net.db.prisma.$transaction(async (tx) => {
      const claim = new ClaimBatch();
      expect(claim.empty).toBe(true);
      await claim.flush(tx, 60_000);
    });
  });
});

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 2 });
const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) });

describeDb("dispatcher: one page of queued tasks placed within the providers' account stake", () => {
  let net: TestNetwork;
  afterEach(() => net?.close());

  it("places only what the account's stake covers in one claim, the rest once executions end", async () => {
    // Three providers of one account, price 5: a stake of 100 covers two live executions (10 × 5 each).
    net = await startTestNetwork({ providerStake: 100n });
    const account = { accountId: net.providerAccountId, apiKey: net.providerApiKey };
    for (let i = 0; i < 3; i++) await net.addProvider({ account, args: ["--price", "5"] });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    const app = net.server.app;
    // Every slot held, so the three tasks queue and one pass claims them in one page.
    const providers = app.providers.list();
    expect(providers).toHaveLength(3);
    for (const p of providers) app.providers.reserve(p.id, `asg_held_${p.id}`, { taskId: "task_held", modelId });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sub = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: { x }, maxPrice: "5", verification: { mode: "none" } } });
      expect(sub.status).toBe(202);
      ids.push(sub.body.id as string);
    }
    for (const p of providers) app.providers.free(p.id, `asg_held_${p.id}`);
    app.bus.workAvailable("here");
    for (const id of ids) expect((await waitTask(net.url, net.apiKey, id, 30)).status).toBe("completed");
    // The first claim (its assignments share its transaction's time) placed two: its third task
    // would have taken the account past its stake. That one went once an execution had ended.
    const rows = await net.db.prisma.assignment.findMany({ where: { taskId: { in: ids } } });
    expect(rows).toHaveLength(3);
    const first = Math.min(...rows.map((r) => r.createdAt.getTime()));
    expect(rows.filter((r) => r.createdAt.getTime() === first)).toHaveLength(2);
  });
});
