import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { TaskUpdate } from "../../src/events";
import { markRunning, resultArrived, writingResult } from "../../src/tasks/lifecycle";
import { describeDb, testDbKind } from "../support/database";
import { insertExecution } from "../support/execution-rows";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";

/**
 * assigned → running is written a moment after the provider's ack, for the executions whose result
 * has not arrived by then: a fast model's result makes the write needless (it moves the row on).
 */
describeDb("markRunning / resultArrived", () => {
  let net: TestNetwork;

  beforeAll(async () => {
    net = await startTestNetwork();
  });
  afterAll(() => net?.close());

  /** A task and its one execution, both `assigned`, as the dispatcher writes them. */
  const assigned = () => insertExecution(net, { accountId: net.providerAccountId, price: 10n, status: "assigned", taskStatus: "assigned" });

  const statusOf = async (x: { taskId: string; assignmentId: string }) => ({
    task: (await net.db.prisma.task.findUniqueOrThrow({ where: { id: x.taskId } })).status,
    assignment: (await net.db.prisma.assignment.findUniqueOrThrow({ where: { id: x.assignmentId } })).status,
  });

  it("marks acknowledged executions running together, and skips those whose result arrived first", async () => {
    const app = net.server.app;
    const [slow, alsoSlow, fast] = [await assigned(), await assigned(), await assigned()];
    const events: TaskUpdate[] = [];
    const off = app.bus.onTask((u) => events.push(u));
    try {
      const marks = [markRunning(app, slow.assignmentId), markRunning(app, alsoSlow.assignmentId), markRunning(app, fast.assignmentId)];
      resultArrived(app, fast.assignmentId);
      // Not written before the flush: a result arriving in between finds the row as the dispatcher left it.
      expect(await statusOf(slow)).toEqual({ task: "assigned", assignment: "assigned" });
      await Promise.all(marks);
      expect(await statusOf(slow)).toEqual({ task: "running", assignment: "running" });
      expect(await statusOf(alsoSlow)).toEqual({ task: "running", assignment: "running" });
      expect(await statusOf(fast)).toEqual({ task: "assigned", assignment: "assigned" });
      expect(
        events
          .filter((e) => e.status === "running")
          .map((e) => e.taskId)
          .sort(),
      ).toEqual([slow.taskId, alsoSlow.taskId].sort());
    } finally {
      off();
    }
  });

  it("writes nothing when every acknowledged execution's result arrived first, and a later ack starts a new flush", async () => {
    const app = net.server.app;
    const [fast, later] = [await assigned(), await assigned()];
    const mark = markRunning(app, fast.assignmentId);
    resultArrived(app, fast.assignmentId);
    await mark;
    expect(await statusOf(fast)).toEqual({ task: "assigned", assignment: "assigned" });
    await markRunning(app, later.assignmentId);
    expect(await statusOf(later)).toEqual({ task: "running", assignment: "running" });
  });
  it("leaves the row of a task with a result on its way alone, and marks its execution once that result is written", async () => {
    const app = net.server.app;
    const [writing, other] = [await assigned(), await assigned()];
    const written = writingResult(app, writing.taskId);
    await Promise.all([markRunning(app, writing.assignmentId), markRunning(app, other.assignmentId)]);
    expect(await statusOf(other)).toEqual({ task: "running", assignment: "running" });
    expect(await statusOf(writing)).toEqual({ task: "assigned", assignment: "assigned" });
    written();
    await eventually(async () => (await statusOf(writing)).assignment === "running" || undefined, 30_000, "the execution marked once its task's result was written");
    expect(await statusOf(writing)).toEqual({ task: "running", assignment: "running" });
  });

  it("never marks a waiting execution whose own result arrived meanwhile", async () => {
    const app = net.server.app;
    const [waiting, later] = [await assigned(), await assigned()];
    const written = writingResult(app, waiting.taskId);
    await markRunning(app, waiting.assignmentId);
    resultArrived(app, waiting.assignmentId);
    written();
    // A window after the result was written: it would hold the waiting execution, had it come back.
    await markRunning(app, later.assignmentId);
    expect(await statusOf(later)).toEqual({ task: "running", assignment: "running" });
    expect(await statusOf(waiting)).toEqual({ task: "assigned", assignment: "assigned" });
  });

  // PGlite has one connection: no other transaction can hold a task row meanwhile.
  it.runIf(testDbKind === "postgres")("never waits for a task row another transaction holds: marks the others, and that one once the row is free", async () => {
    const app = net.server.app;
    const [held, free] = [await assigned(), await assigned()];
    const other = new pg.Client({ connectionString: net.db.url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query(`SELECT id FROM "Task" WHERE id = $1 FOR UPDATE`, [held.taskId]);
      // Resolves while the row is still held (a waiting mark would never resolve here).
      await Promise.all([markRunning(app, held.assignmentId), markRunning(app, free.assignmentId)]);
      expect(await statusOf(free)).toEqual({ task: "running", assignment: "running" });
      expect(await statusOf(held)).toEqual({ task: "assigned", assignment: "assigned" });
      await other.query("COMMIT");
    } finally {
      await other.end();
    }
    // The skipped execution is tried again in a later window, its result not having arrived.
    await eventually(async () => (await statusOf(held)).assignment === "running" || undefined, 30_000, "the held task's execution marked running");
    expect(await statusOf(held)).toEqual({ task: "running", assignment: "running" });
  });
});
