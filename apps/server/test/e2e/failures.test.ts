import { afterEach, expect, it } from "vitest";
import { buildMlp, buildSlowModel } from "@stun/testkit";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, float32Of, toJsonTensor, uploadModel, waitTask } from "../support/api";
import { splitFee } from "@stun/shared";
import { checkLedgerInvariants, getBalances } from "../../src/ledger";

/** What one provider earns from one execution at `price` (the 80% pool takes the rounding). */
const earned = (price: bigint) => splitFee([{ id: "p", amount: price }]).providers[0]!.amount;

const slowInput = (size: number) => ({ x: toJsonTensor({ dtype: "float32", dims: [1, size], data: new Uint8Array(new Float32Array(size).fill(0.1).buffer) }) });

describeDb("failures: providers dying, the server restarting, a provider cheating", () => {
  let net: TestNetwork | undefined;
  afterEach(async () => {
    await net?.close();
    net = undefined;
  });

  it("re-runs a task whose provider is killed mid-task on another provider, and pays once", async () => {
    // The upload check runs this 3 s model several times; on a loaded machine that crossed the 30 s
    // job limit (MODEL_TOO_COSTLY), which is not what this test is about.
    net = await startTestNetwork({ providers: 2, providerArgs: () => ["--price", "50"], env: { ONNX_JOB_TIMEOUT_MS: "300000" } });
    const slow = buildSlowModel({ ms: 3000 });
    const modelId = await uploadModel(net.url, net.apiKey, slow.bytes, "slow");
    const sub = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: slowInput(slow.size), verification: { mode: "none" } } });
    expect(sub.status).toBe(202);
    const running = await eventually(
      async () => {
        const a = await net!.db.prisma.assignment.findFirst({ where: { taskId: sub.body.id, status: "running" } });
        return a ?? undefined;
      },
      20_000,
      "the task to start running",
    );
    const victim = net.providers.find((p) => p.providerId === running.providerId)!;
    expect(victim).toBeDefined();
    await victim.kill();

    const done = await waitTask(net.url, net.apiKey, sub.body.id, 60);
    expect(done.status).toBe("completed");
    const rows = await net.db.prisma.assignment.findMany({ where: { taskId: sub.body.id }, orderBy: { createdAt: "asc" } });
    expect(rows[0]).toMatchObject({ id: running.id, status: "lost", errorCode: "disconnect" });
    const accepted = rows.filter((r) => r.verdict === "accepted");
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.status).toBe("completed");
    expect(accepted[0]!.providerId).not.toBe(victim.providerId);
    expect(done.cost).toBe("50");
    // Paid once, to the survivor's account (each provider has an account of its own).
    const survivor = net.providers.find((p) => p.providerId === accepted[0]!.providerId)!;
    expect((await getBalances(net.db, survivor.accountId)).balance).toBe(earned(50n));
    expect((await getBalances(net.db, victim.accountId)).balance).toBe(0n);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("loses no task and pays none twice when the server restarts with tasks queued and running", async () => {
    net = await startTestNetwork({ providers: 1, providerArgs: () => ["--price", "10"], env: { LEASE_MS: "12000" } });
    const slow = buildSlowModel({ ms: 800 });
    const modelId = await uploadModel(net.url, net.apiKey, slow.bytes, "slow");
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const sub = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: slowInput(slow.size), verification: { mode: "none" } } });
      ids.push(sub.body.id);
    }
    await eventually(() => net!.db.prisma.assignment.count({ where: { status: "running" } }), 20_000, "a running task");
    const before = await net.db.prisma.task.groupBy({ by: ["status"], _count: { _all: true } });
    expect(before.find((s) => s.status === "queued")?._count._all ?? 0).toBeGreaterThan(0);

    await net.restartServer();

    for (const id of ids) {
      const done = await waitTask(net.url, net.apiKey, id, 100);
      if (done.status !== "completed") {
        const rows = await net.db.prisma.assignment.findMany({ where: { taskId: { in: ids } }, orderBy: { createdAt: "asc" } });
        console.error("after restart:", JSON.stringify(rows.map((r) => [r.taskId.slice(-6), r.status, r.errorCode, r.createdAt, r.leaseUntil])));
        console.error(
          net.providers[0]!.lines.slice(-15)
            .map((l) => JSON.stringify(l))
            .join("\n"),
        );
      }
      expect(done.status, id).toBe("completed");
      expect(done.cost).toBe("10");
    }
    const accepted = await net.db.prisma.assignment.count({ where: { taskId: { in: ids }, verdict: "accepted" } });
    expect(accepted).toBe(4);
    expect((await getBalances(net.db, net.providerAccountId)).balance).toBe(4n * earned(10n));
    expect((await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body.escrow).toBe("0");
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  }, 240_000);

  it("catches a provider returning wrong outputs in a redundant task with a provider tie-breaker: not paid, reputation down, slashed", async () => {
    // Two providers, one of them cheating: both replicas must run on them and disagree. Only then
    // does an honest third provider join, to serve the tie-breaker. (The server's referee is off
    // here, to exercise the provider tie-breaker that models too large for it use.)
    net = await startTestNetwork({
      env: { REFEREE_MAX_BYTES: "0" },
      providers: 2,
      providerArgs: (i) => (i === 0 ? ["--price", "30", "--fault", "perturb"] : ["--price", "30"]),
    });
    const cheater = net.providers[0]!;
    const mlp = buildMlp({ inputSize: 8, hidden: [16], outputSize: 4, seed: 2 });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes, "mlp");
    const x = Float32Array.from({ length: 8 }, (_, i) => i / 8);
    const sub = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 8], data: new Uint8Array(x.buffer) }) }, verification: { mode: "redundant" } },
    });
    await eventually(async () => (await net!.db.prisma.task.findUnique({ where: { id: sub.body.id } }))?.wanted === 3, 30_000, "the replicas to disagree and a tie-breaker to be wanted");
    await net.addProvider({ args: ["--price", "30"] });
    const done = await waitTask(net.url, net.apiKey, sub.body.id, 60);
    expect(done.status).toBe("completed");
    const verdicts = Object.fromEntries(done.verification.executions.map((e: { providerId: string; verdict: string }) => [e.providerId, e.verdict]));
    expect(verdicts[cheater.providerId]).toBe("rejected");
    expect(Object.values(verdicts).filter((v) => v === "accepted")).toHaveLength(2);
    expect(done.receipt.providers.map((p: { providerId: string }) => p.providerId)).not.toContain(cheater.providerId);
    expect(done.cost).toBe("60");
    expect(done.verification.executions).toHaveLength(3);
    const y = float32Of(done.outputs.y);
    const expected = mlp.forward(x, 1);
    for (let i = 0; i < 4; i++) expect(y[i]).toBeCloseTo(expected[i]!, 4);
    const row = await net.db.prisma.provider.findUnique({ where: { id: cheater.providerId } });
    expect(row!.reputation).toBeLessThan(0.5);
    expect(row!.tasksRejected).toBe(1);
    expect(row!.slashed).toBe(300n); // SLASH_MULTIPLE (10) × its price, all to the treasury
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("lets the server's own reference run decide when replicas disagree: the cheater loses, no third provider", async () => {
    net = await startTestNetwork({
      providers: 2,
      providerArgs: (i) => (i === 0 ? ["--price", "30", "--fault", "perturb"] : ["--price", "30"]),
    });
    const cheater = net.providers[0]!;
    const honest = net.providers[1]!;
    const mlp = buildMlp({ inputSize: 8, hidden: [16], outputSize: 4, seed: 3 });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes, "mlp");
    const x = Float32Array.from({ length: 8 }, (_, i) => 1 - i / 8);
    const sub = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 8], data: new Uint8Array(x.buffer) }) }, verification: { mode: "redundant" } },
    });
    const done = await waitTask(net.url, net.apiKey, sub.body.id, 60);
    expect(done.status).toBe("completed");
    expect(done.verification.executions).toHaveLength(2);
    const verdicts = Object.fromEntries(done.verification.executions.map((e: { providerId: string; verdict: string }) => [e.providerId, e.verdict]));
    expect(verdicts).toEqual({ [cheater.providerId]: "rejected", [honest.providerId]: "accepted" });
    expect(done.receipt.qa).toMatchObject({ check: "replicated", refereed: true });
    expect(done.receipt.providers.map((p: { providerId: string }) => p.providerId)).toEqual([honest.providerId]);
    expect(done.cost).toBe("30");
    const y = float32Of(done.outputs.y);
    const expected = mlp.forward(x, 1);
    for (let i = 0; i < 4; i++) expect(y[i]).toBeCloseTo(expected[i]!, 4);
    expect((await net.db.prisma.provider.findUnique({ where: { id: cheater.providerId } }))!.slashed).toBe(300n);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });
});
