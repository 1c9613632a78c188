/**
 * Conformance: one scenario (new account, faucet, upload, submit, result, receipt, an error case)
 * through every surface of the API — REST, tRPC, GraphQL, gRPC and this SDK — against the real
 * server and real providers. Each surface's runner reduces its answers to one normalized JSON
 * object and all must be equal (and the outputs must match the MLP's reference).
 *
 * A runner in another language plugs in as one more entry of `surfaces`: it gets the server's
 * URL, the model file and the inputs file (`{"<input>": {"dtype", "dims", "data": [numbers]}}`)
 * and prints the normalized JSON as its last line — as the Python SDK's does
 * (sdks/python/tests/conformance_scenario.py, run in the venv scripts/ensure-python.mjs keeps).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { buildClientSchema, getIntrospectionQuery, getNamedType, isObjectType, type GraphQLObjectType, type GraphQLSchema } from "graphql";
import { isTerminalStatus, type TaskUpdateMessage, type TensorJson } from "@stun/shared";
import { buildMlp } from "@stun/testkit";
import { startTestNetwork, type TestNetwork } from "../../../apps/server/test/support/network";
import { api, uploadModel } from "../../../apps/server/test/support/api";
import { grpcClient, type GrpcError } from "../../../apps/server/test/support/grpc-client";
import { graphqlRequest, subscribeTaskUpdates } from "../../../apps/server/test/support/graphql-client";
import type { AppRouter } from "../../../apps/server/src/trpc/routers/_app";
import { StunApiError, StunClient } from "../src/index";
import { tempDir } from "./support/cli";
import { ensurePython, runPython } from "./support/python";

/** What every surface must answer alike. */
export interface ScenarioResult {
  balanceAfterFaucet: string;
  modelSha256: string;
  taskStatus: string;
  outputs: Record<string, { dtype: string; dims: number[]; data: number[] }>;
  receiptModelSha256: string;
  receiptKeys: string[];
  errorCode: string;
}

export interface ScenarioContext {
  url: string;
  grpcPort: number;
  modelBytes: Uint8Array;
  modelPath: string;
  inputs: Record<string, { dtype: "float32"; dims: number[]; data: number[] }>;
  inputsPath: string;
}

interface Surface {
  name: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 23 });
/** The scenario's fixed inputs, in the inputs-file format. */
export const CONFORMANCE_INPUTS = { x: { dtype: "float32" as const, dims: [2, 4], data: [0.5, -1, 2, 0.25, 1, 1, -0.5, 3] } };
const MISSING_TASK = "task_conformance_missing";
const FAUCET = "5000";

/** Numbers to 6 significant digits: float32 noise below that is not a difference between surfaces. */
const round6 = (xs: ArrayLike<number>): number[] => Array.from(xs, (x) => Number(x.toPrecision(6)));

const float32Of = (base64: string): Float32Array => {
  const b = Buffer.from(base64, "base64");
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** REST/JSON tensors (base64 little-endian data) → the normalized form. */
function normalizeJsonOutputs(outputs: Record<string, TensorJson>): ScenarioResult["outputs"] {
  return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, { dtype: t.dtype, dims: t.dims, data: round6(float32Of(t.data as string)) }]));
}

/** The inputs in REST's JSON tensor form. */
const jsonInputs = (ctx: ScenarioContext): Record<string, TensorJson> =>
  Object.fromEntries(Object.entries(ctx.inputs).map(([name, t]) => [name, { dtype: t.dtype, dims: t.dims, data: Buffer.from(new Float32Array(t.data).buffer).toString("base64") }]));

/** Top-level keys of a receipt, less those a protocol reports as null for "absent". */
const keysOf = (receipt: Record<string, unknown>): string[] =>
  Object.entries(receipt)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k]) => k)
    .sort();

const VERIFICATION = { mode: "none" } as const;

const rest: Surface = {
  name: "REST",
  async run(ctx) {
    const { accountId, apiKey } = (await api(ctx.url, "POST", "/accounts")).body;
    expect(accountId).toBeTruthy();
    const funded = await api(ctx.url, "POST", "/faucet", { key: apiKey, json: { amount: FAUCET } });
    const model = await api(ctx.url, "POST", "/models", { key: apiKey, bytes: ctx.modelBytes });
    const sub = await api(ctx.url, "POST", "/tasks", { key: apiKey, json: { modelId: model.body.id, inputs: jsonInputs(ctx), verification: VERIFICATION } });
    let task = (await api(ctx.url, "GET", `/tasks/${sub.body.id}?wait=30`, { key: apiKey })).body;
    while (!isTerminalStatus(task.status)) task = (await api(ctx.url, "GET", `/tasks/${sub.body.id}?wait=30`, { key: apiKey })).body;
    const missing = await api(ctx.url, "GET", `/tasks/${MISSING_TASK}`, { key: apiKey });
    return {
      balanceAfterFaucet: funded.body.balance,
      modelSha256: model.body.sha256,
      taskStatus: task.status,
      outputs: normalizeJsonOutputs(task.outputs),
      receiptModelSha256: task.receipt.modelSha256,
      receiptKeys: keysOf(task.receipt),
      errorCode: missing.body.error.code,
    };
  },
};

const trpc: Surface = {
  name: "tRPC",
  async run(ctx) {
    const client = (apiKey?: string) => createTRPCClient<AppRouter>({ links: [httpLink({ url: `${ctx.url}/trpc`, headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} })] });
    const { apiKey } = await client().accounts.create.mutate();
    const t = client(apiKey);
    const funded = await t.accounts.faucet.mutate({ amount: FAUCET });
    // Models go up as raw bytes: REST's binary route is the one upload of every surface.
    const modelId = await uploadModel(ctx.url, apiKey, ctx.modelBytes);
    const model = await t.models.get.query({ id: modelId });
    const sub = await t.tasks.submit.mutate({ modelId, inputs: jsonInputs(ctx), verification: VERIFICATION });
    let task = await t.tasks.get.query({ id: sub.id, wait: 30 });
    while (!isTerminalStatus(task.status)) task = await t.tasks.get.query({ id: sub.id, wait: 30 });
    const error = await t.tasks.get.query({ id: MISSING_TASK }).then(
      () => undefined,
      (e: unknown) => (e instanceof TRPCClientError ? (e.data as { stunCode?: string }).stunCode : undefined),
    );
    return {
      balanceAfterFaucet: funded.balance,
      modelSha256: model.sha256,
      taskStatus: task.status,
      outputs: normalizeJsonOutputs(task.outputs ?? {}),
      receiptModelSha256: task.receipt!.modelSha256,
      receiptKeys: keysOf(task.receipt!),
      errorCode: error ?? "none",
    };
  },
};

/** A selection set of every field of `type`, nested objects included (what "all of the receipt" is in GraphQL). */
function selectAll(type: GraphQLObjectType): string {
  return `{ ${Object.values(type.getFields())
    .map((f) => {
      const named = getNamedType(f.type);
      return isObjectType(named) ? `${f.name} ${selectAll(named)}` : f.name;
    })
    .join(" ")} }`;
}

const graphql: Surface = {
  name: "GraphQL",
  async run(ctx) {
    const gql = async (query: string, variables: Record<string, unknown> = {}, key?: string) => (await graphqlRequest(ctx.url, query, { variables, ...(key ? { key } : {}) })).body;
    const schema: GraphQLSchema = buildClientSchema((await gql(getIntrospectionQuery())).data);
    const receiptType = getNamedType(schema.getQueryType()!.getFields().tasks_get!.type) as GraphQLObjectType;
    const receiptSelection = selectAll(getNamedType(receiptType.getFields().receipt!.type) as GraphQLObjectType);

    const { apiKey } = (await gql("mutation { accounts_create { apiKey } }")).data.accounts_create;
    const funded = (await gql("mutation ($amount: String!) { accounts_faucet(amount: $amount) { balance } }", { amount: FAUCET }, apiKey)).data.accounts_faucet;
    const modelId = await uploadModel(ctx.url, apiKey, ctx.modelBytes);
    const model = (await gql("query ($id: String!) { models_get(id: $id) { sha256 } }", { id: modelId }, apiKey)).data.models_get;
    const sub = (
      await gql(
        "mutation ($modelId: String!, $inputs: JSON!, $verification: TasksSubmitInputVerification) { tasks_submit(modelId: $modelId, inputs: $inputs, verification: $verification) { id } }",
        { modelId, inputs: jsonInputs(ctx), verification: VERIFICATION },
        apiKey,
      )
    ).data.tasks_submit;
    // The result is pushed: the taskUpdates subscription (server-sent events) until a terminal status.
    const updates = subscribeTaskUpdates(ctx.url, apiKey, sub.id);
    await updates.until((u) => isTerminalStatus(u.status));
    updates.close();
    const task = (await gql(`query ($id: String!) { tasks_get(id: $id) { status outputs receipt ${receiptSelection} } }`, { id: sub.id }, apiKey)).data.tasks_get;
    const missing = await gql("query ($id: String!) { tasks_get(id: $id) { id } }", { id: MISSING_TASK }, apiKey);
    return {
      balanceAfterFaucet: funded.balance,
      modelSha256: model.sha256,
      taskStatus: task.status,
      outputs: normalizeJsonOutputs(task.outputs),
      receiptModelSha256: task.receipt.modelSha256,
      receiptKeys: keysOf(task.receipt),
      errorCode: missing.errors?.[0]?.extensions?.code ?? "none",
    };
  },
};

const grpcSurface: Surface = {
  name: "gRPC",
  async run(ctx) {
    const rpc = grpcClient(ctx.grpcPort);
    try {
      const { apiKey } = await rpc.call("Accounts", "Create", {});
      const funded = await rpc.call("Accounts", "Faucet", { amount: FAUCET }, apiKey);
      const modelId = await uploadModel(ctx.url, apiKey, ctx.modelBytes);
      const model = await rpc.call("Models", "Get", { id: modelId }, apiKey);
      const sub = await rpc.call("Tasks", "Submit", { modelId, inputs: JSON.stringify(jsonInputs(ctx)), verification: VERIFICATION }, apiKey);
      // The result is pushed: WatchTask until a terminal status.
      await new Promise<void>((resolve, reject) => {
        const stream = rpc.watch({ taskId: sub.id }, apiKey);
        stream.on("data", (u: TaskUpdateMessage) => {
          if (!isTerminalStatus(u.status)) return;
          stream.cancel();
          resolve();
        });
        stream.on("error", (e: { code: number }) => (e.code === 1 ? undefined : reject(e)));
      });
      const task = await rpc.call("Tasks", "Get", { id: sub.id }, apiKey);
      const error = await rpc.call("Tasks", "Get", { id: MISSING_TASK }, apiKey).then(
        () => undefined,
        (e: GrpcError) => e.stunCode,
      );
      return {
        balanceAfterFaucet: funded.balance,
        modelSha256: model.sha256,
        taskStatus: task.status,
        outputs: normalizeJsonOutputs(JSON.parse(task.outputs)),
        receiptModelSha256: task.receipt.modelSha256,
        receiptKeys: keysOf(task.receipt),
        errorCode: error ?? "none",
      };
    } finally {
      rpc.close();
    }
  },
};

const sdk: Surface = {
  name: "TS SDK",
  async run(ctx) {
    const { apiKey } = await StunClient.createAccount(ctx.url);
    const stun = new StunClient({ baseUrl: ctx.url, apiKey });
    const funded = await stun.faucet(BigInt(FAUCET));
    const model = await stun.uploadModel(ctx.modelBytes);
    const inputs = Object.fromEntries(Object.entries(ctx.inputs).map(([name, t]) => [name, { dims: t.dims, data: new Float32Array(t.data) }]));
    const task = await stun.submitTask({ modelId: model.id, inputs, verification: VERIFICATION });
    const done = await task.wait({ timeoutMs: 60_000 });
    const error = await stun.getTask(MISSING_TASK).then(
      () => undefined,
      (e: unknown) => (e instanceof StunApiError ? e.code : undefined),
    );
    return {
      balanceAfterFaucet: String(funded.balance),
      modelSha256: model.sha256,
      taskStatus: done.status,
      outputs: Object.fromEntries(Object.entries(done.outputs ?? {}).map(([name, t]) => [name, { dtype: t.dtype, dims: [...t.dims], data: round6(t.data as Float32Array) }])),
      receiptModelSha256: done.receipt!.modelSha256,
      receiptKeys: keysOf(done.receipt as unknown as Record<string, unknown>),
      errorCode: error ?? "none",
    };
  },
};

const python: Surface = {
  name: "Python SDK",
  async run(ctx) {
    const r = await runPython(ensurePython(), ["tests/conformance_scenario.py", "--url", ctx.url, "--model", ctx.modelPath, "--inputs", ctx.inputsPath], {});
    if (r.code !== 0) throw new Error(`conformance_scenario.py exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as ScenarioResult;
  },
};

/** Every surface the scenario runs through; another language's SDK is one more entry (see the top of the file). */
const surfaces: Surface[] = [rest, trpc, graphql, grpcSurface, sdk, python];

let net: TestNetwork;
let dir: { path: string; remove(): Promise<void> };
let ctx: ScenarioContext;

beforeAll(async () => {
  net = await startTestNetwork({ providers: 2, env: { GRPC_PORT: "0" } });
  dir = await tempDir();
  const modelPath = join(dir.path, "mlp.onnx");
  const inputsPath = join(dir.path, "inputs.json");
  writeFileSync(modelPath, mlp.bytes);
  writeFileSync(inputsPath, JSON.stringify(CONFORMANCE_INPUTS));
  ctx = { url: net.url, grpcPort: net.server.grpcPort!, modelBytes: mlp.bytes, modelPath, inputs: CONFORMANCE_INPUTS, inputsPath };
}, 180_000);

afterAll(async () => {
  await net?.close();
  await dir?.remove();
});

it("gives the same answers through REST, tRPC, GraphQL, gRPC, the TS SDK and the Python SDK", async () => {
  const results: Record<string, ScenarioResult> = {};
  for (const surface of surfaces) results[surface.name] = await surface.run(ctx);
  const [first, ...rest] = Object.values(results);
  const reference = mlp.forward(new Float32Array(CONFORMANCE_INPUTS.x.data), 2);
  expect(first).toMatchObject({ balanceAfterFaucet: FAUCET, taskStatus: "completed", errorCode: "TASK_NOT_FOUND", outputs: { y: { dtype: "float32", dims: [2, 3] } } });
  expect(first!.modelSha256).toMatch(/^[0-9a-f]{64}$/);
  expect(first!.receiptModelSha256).toBe(first!.modelSha256);
  expect(first!.receiptKeys).toContain("outputDigest");
  first!.outputs.y!.data.forEach((v, i) => expect(Math.abs(v - reference[i]!), `y[${i}]`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(reference[i]!))));
  for (const [name, result] of Object.entries(results)) expect(result, name).toEqual(first);
  expect(rest.length).toBe(surfaces.length - 1);
}, 240_000);
