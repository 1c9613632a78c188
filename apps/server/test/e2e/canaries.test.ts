/**
 * Canaries look like work (docs/QA.md § Canaries): a canary replays a real earlier task's input,
 * never reaches a provider that saw that input, is queued at its source's priority and reaches the
 * provider as an Assign with exactly a user task's fields — and a provider that answers it wrongly
 * is caught. With no real input to replay, no canary is made. Real provider processes (one account
 * each), plus a test-driven provider socket that records what it is sent.
 */
import { afterEach, expect, it } from "vitest";
import { io as connect, type Socket } from "socket.io-client";
import { PROTOCOL_VERSION, PROVIDER_EVENTS, PROVIDER_NAMESPACE, type Assign } from "@stun/shared";
import { buildMlp } from "@stun/testkit";
import type { Task } from "../../src/db/generated/client";
import { checkLedgerInvariants } from "../../src/ledger";
import { QA_ACCOUNT_ID } from "../../src/qa/qa-account";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type ProviderAccount, type TestNetwork } from "../support/network";
import { api, runTask, toJsonTensor, uploadModel, waitTask } from "../support/api";

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 4, seed: 21 });
const input = (i: number) => new Float32Array([i, 1 - i, 0.5 * i, 2]);
const tensor = (x: Float32Array) => toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(x.buffer) });
/** What every task id looks like (ids.ts newId): the prefix, 9 base-36 time digits, 16 random hex digits. */
const TASK_ID = /^tsk_[0-9a-z]{9}[0-9a-f]{16}$/;
const ASSIGNMENT_ID = /^asg_[0-9a-z]{9}[0-9a-f]{16}$/;

/** Canary draws that made no canary, for `reason`. */
async function skipped(net: TestNetwork, reason: string): Promise<number> {
  const metric = await net.server.app.metrics.canariesSkipped.get();
  return metric.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

const canaries = (net: TestNetwork): Promise<Task[]> => net.db.prisma.task.findMany({ where: { kind: "canary" }, orderBy: { createdAt: "asc" } });

/**
 * The invariant: no provider that was sent a canary's input before the canary existed (in any
 * task: its source, an earlier canary of it) — nor any provider of such a provider's account —
 * runs the canary.
 */
async function expectNoProviderSawItBefore(net: TestNetwork, canary: Task): Promise<void> {
  const earlier = await net.db.prisma.assignment.findMany({
    where: { task: { inputSha256: canary.inputSha256, createdAt: { lt: canary.createdAt } } },
    select: { provider: { select: { id: true, accountId: true } } },
  });
  const ran = await net.db.prisma.assignment.findMany({ where: { taskId: canary.id }, select: { provider: { select: { id: true, accountId: true } } } });
  expect(earlier.length).toBeGreaterThan(0);
  expect(ran.length).toBeGreaterThan(0);
  for (const r of ran) {
    expect(earlier.map((e) => e.provider.id)).not.toContain(r.provider.id);
    expect(earlier.map((e) => e.provider.accountId)).not.toContain(r.provider.accountId);
  }
}

/**
 * A provider driven by the test: it registers over the real protocol, records every Assign it is
 * sent and answers each one correctly (the MLP's own forward pass).
 */
async function recordingProvider(url: string, account: ProviderAccount): Promise<{ assigns: Assign[]; providerId: string; close(): void }> {
  const socket: Socket = connect(`${url}${PROVIDER_NAMESPACE}`, { auth: { apiKey: account.apiKey, protocolVersion: PROTOCOL_VERSION }, transports: ["websocket"] });
  const assigns: Assign[] = [];
  socket.on(PROVIDER_EVENTS.assign, (msg: Assign, ack: (a: { ok: true }) => void) => {
    assigns.push(msg);
    ack({ ok: true });
    const data = msg.inputs.x!.data as Uint8Array;
    const x = new Float32Array(Uint8Array.from(data).buffer);
    const y = mlp.forward(x, 1);
    void socket
      .emitWithAck(PROVIDER_EVENTS.result, {
        assignmentId: msg.assignmentId,
        outputs: { y: { dtype: "float32", dims: [1, 4], data: new Uint8Array(y.buffer) } },
        timings: { fetchMs: 1, loadMs: 1, runMs: 1 },
      })
      .catch(() => undefined); // closed at the end of the test
  });
  const ack = await socket.timeout(20_000).emitWithAck(PROVIDER_EVENTS.register, {
    name: "recorder",
    kind: "native",
    backend: "cpu",
    price: "10",
    slots: 2,
    specs: { cores: 2, memoryMb: 1024 },
  });
  if (!ack.ok) throw new Error(`registration refused: ${JSON.stringify(ack)}`);
  return { assigns, providerId: ack.providerId, close: () => socket.close() };
}

describeDb("canaries replay real inputs and look like work", () => {
  let net: TestNetwork | undefined;
  afterEach(async () => {
    await net?.close();
    net = undefined;
  });

  it("makes no canary while the model has no finished real task to copy, nor from one whose data its requester deleted", async () => {
    net = await startTestNetwork({ providers: 1, providerArgs: () => ["--price", "10"], env: { CANARY_RATE: "1" } });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x: tensor(input(1)) }, verification: { mode: "none" } });
    expect(done.status).toBe("completed");
    // Its own submit drew a canary (rate 1): there was nothing real to replay, so none was made.
    await eventually(async () => (await skipped(net!, "no-source")) === 1, 10_000, "the draw to be skipped");
    expect(await canaries(net)).toEqual([]);
    // The requester deletes the finished task's data: its input is no longer QA's to replay.
    expect((await api(net.url, "DELETE", `/tasks/${done.id}/data`, { key: net.apiKey })).status).toBe(200);
    expect((await runTask(net.url, net.apiKey, { modelId, inputs: { x: tensor(input(2)) }, verification: { mode: "none" } })).status).toBe("completed");
    await eventually(async () => (await skipped(net!, "no-source")) === 2, 10_000, "the second draw to be skipped");
    expect(await canaries(net)).toEqual([]);
    expect((await net.server.app.metrics.canaries.get()).values[0]?.value ?? 0).toBe(0);
  });

  it("replays a real earlier input at its source's priority, in an Assign with a user task's fields, and nobody can look it up", async () => {
    net = await startTestNetwork({ env: { CANARY_RATE: "1" } });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    const first = await net.addProvider({ name: "first", args: ["--price", "10"] });
    const source = await runTask(net.url, net.apiKey, { modelId, inputs: { x: tensor(input(1)) }, verification: { mode: "none" }, priority: 3, maxPrice: "10" });
    expect(source.status).toBe("completed");
    await eventually(async () => (await skipped(net!, "no-source")) === 1, 10_000, "the first draw to be skipped");
    // The provider that ran the source leaves; a provider of another operator that records what it receives joins.
    await first.kill();
    const recorderAccount = await net.addProviderAccount();
    const recorder = await recordingProvider(net.url, recorderAccount);
    try {
      const user = await runTask(net.url, net.apiKey, { modelId, inputs: { x: tensor(input(2)) }, verification: { mode: "none" } });
      expect(user.status).toBe("completed");
      const [canary] = await eventually(
        async () => {
          const c = await canaries(net!);
          return c.length === 1 && c[0]!.status === "completed" ? c : undefined;
        },
        30_000,
        "the canary to complete",
      );
      const sourceRow = await net.db.prisma.task.findUniqueOrThrow({ where: { id: source.id } });

      // A real earlier input, queued like its source: same priority, price ceiling and requirements.
      expect(canary!).toMatchObject({
        requesterId: QA_ACCOUNT_ID,
        inputSha256: sourceRow.inputSha256,
        inputMeta: sourceRow.inputMeta,
        priority: 3,
        maxPrice: 10n,
        requirements: sourceRow.requirements,
      });
      expect((canary!.verification as { avoid: string[] }).avoid).toEqual([first.providerId]);
      expect((canary!.receipt as { qa: unknown }).qa).toEqual({ kind: "canary", check: "known-answer", recheck: "none" });

      // On the wire: the user task's Assign and the canary's have the same fields, ids of the same
      // form, the same model and lease; the canary's inputs are the source's bytes.
      const byTask = new Map(recorder.assigns.map((a) => [a.taskId, a]));
      const userAssign = byTask.get(user.id)!;
      const canaryAssign = byTask.get(canary!.id)!;
      expect(Object.keys(canaryAssign).sort()).toEqual(Object.keys(userAssign).sort());
      for (const a of [userAssign, canaryAssign]) {
        expect(a.taskId).toMatch(TASK_ID);
        expect(a.assignmentId).toMatch(ASSIGNMENT_ID);
      }
      expect(canaryAssign.model).toEqual(userAssign.model);
      expect(canaryAssign.leaseMs).toBe(userAssign.leaseMs);
      expect(Object.keys(canaryAssign.inputs.x!).sort()).toEqual(Object.keys(userAssign.inputs.x!).sort());
      expect(new Float32Array(Uint8Array.from(canaryAssign.inputs.x!.data as Uint8Array).buffer)).toEqual(input(1));
      // Paid at its own price, like the user task; its result was judged valid.
      const executions = await net.db.prisma.assignment.findMany({ where: { taskId: { in: [user.id, canary!.id] } } });
      expect(executions.map((a) => [a.providerId, a.price, a.verdict])).toEqual([
        [recorder.providerId, 10n, "accepted"],
        [recorder.providerId, 10n, "accepted"],
      ]);

      // The provider asking the API about either task id learns the same thing: not yours.
      for (const id of [user.id, canary!.id]) {
        expect(await api(net.url, "GET", `/tasks/${id}`, { key: recorderAccount.apiKey })).toEqual({ status: 404, body: { error: { code: "TASK_NOT_FOUND", message: `no task ${id}` } } });
      }
    } finally {
      recorder.close();
    }
  });

  it("keeps a canary away from every provider that saw its input, and catches a provider that answers it wrongly", async () => {
    net = await startTestNetwork({ env: { CANARY_RATE: "1" } });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    // The cheapest provider runs the first task: the scheduler would pick it again for the canary.
    const cheap = await net.addProvider({ name: "cheap", args: ["--price", "1"] });
    const source = await runTask(net.url, net.apiKey, { modelId, inputs: { x: tensor(input(1)) }, verification: { mode: "none" }, maxPrice: "10" });
    expect(source.verification.executions.map((e: { providerId: string }) => e.providerId)).toEqual([cheap.providerId]);
    await eventually(async () => (await skipped(net!, "no-source")) === 1, 10_000, "the first draw to be skipped");

    // A provider that perturbs every output joins; the next submit draws a canary of the first task's input.
    const faulty = await net.addProvider({ name: "faulty", args: ["--fault", "perturb", "--price", "10"] });
    const sub = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: { x: tensor(input(2)) }, verification: { mode: "none" }, maxPrice: "10" } });
    expect(sub.status).toBe(202);
    const failed = await eventually(async () => (await canaries(net!)).find((c) => c.status === "failed"), 30_000, "the canary to fail");
    expect(failed.inputSha256).toBe((await net.db.prisma.task.findUniqueOrThrow({ where: { id: source.id } })).inputSha256);
    expect(failed.errorCode).toBe("CANARY_FAILED");
    await expectNoProviderSawItBefore(net, failed);
    const caught = await net.db.prisma.assignment.findMany({ where: { taskId: failed.id } });
    expect(caught.map((a) => [a.providerId, a.verdict])).toEqual([[faulty.providerId, "rejected"]]);
    expect(await net.db.prisma.provider.findUniqueOrThrow({ where: { id: faulty.providerId } })).toMatchObject({ tasksRejected: 1, slashed: 100n });
    expect((await waitTask(net.url, net.apiKey, sub.body.id)).status).toBe("completed");

    // The faulty provider leaves, an honest one joins: the next canary (of either earlier input) goes
    // to a provider that never saw its input — for the first input, the honest newcomer only — and passes.
    await faulty.kill();
    await net.addProvider({ name: "honest", args: ["--price", "10"] });
    const third = await runTask(net.url, net.apiKey, { modelId, inputs: { x: tensor(input(3)) }, verification: { mode: "none" }, maxPrice: "10" });
    expect(third.status).toBe("completed");
    const passed = await eventually(async () => (await canaries(net!)).find((c) => c.status === "completed"), 30_000, "the second canary to pass");
    await expectNoProviderSawItBefore(net, passed);
    expect((await net.db.prisma.assignment.findMany({ where: { taskId: passed.id } })).map((a) => a.verdict)).toEqual(["accepted"]);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });
});
