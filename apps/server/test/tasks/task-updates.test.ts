import { afterAll, beforeAll, expect, it } from "vitest";
import type { TaskUpdateMessage, TaskWatch } from "@stun/shared";
import { buildMlp } from "@stun/testkit";
import { taskUpdates } from "../../src/services/task-updates";
import { describeDb } from "../support/database";
import { api, toJsonTensor, uploadModel } from "../support/api";
import { startTestNetwork, type TestNetwork } from "../support/network";

/**
 * Pushed task updates (tRPC `tasks.watch`) with many subscriptions open: each update reaches the
 * subscriptions of its own task, or of its own requester, and the bus keeps one listener for all
 * of them — a subscription is not a listener every update of every task runs through.
 */
describeDb("task update subscriptions, many at once", () => {
  let net: TestNetwork;
  let modelId: string;
  let other: { key: string; accountId: string };

  const submit = async (key: string): Promise<string> => {
    const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(16) });
    // No provider: the task stays queued, and its updates below are the test's own.
    const res = await api(net.url, "POST", "/tasks", { key, json: { modelId, inputs: { x }, verification: { mode: "none" } } });
    if (res.status !== 202) throw new Error(`submit: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  };

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 0 });
    modelId = await uploadModel(net.url, net.apiKey, buildMlp({ inputSize: 4, hidden: [4], outputSize: 2, seed: 5 }).bytes, "updates-mlp");
    const made = await api(net.url, "POST", "/accounts");
    other = { key: made.body.apiKey, accountId: made.body.accountId };
    await api(net.url, "POST", "/faucet", { key: other.key, json: { amount: "100000" } });
  });
  afterAll(() => net?.close());

  it("hands each update to its task's and its requester's subscriptions only, through one bus listener", async () => {
    const { bus } = net.server.app;
    const mine: string[] = [];
    for (let i = 0; i < 40; i++) mine.push(await submit(net.apiKey));
    const theirs: string[] = [];
    for (let i = 0; i < 10; i++) theirs.push(await submit(other.key));
    const aborts: AbortController[] = [];
    const open = (accountId: string, watch: TaskWatch) => {
      const ac = new AbortController();
      aborts.push(ac);
      return taskUpdates(net.server.app, accountId, watch, ac.signal);
    };
    // The instance's shared listeners are made by the first subscription of each kind.
    const warm = new AbortController();
    const warmUp = taskUpdates(net.server.app, net.accountId, {}, warm.signal);
    const warmEnd = warmUp.next();
    warm.abort();
    expect((await warmEnd).done).toBe(true);
    const listenersBefore = bus.taskListeners;
    const watchedBefore = bus.watchedTasks;
    // Two subscriptions on each task, ten to each account's every task.
    const byTask = new Map<string, AsyncGenerator<TaskUpdateMessage>[]>();
    for (const [accountId, ids] of [
      [net.accountId, mine],
      [other.accountId, theirs],
    ] as const) {
      for (const taskId of ids) {
        const subs = [open(accountId, { taskId }), open(accountId, { taskId })];
        for (const s of subs) expect((await s.next()).value).toEqual({ taskId, status: "queued" });
        byTask.set(taskId, subs);
      }
    }
    const accountWide = (accountId: string) => Array.from({ length: 10 }, () => open(accountId, {}));
    const mineAll = accountWide(net.accountId);
    const theirsAll = accountWide(other.accountId);
    const firstOf = (subs: AsyncGenerator<TaskUpdateMessage>[]) => subs.map((s) => s.next().then((r) => r.value));
    const mineFirst = firstOf(mineAll);
    const theirsFirst = firstOf(theirsAll);

    expect(bus.taskListeners).toBe(listenersBefore);
    expect(bus.watchedTasks).toBe(watchedBefore + 50);

    // One of mine, then one of theirs, then every other task: each subscription's next update is
    // its own task's (or its own account's first), whatever was announced before it.
    const a = mine[7]!;
    const b = theirs[3]!;
    bus.taskUpdated({ taskId: a, status: "assigned" });
    bus.taskUpdated({ taskId: b, status: "assigned" });
    for (const taskId of [...mine, ...theirs]) if (taskId !== a && taskId !== b) bus.taskUpdated({ taskId, status: "assigned" });
    for (const [taskId, subs] of byTask) {
      for (const s of subs) expect((await s.next()).value).toEqual({ taskId, status: "assigned" });
    }
    expect(await Promise.all(mineFirst)).toEqual(mineAll.map(() => ({ taskId: a, status: "assigned" })));
    expect(await Promise.all(theirsFirst)).toEqual(theirsAll.map(() => ({ taskId: b, status: "assigned" })));

    // Closed, they leave nothing behind.
    for (const ac of aborts) ac.abort();
    for (const s of [...[...byTask.values()].flat(), ...mineAll, ...theirsAll]) expect((await s.return(undefined)).done).toBe(true);
    expect(bus.watchedTasks).toBe(watchedBefore);
    expect(bus.taskListeners).toBe(listenersBefore);
  });
});
