import { afterAll, beforeAll, expect, it } from "vitest";
import { buildIdentityModel, sampleTensor } from "@stun/testkit";
import { handleResult } from "../../src/qa/handle-result";
import { createDatabase, type Database } from "../../src/db/database";
import { parseConfig } from "../../src/env";
import { startServer, type RunningServer } from "../../src/server";
import { checkLedgerInvariants } from "../../src/ledger";
import { describeDb, testDbKind } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, toJsonTensor, uploadModel } from "../support/api";

/**
 * Replicas of one task whose results commit on two instances at once (qa/handle-result.ts,
 * `shortOf`): each result statement reads the task's other executions in a snapshot taken before
 * it waited for the task's lock. The second to get the lock must not trust that snapshot, which
 * misses the first's result: it would find the task short of its replicas and leave it verifying
 * for ever. The race is forced: a third transaction holds the task's lock until both result
 * statements wait for it. Needs two connections, so it runs in the PostgreSQL project.
 */
describeDb("replicas whose results commit on two instances at once", () => {
  let net: TestNetwork;
  let dbB: Database;
  let b: RunningServer;
  let modelId: string;
  const model = buildIdentityModel("float32", [2]);
  const input = sampleTensor("float32", [2]);
  const PRICE = 10n;
  let n = 0;

  beforeAll(async () => {
    if (testDbKind !== "postgres") return;
    net = await startTestNetwork();
    dbB = await createDatabase({ url: net.db.url! });
    b = await startServer(parseConfig({ PORT: "0", DATA_DIR: net.dataDir, LOG_LEVEL: "warn", STUN_FSYNC: "false", INSTANCE_ID: "instance-b" }), { db: dbB });
    modelId = await uploadModel(net.url, net.apiKey, model.bytes);
  });
  afterAll(async () => {
    await b?.close();
    await dbB?.close();
    await net?.close();
  });

  /** A redundant task of `replicas` executions, each dispatched to a provider of an account of its own. */
  async function dispatchedTask(replicas: number) {
    const db = net.db.prisma;
    const res = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: { x: toJsonTensor(input) }, verification: { mode: "redundant", replicas }, maxPrice: PRICE.toString() },
    });
    expect(res.status).toBe(202);
    const taskId: string = res.body.id;
    const executions: Array<{ providerId: string; assignmentId: string }> = [];
    for (let r = 0; r < replicas; r++) {
      const i = ++n;
      const { accountId } = await net.addProviderAccount();
      const providerId = `prv_race_${process.pid}_${i}`;
      const assignmentId = `asg_race_${process.pid}_${i}`;
      await db.provider.create({ data: { id: providerId, accountId, name: `race${i}`, kind: "native", backend: "cpu", region: "local", price: PRICE, specs: {} } });
      await db.assignment.create({ data: { id: assignmentId, taskId, providerId, status: "assigned", backend: "cpu", price: PRICE, leaseUntil: new Date(Date.now() + 3_600_000) } });
      executions.push({ providerId, assignmentId });
    }
    await db.task.update({ where: { id: taskId }, data: { status: "assigned", dispatched: replicas, wanted: replicas } });
    return { taskId, executions };
  }

  const result = (assignmentId: string) => ({ assignmentId, outputs: { y: input }, timings: { fetchMs: 0, loadMs: 0, runMs: 1 } });

  /**
   * Runs `results` (instance, execution) at once while a transaction of its own holds the task's
   * lock, released once every result statement waits for it: each has taken its snapshot.
   */
  async function atOnce(taskId: string, results: Array<[RunningServer, { providerId: string; assignmentId: string }]>) {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const holding = new Promise<void>((r) => (locked = r));
    const holder = net.db.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM "Task" WHERE id = ${taskId} FOR UPDATE`;
        locked();
        await released;
      },
      { timeout: 60_000 },
    );
    await holding;
    const acks = results.map(([server, e]) => handleResult(server.app, e.providerId, result(e.assignmentId)));
    const waiting = async () => {
      const [row] = await net.db.prisma.$queryRaw<Array<{ n: number }>>`
        SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%' AND query LIKE '%"Assignment"%'`;
      return Number(row?.n) >= results.length;
    };
    await eventually(waiting, 10_000, "every result statement waiting for the task's lock");
    release();
    await holder;
    return Promise.all(acks);
  }

  /** The task completed, its `n` executions accepted. */
  async function expectAccepted(taskId: string, n: number) {
    expect((await net.db.prisma.task.findUniqueOrThrow({ where: { id: taskId } })).status).toBe("completed");
    const verdicts = await net.db.prisma.assignment.findMany({ where: { taskId }, select: { verdict: true } });
    expect(verdicts.map((v) => v.verdict)).toEqual(Array(n).fill("accepted"));
  }

  it.runIf(testDbKind === "postgres")("two replicas: the second to get the lock sees the first's result and the task completes with both accepted", async () => {
    const t = await dispatchedTask(2);
    const [x, y] = t.executions;
    expect(
      await atOnce(t.taskId, [
        [net.server, x!],
        [b, y!],
      ]),
    ).toEqual([{ ok: true }, { ok: true }]);
    await expectAccepted(t.taskId, 2);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it.runIf(testDbKind === "postgres")("three replicas, the task already verifying: the second result still writes the task's row, so the third reads again and judges", async () => {
    const t = await dispatchedTask(3);
    const [x, y, z] = t.executions;
    expect(await handleResult(net.server.app, x!.providerId, result(x!.assignmentId))).toEqual({ ok: true });
    expect((await net.db.prisma.task.findUniqueOrThrow({ where: { id: t.taskId } })).status).toBe("verifying");
    expect(
      await atOnce(t.taskId, [
        [net.server, y!],
        [b, z!],
      ]),
    ).toEqual([{ ok: true }, { ok: true }]);
    await expectAccepted(t.taskId, 3);
  });

  it.runIf(testDbKind === "postgres")("a lone replica's result marks the task verifying in its own statement and announces it once", async () => {
    const t = await dispatchedTask(2);
    const [x] = t.executions;
    const heard: string[] = [];
    const off = net.server.app.bus.onTask((u) => u.taskId === t.taskId && heard.push(u.status));
    expect(await handleResult(net.server.app, x!.providerId, result(x!.assignmentId))).toEqual({ ok: true });
    await eventually(async () => heard.length > 0, 5_000, "the announcement");
    off();
    expect(heard).toEqual(["verifying"]);
    expect((await net.db.prisma.task.findUniqueOrThrow({ where: { id: t.taskId } })).status).toBe("verifying");
  });
});
