import { afterAll, beforeAll, expect, it } from "vitest";
import { buildIdentityModel, sampleTensor } from "@stun/testkit";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, toJsonTensor, uploadModel } from "../support/api";
import { grpcClient } from "../support/grpc-client";

/** `POST /tasks/run`: a submit and the long-poll after it, in one request. */
describeDb("a submit that waits for the task's end (POST /tasks/run)", () => {
  let net: TestNetwork;
  let modelId: string;
  let rpc: ReturnType<typeof grpcClient>;
  const model = buildIdentityModel("float32", [3]);
  const x = sampleTensor("float32", [3]);

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 1, env: { GRPC_PORT: "0" } });
    modelId = await uploadModel(net.url, net.apiKey, model.bytes);
    rpc = grpcClient(net.server.grpcPort!);
  });
  afterAll(async () => {
    rpc?.close();
    await net?.close();
  });

  const run = (json: unknown) => api(net.url, "POST", "/tasks/run", { key: net.apiKey, json });

  it("answers 200 with the finished task: outputs and receipt, as GET /tasks/:id shows it", async () => {
    const res = await run({ modelId, inputs: { x: toJsonTensor(x) }, verification: { mode: "none" }, maxPrice: "10" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "completed", modelId, outputs: { y: toJsonTensor(x) }, receipt: { taskId: res.body.id } });
    const got = await api(net.url, "GET", `/tasks/${res.body.id}`, { key: net.apiKey });
    expect(got.body).toEqual(res.body);
  });

  it("when the time runs out first, the task as it is then — open, and found again by its id", async () => {
    // No provider of this backend is connected: the task stays queued.
    const started = Date.now();
    const res = await run({ modelId, inputs: { x: toJsonTensor(x) }, requirements: { backend: "cuda" }, maxPrice: "10", wait: 0.5 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect([res.status, res.body.status]).toEqual([200, "queued"]);
    expect((await api(net.url, "GET", `/tasks/${res.body.id}`, { key: net.apiKey })).body.status).toBe("queued");
  });

  it("refuses bad input with 400 and a code, holding nothing", async () => {
    const before = (await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body;
    for (const json of [
      { modelId, maxPrice: "10" },
      { modelId, inputs: { x: toJsonTensor(x) }, wait: 61 },
      { modelId, inputs: { x: toJsonTensor(x) }, wait: "soon" },
    ]) {
      const res = await run(json);
      expect([res.status, res.body.error.code], JSON.stringify(json)).toEqual([400, "VALIDATION_FAILED"]);
    }
    const unknown = await run({ modelId: "mdl_nope", inputs: { x: toJsonTensor(x) } });
    expect(unknown.status).toBe(404);
    expect((await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body).toEqual(before);
  });

  it("a caller that hangs up stops its wait at once: REST long-poll, POST /tasks/run, tRPC, GraphQL and gRPC", async () => {
    const bus = net.server.app.bus;
    // No provider of this backend is connected: the task stays queued, its waiters wait.
    const queued = { modelId, inputs: { x: toJsonTensor(x) }, requirements: { backend: "cuda" }, maxPrice: "10" };
    const { id } = (await api(net.url, "POST", "/tasks", { key: net.apiKey, json: queued })).body;
    const headers = { authorization: `Bearer ${net.apiKey}`, "content-type": "application/json" };
    const calls: Array<[string, (signal: AbortSignal) => Promise<Response>]> = [
      ["GET /tasks/:id?wait", (signal) => fetch(`${net.url}/api/v1/tasks/${id}?wait=60`, { headers, signal })],
      ["POST /tasks/run", (signal) => fetch(`${net.url}/api/v1/tasks/run`, { method: "POST", headers, body: JSON.stringify({ ...queued, wait: 60 }), signal })],
      ["tRPC tasks.get", (signal) => fetch(`${net.url}/trpc/tasks.get?input=${encodeURIComponent(JSON.stringify({ id, wait: 60 }))}`, { headers, signal })],
      [
        "GraphQL tasks_get",
        (signal) =>
          fetch(`${net.url}/api/graphql`, {
            method: "POST",
            headers: { ...headers, accept: "application/graphql-response+json" },
            body: JSON.stringify({ query: "query ($id: String!) { tasks_get(id: $id, wait: 60) { status } }", variables: { id } }),
            signal,
          }),
      ],
      [
        "gRPC Tasks.Get",
        (signal) => {
          const call = rpc.start("Tasks", "Get", { id, wait: 60 }, net.apiKey);
          signal.addEventListener("abort", () => call.cancel());
          return call.done.then(
            () => new Response(),
            () => Promise.reject(Object.assign(new Error("cancelled"), { name: "AbortError" })),
          );
        },
      ],
    ];
    for (const [what, call] of calls) {
      expect(bus.watchedTasks, what).toBe(0);
      const hangUp = new AbortController();
      const answer = call(hangUp.signal).catch((e: Error) => e.name);
      await eventually(async () => bus.watchedTasks === 1, 10_000, `${what}: its waiter`);
      hangUp.abort();
      expect(await answer).toBe("AbortError");
      // Gone well before the minute it asked for (without the hang-up it stays till then).
      await eventually(async () => bus.watchedTasks === 0, 5_000, `${what}: its waiter gone`);
    }
  });

  it("needs a requester's key", async () => {
    expect((await api(net.url, "POST", "/tasks/run", { json: { modelId, inputs: { x: toJsonTensor(x) } } })).status).toBe(401);
  });
});
