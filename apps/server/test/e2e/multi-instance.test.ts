import { expect, it } from "vitest";
import { buildMlp } from "@stun/testkit";
import { createDatabase } from "../../src/db/database";
import { parseConfig } from "../../src/env";
import { startServer } from "../../src/server";
import { describeDb, testDbKind } from "../support/database";
import { spawnProvider, startTestNetwork } from "../support/network";
import { api, float32Of, runTask, toJsonTensor, uploadModel } from "../support/api";
import { connectWatcher } from "../support/requester-watch";

const REDIS_URL = "redis://127.0.0.1:6379";
// This test's own namespace in the shared Redis: another run on the machine never hears its events.
const REDIS_PREFIX = `stun-test-${process.pid}-${Date.now().toString(36)}`;

/**
 * Several stateless instances serve one network: work is claimed from PostgreSQL, events cross
 * instances through Redis. Needs a shared database, so it runs in the PostgreSQL project.
 */
describeDb("two server instances sharing PostgreSQL, Redis and the blob directory", () => {
  it.runIf(testDbKind === "postgres")("runs a task submitted to one instance on a provider of the other, wakes the long-poll, and counts the provider in both instances' /health", async () => {
    const net = await startTestNetwork({ env: { REDIS_URL, REDIS_PREFIX, INSTANCE_ID: "instance-a" } });
    const dbB = await createDatabase({ url: net.db.url! });
    const b = await startServer(parseConfig({ PORT: "0", DATA_DIR: net.dataDir, LOG_LEVEL: "warn", STUN_FSYNC: "false", REDIS_URL, REDIS_PREFIX, INSTANCE_ID: "instance-b" }), { db: dbB });
    const provider = await spawnProvider(b.url, net.providerApiKey, "on-b", ["--price", "10"]);
    try {
      const listed = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers;
      expect(listed.map((p: { id: string }) => p.id)).toEqual([provider.providerId]);
      // /health on either instance counts the network's providers (Provider.online), not its own.
      expect((await api(net.url, "GET", "/health")).body).toEqual({ status: "ok", providers: { online: 1 } });
      expect((await api(b.url, "GET", "/health")).body).toEqual({ status: "ok", providers: { online: 1 } });

      const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 5 });
      const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
      const x = new Float32Array([0.5, -1, 2, 0]);
      // Instance A hears of the completion, which happens on B, only through the Redis relay.
      const heardOnA: string[] = [];
      const off = net.server.app.bus.onTask((u) => heardOnA.push(`${u.taskId}:${u.status}`));
      const done = await runTask(net.url, net.apiKey, {
        modelId,
        inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(x.buffer) }) },
        verification: { mode: "none" },
      });
      expect(done.status).toBe("completed");
      off();
      expect(heardOnA).toContain(`${done.id}:completed`);
      const y = float32Of(done.outputs.y);
      const expected = mlp.forward(x, 1);
      for (let i = 0; i < 3; i++) expect(y[i]).toBeCloseTo(expected[i]!, 4);
      expect(done.verification.executions[0].providerId).toBe(provider.providerId);
    } finally {
      await provider.kill();
      await b.close();
      await dbB.close();
      await net.close();
    }
  });
});

describeDb("pushed task updates across two instances", () => {
  it.runIf(testDbKind === "postgres")("a requester's socket on either instance hears its task, run on the other, once", async () => {
    const net = await startTestNetwork({ env: { REDIS_URL, REDIS_PREFIX: `${REDIS_PREFIX}-push`, INSTANCE_ID: "instance-a" } });
    const dbB = await createDatabase({ url: net.db.url! });
    const b = await startServer(parseConfig({ PORT: "0", DATA_DIR: net.dataDir, LOG_LEVEL: "warn", STUN_FSYNC: "false", REDIS_URL, REDIS_PREFIX: `${REDIS_PREFIX}-push`, INSTANCE_ID: "instance-b" }), {
      db: dbB,
    });
    const provider = await spawnProvider(b.url, net.providerApiKey, "on-b", ["--price", "10"]);
    const onA = await connectWatcher(net.url, net.apiKey);
    const onB = await connectWatcher(b.url, net.apiKey);
    try {
      expect(await onA.subscribe()).toEqual({ ok: true });
      expect(await onB.subscribe()).toEqual({ ok: true });
      const modelId = await uploadModel(net.url, net.apiKey, buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 6 }).bytes);
      const submit = async () => {
        const x = new Float32Array([0.5, -1, 2, 0]);
        const res = await api(net.url, "POST", "/tasks", {
          key: net.apiKey,
          json: { modelId, inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(x.buffer) }) }, verification: { mode: "none" } },
        });
        return res.body.id as string;
      };
      // Submitted on A, run by B's provider: A's socket hears the completion through the relay, B's
      // hears of a task it learnt the requester of from the relayed submit.
      const first = await submit();
      expect(await onA.terminal(first)).toEqual({ taskId: first, status: "completed" });
      expect(await onB.terminal(first)).toEqual({ taskId: first, status: "completed" });
      // A later task as the barrier: by its end any duplicate of the first would have arrived.
      const second = await submit();
      await onA.terminal(second);
      await onB.terminal(second);
      for (const w of [onA, onB]) expect(w.heard.filter((u) => u.taskId === first && u.status === "completed")).toHaveLength(1);
    } finally {
      onA.socket.close();
      onB.socket.close();
      await provider.kill();
      await b.close();
      await dbB.close();
      await net.close();
    }
  });
});
