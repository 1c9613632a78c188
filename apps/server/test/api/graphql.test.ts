import { afterAll, beforeAll, expect, it } from "vitest";
import { isTerminalStatus } from "@stun/shared";
import { buildIdentityModel, sampleTensor } from "@stun/testkit";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, taskListeners, type TestNetwork } from "../support/network";
import { toJsonTensor, uploadModel } from "../support/api";
import { graphqlRequest, subscribeTaskUpdates } from "../support/graphql-client";
import { procedureEntries } from "../../src/procedures/catalog";

/** GraphQL at /api/graphql: generated from the procedure table, same auth and stable codes as REST. */
describeDb("GraphQL at /api/graphql", () => {
  let net: TestNetwork;
  const gql = (query: string, variables?: Record<string, unknown>, key?: string, rawBody?: string) =>
    graphqlRequest(net.url, query, { ...(variables ? { variables } : {}), ...(key ? { key } : {}), ...(rawBody !== undefined ? { rawBody } : {}) });
  const subscribe = (key: string, taskId?: string) => subscribeTaskUpdates(net.url, key, taskId);

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 1 });
  });
  afterAll(() => net?.close());

  it("exposes every procedure of the table as a Query or Mutation field", async () => {
    const { body } = await gql("{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }");
    const queries = body.data.__schema.queryType.fields.map((f: { name: string }) => f.name);
    const mutations = body.data.__schema.mutationType.fields.map((f: { name: string }) => f.name);
    for (const { domain, name, procedure } of procedureEntries()) {
      expect(procedure.kind === "query" ? queries : mutations, `${domain}.${name}`).toContain(`${domain}_${name}`);
    }
    expect(queries.length + mutations.length).toBe(procedureEntries().length);
    expect(body.data.__schema.subscriptionType.fields.map((f: { name: string }) => f.name)).toEqual(["taskUpdates"]);
  });

  it("creates an account, reads it and funds it from the faucet", async () => {
    const created = await gql("mutation { accounts_create { accountId apiKey } }");
    expect(created.status).toBe(200);
    const { accountId, apiKey } = created.body.data.accounts_create;
    const me = await gql("{ accounts_me { accountId balance storage { usedBytes } } }", undefined, apiKey);
    expect(me.body.data.accounts_me).toEqual({ accountId, balance: "0", storage: { usedBytes: "0" } });
    const funded = await gql("mutation ($amount: String!) { accounts_faucet(amount: $amount) { balance } }", { amount: "5000" }, apiKey);
    expect(funded.body.data.accounts_faucet.balance).toBe("5000");
  });

  // Before any other test subscribes: the bus then holds no listener of a closing stream.
  it("stops listening when the client closes its subscription", async () => {
    const modelId = await uploadModel(net.url, net.apiKey, buildIdentityModel("int16", [3]).bytes);
    const sub = await gql(
      "mutation ($modelId: String!, $inputs: JSON!) { tasks_submit(modelId: $modelId, inputs: $inputs) { id } }",
      { modelId, inputs: { x: toJsonTensor(sampleTensor("int16", [3], 2)) } },
      net.apiKey,
    );
    const id = sub.body.data.tasks_submit.id as string;
    expect((await gql("query ($id: String!) { tasks_get(id: $id, wait: 30) { status } }", { id }, net.apiKey)).body.data.tasks_get.status).toBe("completed");
    const listeners = () => taskListeners(net);
    const before = listeners();
    const watch = subscribe(net.apiKey, id);
    await watch.until((u) => u.taskId === id);
    expect(listeners()).toBe(before + 1);
    watch.close();
    await eventually(async () => listeners() === before, 10_000, "the subscription's bus listener to go");
  });

  it("runs a task and streams its updates through the subscription until it completes", async () => {
    const model = buildIdentityModel("int16", [3]);
    const modelId = await uploadModel(net.url, net.apiKey, model.bytes);
    const all = subscribe(net.apiKey);
    const input = sampleTensor("int16", [3], 4);
    const sub = await gql(
      "mutation ($modelId: String!, $inputs: JSON!, $verification: TasksSubmitInputVerification) { tasks_submit(modelId: $modelId, inputs: $inputs, verification: $verification) { id status } }",
      { modelId, inputs: { x: toJsonTensor(input) }, verification: { mode: "none" } },
      net.apiKey,
    );
    expect(sub.body.errors).toBeUndefined();
    const id = sub.body.data.tasks_submit.id as string;
    const one = subscribe(net.apiKey, id);
    await one.until((u) => u.taskId === id && isTerminalStatus(u.status));
    await all.until((u) => u.taskId === id && isTerminalStatus(u.status));
    one.close();
    all.close();
    expect(one.heard.at(-1)).toEqual({ taskId: id, status: "completed" });
    expect(one.heard.every((u) => u.taskId === id)).toBe(true);
    const got = await gql("query ($id: String!) { tasks_get(id: $id) { id status outputs receipt { taskId modelSha256 } } }", { id }, net.apiKey);
    expect(got.body.data.tasks_get).toMatchObject({ id, status: "completed", outputs: { y: { dtype: "int16", dims: [3], data: toJsonTensor(input).data } }, receipt: { taskId: id } });
  });

  it("refuses a subscription to another account's task, and hears nothing of it", async () => {
    const model = buildIdentityModel("int16", [3]);
    const modelId = await uploadModel(net.url, net.apiKey, model.bytes);
    const other = (await gql("mutation { accounts_create { apiKey } }")).body.data.accounts_create.apiKey as string;
    const sub = await gql(
      "mutation ($modelId: String!, $inputs: JSON!) { tasks_submit(modelId: $modelId, inputs: $inputs) { id } }",
      { modelId, inputs: { x: toJsonTensor(sampleTensor("int16", [3], 1)) } },
      net.apiKey,
    );
    const id = sub.body.data.tasks_submit.id as string;
    const spy = subscribe(other, id);
    await spy.done;
    expect(spy.heard).toEqual([]);
    expect(JSON.stringify(spy.errors)).toContain("TASK_NOT_FOUND");
  });

  it("holds bodies without tensors to JSON_BODY_LIMIT, and only a valid key may send more", async () => {
    const { JSON_BODY_LIMIT, BODY_LIMIT } = net.server.app.config;
    expect(BODY_LIMIT).toBeGreaterThan(JSON_BODY_LIMIT + 1024);
    const big = (query: string) => JSON.stringify({ query: `# ${"x".repeat(JSON_BODY_LIMIT)}\n${query}` });
    const anon = await gql("", undefined, undefined, big("{ network_stats { models } }"));
    expect(anon.status).toBe(413);
    expect(anon.body.errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
    const keyed = await gql("", undefined, net.apiKey, big("{ network_stats { models } }"));
    expect(keyed.body.errors[0].extensions).toMatchObject({ code: "PAYLOAD_TOO_LARGE", status: 413 });
    // A tensor-carrying mutation may: it gets as far as its own checks (no such model).
    const submit = await gql("", undefined, net.apiKey, big('mutation { tasks_submit(modelId: "mdl_nope", inputs: {}) { id } }'));
    expect(submit.body.errors[0].extensions.code).toBe("MODEL_NOT_FOUND");
  });

  it("answers with GraphQL errors carrying the stable code, never a 500", async () => {
    const unauth = await gql("{ accounts_me { accountId } }");
    expect(unauth.body.errors[0].extensions).toMatchObject({ code: "UNAUTHORIZED", status: 401 });
    const missing = await gql('{ tasks_get(id: "task_nope") { id } }', undefined, net.apiKey);
    expect(missing.body.errors[0].extensions).toMatchObject({ code: "TASK_NOT_FOUND", status: 404 });
    expect(missing.body.data).toBeNull();
    const bad = await gql('mutation { accounts_faucet(amount: "-5") { balance } }', undefined, net.apiKey);
    expect(bad.body.errors[0].extensions).toMatchObject({ code: "VALIDATION_FAILED", status: 400 });

    const malformed = await gql("{ accounts_me { accountId ");
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0].message).toMatch(/Syntax Error/);
    const unknownField = await gql("{ accounts_me { nope } }", undefined, net.apiKey);
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.errors[0].message).toMatch(/Cannot query field "nope"/);
    const wrongType = await gql("query ($id: String!) { tasks_get(id: $id) { id } }", { id: 42 }, net.apiKey);
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.errors[0].message).toMatch(/\$id/);
    const notJson = await gql("", undefined, undefined, "{not json");
    expect(notJson.status).toBe(400);
    expect(notJson.body.errors[0].message).toBeTruthy();
    const batch = await gql(`{ ${Array.from({ length: 33 }, (_, i) => `s${i}: network_stats { models }`).join(" ")} }`, undefined, net.apiKey);
    expect(batch.status).toBe(400);
    expect(batch.body.errors[0].message).toMatch(/at most 32 top-level fields/);
    const form = await fetch(`${net.url}/api/graphql`, { method: "POST", headers: { "content-type": "text/plain" }, body: "{ network_stats { models } }" });
    expect(form.status).toBe(415);
    expect(((await form.json()) as any).errors[0].extensions.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const empty = await gql("", undefined, undefined, "");
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].extensions.code).toBe("INVALID_JSON");
  });
});
