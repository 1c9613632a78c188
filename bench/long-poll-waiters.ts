/**
 * What a task update costs the event bus while many long-polls or one-task subscriptions wait
 * (`GET /tasks/:id?wait`, `POST /tasks/run`, tRPC `tasks.watch`): listeners indexed by task
 * (EventBus.onTaskId, which watchTask and services/task-updates.ts use) against one bus listener per
 * waiter filtering by task id (how watchTask, and tasks.watch until the nineteenth round, worked),
 * µs per update to a task nobody waits on.
 *
 *   npx tsx bench/long-poll-waiters.ts [--updates 20000]
 */
import { parseArgs } from "node:util";
import { EventBus } from "../apps/server/src/events";

const { values } = parseArgs({ options: { updates: { type: "string", default: "20000" } } });
const N = Number(values.updates);

for (const waiting of [32, 1_000, 10_000]) {
  const indexed = new EventBus();
  const perListener = new EventBus();
  for (let i = 0; i < waiting; i++) {
    const taskId = `waiting-${i}`;
    indexed.watchTask(taskId, 600_000, (s) => s === "completed");
    perListener.onTask((u) => {
      if (u.taskId === taskId && u.status === "completed") throw new Error("not in this bench");
    });
  }
  const ids = Array.from({ length: N }, (_, i) => `updated-${i}`);
  const perUpdate = (bus: EventBus) => {
    const t0 = performance.now();
    for (const taskId of ids) bus.taskUpdated({ taskId, status: "running" });
    return ((performance.now() - t0) * 1000) / N;
  };
  perUpdate(indexed); // warm-up
  perUpdate(perListener);
  console.log(`${String(waiting).padStart(6)} long-polls waiting: indexed ${perUpdate(indexed).toFixed(2)} µs per update, a listener each ${perUpdate(perListener).toFixed(2)} µs`);
}
process.exit(0);
