import { afterEach, expect, it } from "vitest";
import { buildMlp } from "@stun/testkit";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, float32Of, runTask, toJsonTensor, uploadModel, waitTask } from "../support/api";
import { checkLedgerInvariants } from "../../src/ledger";
import { QA_ACCOUNT_ID } from "../../src/qa/qa-account";

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 4 });
const input = (i: number) => new Float32Array([i, 1 - i, 0.5 * i, 2]);
const tensor = (x: Float32Array) => toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(x.buffer) });

function expectCorrect(outputs: { y: Parameters<typeof float32Of>[0] }, x: Float32Array): void {
  const y = float32Of(outputs.y);
  const want = mlp.forward(x, 1);
  for (let i = 0; i < 4; i++) expect(y[i]).toBeCloseTo(want[i]!, 4);
}

const PRICE = "10";
const FAULTY = ["--fault", "perturb", "--price", PRICE];
const HONEST = ["--price", PRICE];

describeDb("QA catches a faulty provider with real provider processes", () => {
  let net: TestNetwork | undefined;
  afterEach(async () => {
    await net?.close();
    net = undefined;
  });

  it("a faulty provider is caught, slashed, its unchecked results re-checked and corrected; honest providers are paid", async () => {
    // No referee (as for a model too large for the server): alone online, the faulty provider runs
    // two tasks unchecked, because the requester allowed `single` — wrong results delivered.
    // The dispatcher's backstop timer an hour away: the re-checks are placed because they are announced.
    net = await startTestNetwork({ env: { RECHECK_LIMIT: "10", REFEREE_MAX_BYTES: "0", DISPATCH_INTERVAL_MS: String(3_600_000) } });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    const cheater = await net.addProvider({ name: "faulty", args: FAULTY });
    const early = [];
    for (let i = 0; i < 2; i++) {
      const done = await runTask(net.url, net.apiKey, { modelId, inputs: { x: tensor(input(i)) }, maxPrice: PRICE, verification: { mode: "auto", allowSingle: true } });
      expect(done.receipt.qa.check).toBe("single");
      expect(done.cost).toBe(PRICE);
      expect(Math.abs(float32Of(done.outputs.y)[0]! - mlp.forward(input(i), 1)[0]!)).toBeGreaterThan(1e-3);
      early.push(done.id as string);
    }
    const before = (await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body;

    // Honest providers join. A task replicated on all three puts the faulty one in a quorum it
    // loses 2–1. (An `auto` task picks the two best-scored providers: once the honest pair has
    // agreed and earned reputation, the faulty one may never be picked again, so catching it with
    // `auto` depended on which pair the first task drew.)
    const honest = [await net.addProvider({ name: "honest-a", args: HONEST }), await net.addProvider({ name: "honest-b", args: HONEST })];
    const check = await runTask(net.url, net.apiKey, { modelId, inputs: { x: tensor(input(2)) }, maxPrice: PRICE, verification: { mode: "redundant", replicas: 3 } });
    expect(check.status).toBe("completed");
    expectCorrect(check.outputs, input(2));
    expect(check.verification.executions.find((e: { providerId: string }) => e.providerId === cheater.providerId)).toMatchObject({ verdict: "rejected" });
    const caught = await net.db.prisma.provider.findUnique({ where: { id: cheater.providerId } });
    expect(caught!.tasksRejected).toBe(1);

    // Its two unchecked results were re-checked on the honest providers and overturned.
    for (const [i, id] of early.entries()) {
      const fixed = await eventually(
        async () => {
          const t = (await waitTask(net!.url, net!.apiKey, id, 1)) as { receipt: { qa: { recheck: string } } };
          return t.receipt.qa.recheck === "corrected" ? t : undefined;
        },
        60_000,
        `task ${id} to be corrected`,
      );
      expectCorrect((fixed as any).outputs, input(i));
      expect((fixed as any).correction.outputDigest).toBe((fixed as any).receipt.outputDigest);
      expect((fixed as any).correction.previousOutputDigest).not.toBe((fixed as any).receipt.outputDigest);
    }
    const rechecks = await net.db.prisma.task.findMany({ where: { kind: "recheck" } });
    expect(rechecks.map((t) => t.recheckOf).sort()).toEqual([...early].sort());
    for (const r of rechecks) expect(r).toMatchObject({ status: "completed", requesterId: QA_ACCOUNT_ID });
    const overturned = await net.db.prisma.assignment.findMany({ where: { providerId: cheater.providerId, verdict: "overturned" } });
    expect(overturned.map((a) => a.taskId).sort()).toEqual([...early].sort());

    // Slashed: 10 × price for the caught result and for each overturned one (stake covers it).
    const slashed = (await net.db.prisma.provider.findUnique({ where: { id: cheater.providerId } }))!.slashed;
    expect(slashed).toBe(BigInt(10 * Number(PRICE)) * BigInt(caught!.tasksRejected + 2));
    // The requester got back what it paid for each wrong result, out of the slash.
    const refunds = await net.db.prisma.ledgerEntry.findMany({ where: { kind: "slash", account: `acct:${net.accountId}:available` } });
    expect(refunds.map((e) => e.amount)).toEqual([10n, 10n]);
    const after = (await api(net.url, "GET", "/accounts/me", { key: net.apiKey })).body;
    expect(BigInt(after.balance) + BigInt(after.escrow)).toBeLessThanOrEqual(BigInt(before.balance) + BigInt(before.escrow) + 20n);

    // Honest providers: never rejected, and paid for their accepted executions.
    for (const h of honest) {
      const row = await net.db.prisma.provider.findUnique({ where: { id: h.providerId } });
      expect(row!.tasksRejected).toBe(0);
      expect(row!.slashed).toBe(0n);
      expect(row!.tasksCompleted).toBeGreaterThan(0);
    }
    const paidTo = new Set(
      (await net.db.prisma.task.findMany({ where: { status: "completed" }, select: { receipt: true } })).flatMap((t) =>
        ((t.receipt as { providers: Array<{ providerId: string }> }).providers ?? []).map((p) => p.providerId),
      ),
    );
    for (const h of honest) expect(paidTo.has(h.providerId)).toBe(true);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("paid work waits until the provider account's stake covers it", async () => {
    net = await startTestNetwork({ providerStake: 0n, providers: 1, providerArgs: () => ["--price", "5"] });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    const sub = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: { x: tensor(input(3)) }, maxPrice: "5" } });
    expect(sub.status).toBe(202);
    // Not taken: the account has no stake. The task stays queued while the dispatcher keeps passing.
    const passes = net.server.app.metrics.matchDuration;
    await eventually(async () => ((await passes.get()).values.find((x) => x.metricName?.endsWith("_count"))?.value ?? 0) >= 3, 10_000, "dispatch passes");
    expect((await net.db.prisma.task.findUnique({ where: { id: sub.body.id } }))!.status).toBe("queued");
    // Staking 10 × 5 = 50 lets exactly this execution through.
    await api(net.url, "POST", "/faucet", { key: net.providerApiKey, json: { amount: "50" } });
    const staked = await api(net.url, "POST", "/accounts/me/stake", { key: net.providerApiKey, json: { amount: "50" } });
    expect(staked.body.stake).toBe("50");
    net.server.app.bus.workAvailable();
    expect((await waitTask(net.url, net.apiKey, sub.body.id, 30)).status).toBe("completed");
  });
});
