import { afterAll, beforeAll, expect, it } from "vitest";
import { buildIdentityModel, sampleTensor } from "@stun/testkit";
import { serializeTensorMap } from "@stun/shared";
import { sha256Hex } from "../../src/blobs/blob-store";
import { handleResult } from "../../src/qa/handle-result";
import { writeShortResults, type ShortResult } from "../../src/qa/short-result";
import { ensurePinnedBlob } from "../../src/storage/blob-pins";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api, toJsonTensor, uploadModel } from "../support/api";

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
  let n = 0;

  beforeAll(async () => {
    net = await startTestNetwork();
    modelId = await uploadModel(net.url, net.apiKey, model.bytes);
  });
  afterAll(() => net?.close());

  /** A submitted task wanting `replicas` executions, all dispatched as the dispatcher writes them, each on a provider of its own. */
  async function dispatchedTask(replicas = 3) {
    const db = net.db.prisma;
    const res = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: { x: toJsonTensor(input) }, verification: { mode: "redundant", replicas }, maxPrice: "100" },
    });
    expect(res.status).toBe(202);
    const taskId: string = res.body.id;
    const executions: Array<{ providerId: string; assignmentId: string }> = [];
    for (let r = 0; r < replicas; r++) {
      const i = ++n;
      const providerId = `prv_short_${process.pid}_${i}`;
      const assignmentId = `asg_short_${process.pid}_${i}`;
      await db.provider.create({ data: { id: providerId, accountId: net.providerAccountId, name: `short${i}`, kind: "native", backend: "cpu", region: "local", price: PRICE, specs: {} } });
      await db.assignment.create({ data: { id: assignmentId, taskId, providerId, status: "assigned", backend: "cpu", price: PRICE, leaseUntil: new Date(Date.now() + 3_600_000) } });
      executions.push({ providerId, assignmentId });
    }
    await db.task.update({ where: { id: taskId }, data: { status: "assigned", dispatched: replicas, wanted: replicas } });
    return { taskId, executions };
  }

  const timings = { fetchMs: 0, loadMs: 0, runMs: 1 };

  /** The result of one execution as handle-result.ts makes its lead: the output written by the statement where the store writes small blobs inline, else stored first. */
  async function resultOf(taskId: string, assignmentId: string): Promise<ShortResult & { stored: Uint8Array }> {
    const stored = serializeTensorMap({ y: input });
    const sha = sha256Hex(stored);
    const inline = net.server.app.blobs.inlineWrite?.(stored, sha) !== undefined;
    if (!inline) await net.server.app.blobs.put(stored, sha);
    return { assignmentId, taskId, outputSha256: sha, outputDigest: sha, outputMeta: { y: { dtype: "float32", dims: [2] } }, timings, stored, ...(inline ? { inlineOutput: stored } : {}) };
  }

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
