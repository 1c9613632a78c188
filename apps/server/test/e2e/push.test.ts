import { afterAll, beforeAll, expect, it } from "vitest";
import { io } from "socket.io-client";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { EventSource } from "eventsource";
import { PROTOCOL_VERSION, REQUESTER_NAMESPACE, isTerminalStatus, type TaskUpdateMessage } from "@stun/shared";
import { buildMlp } from "@stun/testkit";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api, toJsonTensor, uploadModel } from "../support/api";
import { connectWatcher, type Watcher } from "../support/requester-watch";
import type { AppRouter } from "../../src/trpc/routers/_app";

describeDb("pushed task updates: the /requester namespace and tasks.watch", () => {
  let net: TestNetwork;
  let modelId: string;
  let otherKey: string;
  const watchers: Watcher[] = [];

  const submit = async (key: string): Promise<string> => {
    const x = new Float32Array(8).fill(0.5);
    const res = await api(net.url, "POST", "/tasks", {
      key,
      json: { modelId, inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 8], data: new Uint8Array(x.buffer) }) }, verification: { mode: "none" }, maxPrice: "150" },
    });
    if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  };
  const trpcClient = (apiKey: string) =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === "subscription",
          true: httpSubscriptionLink({ url: `${net.url}/trpc`, EventSource, connectionParams: { apiKey } }),
          false: httpBatchLink({ url: `${net.url}/trpc` }),
        }),
      ],
    });
  const watcher = async (key: string) => {
    const w = await connectWatcher(net.url, key);
    watchers.push(w);
    return w;
  };

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 1, providerArgs: () => ["--price", "100"] });
    modelId = await uploadModel(net.url, net.apiKey, buildMlp({ inputSize: 8, hidden: [8], outputSize: 2, seed: 3 }).bytes, "push-mlp");
    const other = await api(net.url, "POST", "/accounts");
    otherKey = other.body.apiKey;
    await api(net.url, "POST", "/faucet", { key: otherKey, json: { amount: "100000" } });
  });
  afterAll(async () => {
    for (const w of watchers) w.socket.close();
    await net?.close();
  });

  it("pushes a task's statuses to its requester, completed last", async () => {
    const w = await watcher(net.apiKey);
    expect(await w.subscribe()).toEqual({ ok: true });
    const taskId = await submit(net.apiKey);
    expect(await w.terminal(taskId)).toEqual({ taskId, status: "completed" });
    const statuses = w.heard.filter((u) => u.taskId === taskId).map((u) => u.status);
    expect(statuses[0]).toBe("queued");
    expect(statuses.at(-1)).toBe("completed");

    // One task: the ack says where it stands now (already completed), so nothing is missed.
    const one = await watcher(net.apiKey);
    expect(await one.subscribe(taskId)).toEqual({ ok: true, current: { taskId, status: "completed" } });
  });

  it("refuses another account's task (TASK_NOT_FOUND, as REST) and never pushes it there", async () => {
    const owner = await watcher(net.apiKey);
    await owner.subscribe();
    const stranger = await watcher(otherKey);
    await stranger.subscribe();
    const taskId = await submit(net.apiKey);
    const refused = await stranger.subscribe(taskId);
    expect(refused).toMatchObject({ ok: false, error: { code: "TASK_NOT_FOUND" } });
    expect(await stranger.subscribe("tsk_doesnotexist0000")).toMatchObject({ ok: false, error: { code: "TASK_NOT_FOUND" } });
    expect(await owner.terminal(taskId)).toEqual({ taskId, status: "completed" });

    // The stranger's own task, announced after the owner's finished, is the barrier: once it is
    // heard, anything of the owner's would have been heard before it.
    const own = await submit(otherKey);
    await stranger.terminal(own);
    expect(stranger.heard.length).toBeGreaterThan(0);
    expect(stranger.heard.every((u) => u.taskId === own)).toBe(true);
  });

  it("refuses a socket without a valid key", async () => {
    const socket = io(`${net.url}${REQUESTER_NAMESPACE}`, { auth: { apiKey: "stun_nope", protocolVersion: PROTOCOL_VERSION }, transports: ["websocket"], reconnection: false });
    const err = await new Promise<Error>((resolve) => socket.once("connect_error", resolve));
    socket.close();
    expect(err.message).toMatch(/^UNAUTHORIZED/);
  });

  it("tasks.watch (tRPC over SSE) gives the same updates, to the owner only", async () => {
    const taskId = await submit(net.apiKey);
    const heard: TaskUpdateMessage[] = [];
    const done = await new Promise<TaskUpdateMessage>((resolve, reject) => {
      const sub = trpcClient(net.apiKey).tasks.watch.subscribe(
        { taskId },
        {
          onData: (u) => {
            heard.push(u);
            if (isTerminalStatus(u.status)) {
              sub.unsubscribe();
              resolve(u);
            }
          },
          onError: reject,
        },
      );
    });
    expect(done).toEqual({ taskId, status: "completed" });
    expect(heard.every((u) => u.taskId === taskId)).toBe(true);

    const refused = await new Promise<unknown>((resolve) => {
      const sub = trpcClient(otherKey).tasks.watch.subscribe(
        { taskId },
        {
          onData: () => resolve(new Error("heard another account's task")),
          onError: (e) => {
            sub.unsubscribe();
            resolve(e);
          },
        },
      );
    });
    expect(refused).toMatchObject({ data: { stunCode: "TASK_NOT_FOUND" } });
  });

  it("a revoked key's socket is closed and its tasks.watch stream ends with KEY_REVOKED", async () => {
    const made = await api(net.url, "POST", "/accounts/me/keys", { key: net.apiKey, json: { name: "watch-only", scopes: ["read"] } });
    expect(made.status).toBe(201);
    const w = await watcher(made.body.apiKey);
    expect(await w.subscribe()).toEqual({ ok: true });
    const closed = new Promise<string>((resolve) => w.socket.once("disconnect", resolve));
    const taskId = await submit(net.apiKey);
    const ended = new Promise<unknown>((resolve) => {
      let opened = false;
      trpcClient(made.body.apiKey).tasks.watch.subscribe(
        { taskId },
        {
          onData: () => {
            // The first message (the task's status now) says the stream is open: revoke then.
            if (!opened) void api(net.url, "POST", `/accounts/me/keys/${made.body.key.id}/revoke`, { key: net.apiKey });
            opened = true;
          },
          onError: resolve,
        },
      );
    });
    expect(await ended).toMatchObject({ data: { stunCode: "KEY_REVOKED" } });
    expect(await closed).toBe("io server disconnect");
  });
});
