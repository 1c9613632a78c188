import { afterAll, beforeAll, expect, it } from "vitest";
import { buildIdentityModel, sampleTensor } from "@stun/testkit";
import { handleResult } from "../../src/qa/handle-result";
import { writeShortResults, type ShortResult } from "../../src/qa/short-result";
import { ensurePinnedBlob } from "../../src/storage/blob-pins";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { uploadModel } from "../support/api";
import { dispatchedReplicas, resultWriteOf } from "../support/execution-rows";

/**
 * qa/short-result.ts: a replica's result its task is still short after, written with others' by one
 * statement, must write what the general result statement writes (the execution completed, the task
 * verifying), and nothing at all where the task is not short after it, or not as the plan expects.
 */
describeDb("a result its task is short after: written with others' in one statement", () => {
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

  const dispatchedTask = (replicas = 3) => dispatchedReplicas(net, { modelId, input, replicas, price: PRICE, accountId: net.providerAccountId });
  const timings = { fetchMs: 0, loadMs: 0, runMs: 1 };
  const resultOf = (taskId: string, assignmentId: string) => resultWriteOf(net, taskId, assignmentId, input);

  /** writeShortResults in one transaction, as a group commit runs a batch's leads. */
  async function write(rs: Array<ShortResult & { stored: Uint8Array }>) {
    const app = net.server.app;
    return app.db.prisma.$transaction(async (tx) => {
      const written = await writeShortResults(tx, rs);
      for (const [i, r] of rs.entries()) if (written[i] && !r.inlineOutput) await ensurePinnedBlob(tx, app.blobs, r.outputSha256, r.stored);
      return written;
    });
  }

  /** What a task and its executions hold, times and ids left out. */
  async function stateOf(taskId: string) {
    const db = net.db.prisma;
    const task = await db.task.findUniqueOrThrow({ where: { id: taskId } });
    const executions = await db.assignment.findMany({ where: { taskId }, orderBy: { id: "asc" } });
    return {
      status: task.status,
      executions: executions.map((a) => ({
        status: a.status,
        verdict: a.verdict,
        outputSha256: a.outputSha256,
        outputDigest: a.outputDigest,
        outputMeta: a.outputMeta,
        timings: a.timings,
        done: a.completedAt !== null,
      })),
    };
  }

  it("writes what the general result statement writes: the execution completed, the task verifying; several tasks in one statement", async () => {
    const [a, b, twin] = [await dispatchedTask(), await dispatchedTask(), await dispatchedTask()];
    const written = await write([await resultOf(a.taskId, a.executions[0]!.assignmentId), await resultOf(b.taskId, b.executions[1]!.assignmentId)]);
    expect(written).toEqual([{ wasVerifying: false }, { wasVerifying: false }]);
    // The general way: the assignment is not held by this instance, so its result is read from the database and judged.
    const { providerId, assignmentId } = twin.executions[0]!;
    expect(await handleResult(net.server.app, providerId, { assignmentId, outputs: { y: input }, timings })).toEqual({ ok: true });
    const general = await stateOf(twin.taskId);
    expect(general.status).toBe("verifying");
    expect(await stateOf(a.taskId)).toEqual(general);
    // Task b's second execution was the one completed.
    expect((await stateOf(b.taskId)).executions.map((e) => e.status)).toEqual(["assigned", "completed", "assigned"]);
    // The next replica of a verifying task: written too, the task was verifying already.
    expect(await write([await resultOf(a.taskId, a.executions[1]!.assignmentId)])).toEqual([{ wasVerifying: true }]);
  });

  it("writes nothing where the task is not short after it, or not as the plan expects, so the general way decides", async () => {
    const db = net.db.prisma;
    const cases: Array<[string, number, (t: Awaited<ReturnType<typeof dispatchedTask>>) => Promise<void>]> = [
      ["it is the last result", 2, async (t) => void (await db.assignment.update({ where: { id: t.executions[1]!.assignmentId }, data: { status: "completed", outputSha256: "0".repeat(64) } }))],
      ["the task was cancelled", 3, async (t) => void (await db.task.update({ where: { id: t.taskId }, data: { status: "cancelled" } }))],
      ["the lease was lost", 3, async (t) => void (await db.assignment.update({ where: { id: t.executions[0]!.assignmentId }, data: { status: "expired" } }))],
    ];
    for (const [why, replicas, change] of cases) {
      const t = await dispatchedTask(replicas);
      await change(t);
      const before = await stateOf(t.taskId);
      expect(await write([await resultOf(t.taskId, t.executions[0]!.assignmentId)]), why).toEqual([undefined]);
      expect(await stateOf(t.taskId), why).toEqual(before);
    }
  });

  it("of one task's results in one statement, writes the first only: its snapshot would not see the others'", async () => {
    const t = await dispatchedTask(3);
    const [first, second] = [await resultOf(t.taskId, t.executions[0]!.assignmentId), await resultOf(t.taskId, t.executions[1]!.assignmentId)];
    expect(await write([first, second])).toEqual([{ wasVerifying: false }, undefined]);
    expect((await stateOf(t.taskId)).executions.map((e) => e.status)).toEqual(["completed", "assigned", "assigned"]);
  });
});
