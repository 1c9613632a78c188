import { afterAll, beforeAll, expect, it } from "vitest";
import { buildIdentityModel, sampleTensor } from "@stun/testkit";
import { jsonRows } from "../../src/db/json-rows";
import { readResults, resultLeads, type ResultRead, type ResultWrite } from "../../src/qa/result-statement";
import { dispatchedReplicas, resultWriteOf } from "../support/execution-rows";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { uploadModel } from "../support/api";

/**
 * qa/result-statement.ts: the result statement for several results at once (a batch's results
 * expected to complete their tasks, `resultLeads`) must read and write for each what it reads and
 * writes for one alone, and nothing at all for a result that does not complete its task — that one
 * goes the general way.
 */
describeDb("the result statement: several results expected to complete their tasks, one statement", () => {
  let net: TestNetwork;
  let modelId: string;
  const model = buildIdentityModel("float32", [2]);
  const input = sampleTensor("float32", [2]);
  const PRICE = 40n;

  beforeAll(async () => {
    net = await startTestNetwork();
    modelId = await uploadModel(net.url, net.apiKey, model.bytes);
  });
  afterAll(() => net?.close());

  /** A task wanting `replicas` executions, all dispatched; its executions' ids. */
  async function dispatchedTask(replicas: number) {
    const { taskId, executions } = await dispatchedReplicas(net, { modelId, input, replicas, price: PRICE, accountId: net.providerAccountId });
    return { taskId, executions: executions.map((e) => e.assignmentId) };
  }
  const resultOf = (taskId: string, assignmentId: string) => resultWriteOf(net, taskId, assignmentId, input);

  const inTx = <T>(fn: (tx: Parameters<typeof readResults>[0]) => Promise<T>) => net.db.prisma.$transaction((tx) => fn(tx));
  /** The general way: one result alone. */
  const general = async (r: ResultWrite) => (await inTx((tx) => readResults(tx, [r])))[0]!;

  /** What a read says, ids and times left out: comparable between tasks. */
  const shapeOf = (read: ResultRead | undefined) =>
    read?.task && {
      status: read.task.status,
      wanted: read.task.wanted,
      done: Number(read.task.done),
      short: Number(read.task.short),
      completed: jsonRows(read.task.completed).map((c) => ({ backend: c.backend, price: c.price, outputDigest: c.outputDigest, accountId: c.accountId })),
      facts: jsonRows(read.task.facts).map((f) => ({ backend: f.backend, accountId: f.accountId, streak: f.streak })),
    };

  /** What a task and its executions hold, times and ids left out. */
  async function stateOf(taskId: string) {
    const task = await net.db.prisma.task.findUniqueOrThrow({ where: { id: taskId } });
    const executions = await net.db.prisma.assignment.findMany({ where: { taskId }, orderBy: { id: "asc" } });
    return { status: task.status, executions: executions.map((a) => ({ status: a.status, verdict: a.verdict, outputDigest: a.outputDigest, done: a.completedAt !== null })) };
  }

  it("reads and writes for each of several tasks' last results what the general way does for one", async () => {
    const [a, b, twin] = [await dispatchedTask(2), await dispatchedTask(2), await dispatchedTask(2)];
    // Each task's first replica, the general way: completed, its task verifying.
    for (const t of [a, b, twin]) expect(shapeOf(await general(await resultOf(t.taskId, t.executions[0]!)))).toMatchObject({ short: 1, done: 1 });
    const alone = await general(await resultOf(twin.taskId, twin.executions[1]!));
    const together = await inTx(async (tx) => resultLeads.many(tx, [await resultOf(a.taskId, a.executions[1]!), await resultOf(b.taskId, b.executions[1]!)]));
    // Every execution in and the replica facts read, for the judge.
    expect(shapeOf(alone)).toMatchObject({ status: "verifying", done: 1, short: 0 });
    expect(shapeOf(alone)!.completed).toHaveLength(2);
    expect(shapeOf(alone)!.facts).toHaveLength(2);
    expect(together.map(shapeOf)).toEqual([shapeOf(alone), shapeOf(alone)]);
    expect(together.map((r) => r?.task?.id)).toEqual([a.taskId, b.taskId]);
    expect(await stateOf(a.taskId)).toEqual(await stateOf(twin.taskId));
    expect(await stateOf(b.taskId)).toEqual(await stateOf(twin.taskId));
  });

  it("writes nothing for a result that does not complete its task, or whose lease was lost; the general way then decides", async () => {
    const db = net.db.prisma;
    const short = await dispatchedTask(3);
    const lost = await dispatchedTask(2);
    await general(await resultOf(lost.taskId, lost.executions[0]!));
    await db.assignment.update({ where: { id: lost.executions[1]! }, data: { status: "expired" } });
    const before = [await stateOf(short.taskId), await stateOf(lost.taskId)];
    const results = [await resultOf(short.taskId, short.executions[0]!), await resultOf(lost.taskId, lost.executions[1]!)];
    expect(await inTx((tx) => resultLeads.many(tx, results))).toEqual([undefined, undefined]);
    expect(await inTx((tx) => resultLeads.one(tx, results[0]!))).toBeUndefined();
    expect([await stateOf(short.taskId), await stateOf(lost.taskId)]).toEqual(before);
    // The general way writes the first (its task short: verifying) and finds the lost one lost.
    expect(shapeOf(await general(results[0]!))).toMatchObject({ status: "assigned", done: 1, short: 1 });
    expect((await stateOf(short.taskId)).status).toBe("verifying");
    expect(shapeOf(await general(results[1]!))).toMatchObject({ done: 0 });
  });

  it("of one task's results in one statement, writes the first only: its snapshot would not see the others'", async () => {
    const t = await dispatchedTask(2);
    const [first, second] = [await resultOf(t.taskId, t.executions[0]!), await resultOf(t.taskId, t.executions[1]!)];
    // As the general way's statement for several: the first written (its task short after it), the second left alone.
    const read = await inTx((tx) => readResults(tx, [first, second]));
    expect(read.map(shapeOf)).toEqual([expect.objectContaining({ done: 1, short: 1 }), undefined]);
    expect((await stateOf(t.taskId)).executions.map((e) => e.status)).toEqual(["completed", "assigned"]);
  });
});
