import { afterAll, beforeAll, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { isTerminalStatus, type TaskUpdateMessage } from "@stun/shared";
import { buildIdentityModel, sampleTensor } from "@stun/testkit";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, taskListeners, type TestNetwork } from "../support/network";
import { toJsonTensor, uploadModel } from "../support/api";
import { grpcClient, toGrpcError, type GrpcError } from "../support/grpc-client";
import { procedureEntries } from "../../src/procedures/catalog";
import { rpcName, serviceName } from "../../src/grpc/proto";

type Update = TaskUpdateMessage;

/** The gRPC gateway on GRPC_PORT, through @grpc/grpc-js loading the checked-in docs/stun.proto. */
describeDb("gRPC gateway", () => {
  let net: TestNetwork;
  let rpc: ReturnType<typeof grpcClient>;
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error("expected the call to fail");
      },
      (e: GrpcError) => e,
    );
  /** Every update of a WatchTask stream until `stop` says so (or the stream ends), and how it ended. */
  const collect = (stream: grpc.ClientReadableStream<Update>, stop: (heard: Update[]) => boolean) =>
    new Promise<{ heard: Update[]; error?: GrpcError }>((resolve) => {
      const heard: Update[] = [];
      stream.on("data", (u: Update) => {
        heard.push(u);
        if (stop(heard)) {
          stream.cancel();
          resolve({ heard });
        }
      });
      stream.on("error", (e: grpc.ServiceError) => resolve({ heard, ...(e.code === grpc.status.CANCELLED ? {} : { error: toGrpcError(e) }) }));
      stream.on("end", () => resolve({ heard }));
    });

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 1, env: { GRPC_PORT: "0" } });
    rpc = grpcClient(net.server.grpcPort!);
  });
  afterAll(async () => {
    rpc?.close();
    await net?.close();
  });

  it("serves every procedure of the table", async () => {
    // An rpc that exists answers with the procedure's own error (UNAUTHENTICATED without a key, or
    // its answer); one that did not would be UNIMPLEMENTED.
    for (const { domain, name, procedure } of procedureEntries()) {
      const res = await rpc.call(serviceName(domain), rpcName(name), {}).then(
        () => "ok",
        (e: GrpcError) => e.code,
      );
      expect(res, `${domain}.${name}`).not.toBe(grpc.status.UNIMPLEMENTED);
      if (procedure.auth) expect(res, `${domain}.${name}`).toBe(grpc.status.UNAUTHENTICATED);
    }
  });

  it("creates an account, reads it and funds it from the faucet", async () => {
    const { accountId, apiKey } = await rpc.call("Accounts", "Create", {});
    expect(await rpc.call("Accounts", "Me", {}, apiKey)).toMatchObject({ accountId, balance: "0", escrow: "0", stake: "0" });
    expect((await rpc.call("Accounts", "Faucet", { amount: "5000" }, apiKey)).balance).toBe("5000");
  });

  // Before any other test subscribes: the bus then holds no listener of a closing stream.
  it("stops listening when the client cancels WatchTask", async () => {
    const modelId = await uploadModel(net.url, net.apiKey, buildIdentityModel("int16", [3]).bytes);
    const sub = await rpc.call("Tasks", "Submit", { modelId, inputs: JSON.stringify({ x: toJsonTensor(sampleTensor("int16", [3], 2)) }) }, net.apiKey);
    expect((await rpc.call("Tasks", "Get", { id: sub.id, wait: 30 }, net.apiKey)).status).toBe("completed");
    const before = taskListeners(net);
    // Its first message (the task's status now) comes once it listens; then the client cancels.
    let during = -1;
    await collect(rpc.watch({ taskId: sub.id }, net.apiKey), () => {
      during = taskListeners(net);
      return true;
    });
    expect(during).toBe(before + 1);
    await eventually(async () => taskListeners(net) === before, 10_000, "the stream's bus listener to go");
  });

  it("runs a task and streams its updates through WatchTask until it completes", async () => {
    const modelId = await uploadModel(net.url, net.apiKey, buildIdentityModel("int16", [3]).bytes);
    const all = collect(rpc.watch({}, net.apiKey), (heard) => heard.some((u) => isTerminalStatus(u.status)));
    const input = sampleTensor("int16", [3], 4);
    const sub = await rpc.call("Tasks", "Submit", { modelId, inputs: JSON.stringify({ x: toJsonTensor(input) }), verification: { mode: "none" } }, net.apiKey);
    expect(sub.status).toBe("queued");
    const one = await collect(rpc.watch({ taskId: sub.id }, net.apiKey), (heard) => heard.some((u) => isTerminalStatus(u.status)));
    expect(one.error).toBeUndefined();
    expect(one.heard.at(-1)).toEqual({ taskId: sub.id, status: "completed" });
    expect(one.heard.every((u) => u.taskId === sub.id)).toBe(true);
    expect((await all).heard.at(-1)).toEqual({ taskId: sub.id, status: "completed" });
    const got = await rpc.call("Tasks", "Get", { id: sub.id }, net.apiKey);
    expect(got).toMatchObject({ id: sub.id, status: "completed", receipt: { taskId: sub.id } });
    expect(JSON.parse(got.outputs)).toEqual({ y: { dtype: "int16", dims: [3], data: toJsonTensor(input).data } });
  });

  it("refuses WatchTask on another account's task, and sends nothing of it", async () => {
    const modelId = await uploadModel(net.url, net.apiKey, buildIdentityModel("int16", [3]).bytes);
    const other = (await rpc.call("Accounts", "Create", {})).apiKey as string;
    const sub = await rpc.call("Tasks", "Submit", { modelId, inputs: JSON.stringify({ x: toJsonTensor(sampleTensor("int16", [3], 1)) }) }, net.apiKey);
    const spy = await collect(rpc.watch({ taskId: sub.id }, other), () => false);
    expect(spy.heard).toEqual([]);
    expect(spy.error).toMatchObject({ code: grpc.status.NOT_FOUND, stunCode: "TASK_NOT_FOUND" });
    const anon = await collect(rpc.watch({ taskId: sub.id }), () => false);
    expect(anon.error).toMatchObject({ code: grpc.status.UNAUTHENTICATED, stunCode: "UNAUTHORIZED" });
  });

  it("maps errors to gRPC status codes with the stable code in stun-code", async () => {
    expect(await failure(rpc.call("Accounts", "Me", {}))).toMatchObject({ code: grpc.status.UNAUTHENTICATED, stunCode: "UNAUTHORIZED" });
    expect(await failure(rpc.call("Accounts", "Me", {}, "sk_not_a_key"))).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await failure(rpc.call("Tasks", "Get", { id: "task_nope" }, net.apiKey))).toMatchObject({ code: grpc.status.NOT_FOUND, stunCode: "TASK_NOT_FOUND" });
    expect(await failure(rpc.call("Accounts", "Faucet", { amount: "-5" }, net.apiKey))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, stunCode: "VALIDATION_FAILED" });
    expect(await failure(rpc.call("Tasks", "Submit", { modelId: "m", inputs: "{not json" }, net.apiKey))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, stunCode: "VALIDATION_FAILED" });
    const poor = (await rpc.call("Accounts", "Create", {})).apiKey as string;
    expect(await failure(rpc.call("Accounts", "Stake", { amount: "10" }, poor))).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, stunCode: "INSUFFICIENT_FUNDS" });
  });

  it("answers a message that does not decode with INVALID_ARGUMENT", async () => {
    const raw = new grpc.Client(`127.0.0.1:${net.server.grpcPort}`, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${net.apiKey}`);
    const err = await new Promise<GrpcError>((resolve) =>
      raw.makeUnaryRequest(
        "/stun.v1.Accounts/Faucet",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0xff, 0xff]),
        metadata,
        (e) => resolve(toGrpcError(e!)),
      ),
    );
    raw.close();
    expect(err).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, stunCode: "VALIDATION_FAILED" });
    expect(err.details).toMatch(/does not decode/);
  });
});
