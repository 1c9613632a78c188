import { buildMlp } from "@stun/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runTask, toJsonTensor, uploadModel } from "../support/api";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 2 });
const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) });

/**
 * The dispatcher places queued work when it is announced (scheduler/dispatcher.ts): a lone instance
 * whose last claim left the queue empty runs nothing for freed capacity, and its timer's pass is
 * only a backstop for work nobody announced. With that timer an hour away, every task of a
 * concurrent load must still be placed: a claim whose snapshot missed a task announced while it
 * ran must not call the queue empty (that task would wait for the timer). Eight providers, so a
 * claim often places all it sees. On PostgreSQL, where a claim and a submit's commit overlap, a
 * dispatcher without that rule failed this test in each of three runs; PGlite's one connection
 * runs them one after the other.
 */
describeDb("dispatcher: announced work is placed without the backstop timer", () => {
  let net: TestNetwork;
  let modelId: string;

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 8, env: { DISPATCH_INTERVAL_MS: String(3_600_000) } });
    modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
  });
  afterAll(() => net?.close());

  it("8 clients submitting at once: every task completes, none waits for the timer", async () => {
    const clients = 8;
    const each = 25;
    const statuses = await Promise.all(
      Array.from({ length: clients }, async () => {
        const seen: string[] = [];
        for (let i = 0; i < each; i++) seen.push((await runTask(net.url, net.apiKey, { modelId, inputs: { x }, verification: { mode: "none" } }, 20)).status);
        return seen;
      }),
    );
    expect(statuses.flat()).toEqual(Array(clients * each).fill("completed"));
  });
});
