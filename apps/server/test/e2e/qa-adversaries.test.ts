/**
 * QA against adversaries written from the docs alone (test/support/scripted-provider.ts), with real
 * honest provider processes, under load: a cheater with many slots and a fast claimed benchmark,
 * one operator's Sybils (one account; accounts linked by a wallet), and a provider submitting its
 * own work. What is checked is what a requester receives: no wrong result is ever delivered.
 */
import { afterEach, expect, it } from "vitest";
import { buildMlp } from "@stun/testkit";
import type { WireTensorMap } from "@stun/shared";
import { describeDb } from "../support/database";
import { startTestNetwork, type ProviderAccount, type TestNetwork } from "../support/network";
import { api, float32Of, runTask, toJsonTensor, uploadModel } from "../support/api";
import { float32Tensor, float32sOf, startScriptedProvider, type ScriptedProvider } from "../support/scripted-provider";
import { checkLedgerInvariants } from "../../src/ledger";

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 4, seed: 11 });
const input = (i: number) => new Float32Array([Math.sin(i), Math.cos(i), 0.1 * i, 1]);
const tensor = (x: Float32Array) => toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(x.buffer) });
const PRICE = "10";

/** The model's true output plus 0.5: what a cheater that ran the model and then lied would send. */
const offByHalf = (inputs: WireTensorMap): WireTensorMap => ({
  y: float32Tensor(
    [1, 4],
    mlp.forward(float32sOf(inputs.x!), 1).map((v) => v + 0.5),
  ),
});
/** The same wrong answer from every Sybil: [42, 42, 42, 42]. */
const fortyTwo = (): WireTensorMap => ({ y: float32Tensor([1, 4], new Float32Array([42, 42, 42, 42])) });

function isRight(outputs: { y: Parameters<typeof float32Of>[0] }, x: Float32Array): boolean {
  const y = float32Of(outputs.y);
  return mlp.forward(x, 1).every((v, i) => Math.abs(v - y[i]!) <= 1e-3 + 1e-3 * Math.abs(v));
}

/** Runs `n` tasks with `inFlight` submitted at a time; returns each task as first seen completed or ended. */
async function runMany(n: number, inFlight: number, run: (i: number) => Promise<any>): Promise<any[]> {
  const out: any[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await run(i);
      }
    }),
  );
  return out;
}

describeDb("QA against cheaters and Sybils, under load", () => {
  let net: TestNetwork | undefined;
  const scripted: ScriptedProvider[] = [];
  afterEach(async () => {
    for (const s of scripted.splice(0)) s.close();
    await net?.close();
    net = undefined;
  });

  const submitFor = (key: string, modelId: string, i: number, verification?: Record<string, unknown>) =>
    runTask(net!.url, key, { modelId, inputs: { x: tensor(input(i)) }, maxPrice: PRICE, ...(verification ? { verification } : {}) }, 60);

  async function cheaterOf(account: ProviderAccount, name: string, answer: (i: WireTensorMap) => WireTensorMap, slots = 1): Promise<ScriptedProvider> {
    const p = await startScriptedProvider({ url: net!.url, apiKey: account.apiKey, name, price: PRICE, slots, benchmarkIps: 1e6, answer, delayMs: 5 });
    scripted.push(p);
    return p;
  }

  async function expectNeverTrusted(providerIds: string[]): Promise<void> {
    for (const id of providerIds) {
      const accepted = await net!.db.prisma.assignment.count({ where: { providerId: id, verdict: "accepted" } });
      expect(accepted, `${id} accepted results`).toBe(0);
      const row = await net!.db.prisma.provider.findUnique({ where: { id }, include: { trust: true } });
      expect(row!.reputation).toBe(0);
      for (const t of row!.trust) expect(t.streak).toBe(0);
    }
  }

  for (const referee of [true, false]) {
    it(`a cheater with 8 slots and a fast claimed benchmark delivers no wrong result, 8 requests in flight (${referee ? "server referee" : "provider tie-breakers"})`, async () => {
      net = await startTestNetwork({ providers: 2, providerArgs: () => ["--price", PRICE, "--slots", "1"], env: referee ? {} : { REFEREE_MAX_BYTES: "0" } });
      const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
      const cheater = await cheaterOf(await net.addProviderAccount(), "cheater", offByHalf, 8);
      const tasks = await runMany(40, 8, (i) => submitFor(net!.apiKey, modelId, i, i % 4 === 3 ? { mode: "redundant" } : undefined));
      const wrong = tasks.filter((t, i) => t.status === "completed" && !isRight(t.outputs, input(i)));
      expect(wrong.map((t) => t.id)).toEqual([]);
      expect(tasks.filter((t) => t.status !== "completed").map((t) => t.id)).toEqual([]);
      // It was in the game — picked first for its claimed speed — and lost every time.
      expect(cheater.assigned.length).toBeGreaterThan(0);
      const row = await net.db.prisma.provider.findUnique({ where: { id: cheater.providerId } });
      expect(row!.tasksRejected).toBeGreaterThan(0);
      expect(row!.slashed).toBeGreaterThan(0n);
      await expectNeverTrusted([cheater.providerId]);
      expect(await net.db.prisma.task.count({ where: { correction: { not: null as never } } })).toBe(0);
      for (const t of tasks) expect(t.receipt?.qa.check ?? "none").not.toBe("single");
      expect(await checkLedgerInvariants(net.db)).toEqual([]);
    }, 180_000);
  }

  it("one account's providers never check each other: alone they never get a result accepted; with others they always lose", async () => {
    net = await startTestNetwork({ env: { REFEREE_MAX_BYTES: "0" } });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    const sybil = await net.addProviderAccount();
    const sybils = [await cheaterOf(sybil, "s1", fortyTwo), await cheaterOf(sybil, "s2", fortyTwo), await cheaterOf(sybil, "s3", fortyTwo)];
    // Alone: three replicas of one operator are one vote — nothing is accepted; the task waits and ends refunded.
    const alone = await runMany(2, 2, (i) =>
      runTask(net!.url, net!.apiKey, { modelId, inputs: { x: tensor(input(i)) }, maxPrice: PRICE, verification: { mode: "redundant", replicas: 3 }, deadlineSeconds: 3 }),
    );
    for (const t of alone) expect(t).toMatchObject({ status: "expired", error: { code: "CHECKER_UNAVAILABLE" } });
    // Honest providers of two other operators join: every quorum has one Sybil at most, and it loses.
    await net.addProvider({ args: ["--price", PRICE] });
    await net.addProvider({ args: ["--price", PRICE] });
    const tasks = await runMany(16, 8, (i) => submitFor(net!.apiKey, modelId, i, i % 2 === 0 ? { mode: "redundant", replicas: 3 } : undefined));
    for (const [i, t] of tasks.entries()) {
      expect(t.status, t.id).toBe("completed");
      expect(isRight(t.outputs, input(i)), t.id).toBe(true);
      const sybilRuns = t.verification.executions.filter((e: { providerId: string }) => sybils.some((s) => s.providerId === e.providerId));
      expect(sybilRuns.length).toBeLessThanOrEqual(1);
    }
    await expectNeverTrusted(sybils.map((s) => s.providerId));
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  }, 180_000);

  it("colluding accounts that agree with each other are caught by referee audits before anything wrong is delivered", async () => {
    // Every agreement between untrusted pairs is audited (REFEREE_AUDIT_UNTRUSTED=1): two unlinked
    // accounts answering [42,42,42,42] agree as the two replicas, the reference run contradicts them.
    net = await startTestNetwork({ providers: 1, providerArgs: () => ["--price", PRICE], env: { REFEREE_AUDIT_UNTRUSTED: "1" } });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    const ring = [await cheaterOf(await net.addProviderAccount(), "ring-a", fortyTwo), await cheaterOf(await net.addProviderAccount(), "ring-b", fortyTwo)];
    const tasks = await runMany(12, 4, (i) => submitFor(net!.apiKey, modelId, i, i % 2 === 0 ? { mode: "redundant" } : undefined));
    for (const [i, t] of tasks.entries()) {
      expect(t.status, t.id).toBe("completed");
      expect(isRight(t.outputs, input(i)), t.id).toBe(true);
      expect(t.receipt.qa.refereeAudited || t.receipt.qa.refereed || t.receipt.qa.check === "referee", t.id).toBeTruthy();
    }
    await expectNeverTrusted(ring.map((p) => p.providerId));
    const contradicted = await net.db.prisma.assignment.count({ where: { providerId: { in: ring.map((p) => p.providerId) }, verdict: "rejected" } });
    expect(contradicted).toBeGreaterThan(0);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  }, 180_000);

  for (const siblings of ["operator", "network"] as const) {
    it(`a swarm member caught once trusted takes its siblings' trust with it (QA_SIBLINGS=${siblings})`, async () => {
      // Small numbers so the swarm is trusted quickly; every trusted execution audited.
      net = await startTestNetwork({
        providers: 2,
        providerArgs: () => ["--price", PRICE],
        env: { TRUST_AFTER: "2", CHECKS_PER_INVALID: "0", AUDIT_START: "1", AUDIT_FLOOR: "1", QA_SIBLINGS: siblings, REFEREE_MAX_BYTES: "0" },
      });
      const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
      const swarm = await net.addProviderAccount();
      let lying = false;
      const sleeper = (inputs: WireTensorMap) => (lying ? fortyTwo() : { y: float32Tensor([1, 4], mlp.forward(float32sOf(inputs.x!), 1)) });
      const members = [await cheaterOf(swarm, "m1", sleeper), await cheaterOf(swarm, "m2", sleeper)];
      const streakOf = async (id: string) => (await net!.db.prisma.providerTrust.findFirst({ where: { providerId: id } }))?.streak ?? 0;
      // Honest phase: everyone earns a streak of at least 2 (trusted).
      for (let i = 0; i < 12 && (await Promise.all([...members, ...net.providers].map((p) => streakOf(p.providerId)))).some((s) => s < 2); i++) {
        await runMany(4, 4, (k) => submitFor(net!.apiKey, modelId, 10 * i + k, { mode: "redundant", replicas: 3 }));
      }
      for (const p of [...members, ...net.providers]) expect(await streakOf(p.providerId)).toBeGreaterThanOrEqual(2);
      // The swarm wakes: the first member caught resets the other's streak (and, by network, the
      // honest providers' on the same 127.0.0.1/24 too); nothing wrong is delivered.
      lying = true;
      const honestBefore = await Promise.all(net.providers.map((p) => streakOf(p.providerId)));
      const t = await submitFor(net.apiKey, modelId, 500, { mode: "redundant", replicas: 3 });
      expect(isRight(t.outputs, input(500)), t.id).toBe(true);
      const caught = t.verification.executions.filter((e: { verdict: string }) => e.verdict === "rejected");
      expect(caught).toHaveLength(1);
      for (const m of members) expect(await streakOf(m.providerId)).toBe(0);
      // The honest providers' valid verdicts on this task came first (+1), then the catch.
      const honestAfter = await Promise.all(net.providers.map((p) => streakOf(p.providerId)));
      if (siblings === "operator") expect(honestAfter).toEqual(honestBefore.map((s) => s + 1));
      else expect(honestAfter).toEqual([0, 0]);
    }, 180_000);
  }

  it("accounts linked by a wallet are one operator, and nobody earns trust from their own tasks", async () => {
    net = await startTestNetwork({ providers: 2, providerArgs: () => ["--price", PRICE] });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    // Two accounts, one wallet: linked to the first, the sender of a deposit to the second.
    const [a, b] = [await net.addProviderAccount(), await net.addProviderAccount()];
    const wallet = "0x00000000000000000000000000000000000000aa";
    await net.db.prisma.account.update({ where: { id: a.accountId }, data: { walletAddress: wallet } });
    await net.db.prisma.externalDeposit.create({
      data: {
        id: "dep_linked",
        family: "evm",
        network: "31337",
        txId: `0x${"ab".repeat(32)}`,
        index: 0,
        slotOrLt: 1n,
        accountTag: b.accountId,
        accountId: b.accountId,
        fromAddress: "0x00000000000000000000000000000000000000AA",
        token: "0x",
        amount: "0",
        status: "credited",
      },
    });
    const linked = [await cheaterOf(a, "la", fortyTwo), await cheaterOf(b, "lb", fortyTwo)];
    // The linked operator submits tasks for its own providers to "verify", in both modes.
    await api(net.url, "POST", "/faucet", { key: a.apiKey, json: { amount: "100000" } });
    const tasks = await runMany(12, 6, (i) => submitFor(a.apiKey, modelId, i, i % 2 === 0 ? { mode: "redundant" } : undefined));
    for (const [i, t] of tasks.entries()) {
      expect(t.status, t.id).toBe("completed");
      expect(isRight(t.outputs, input(i)), t.id).toBe(true);
    }
    await expectNeverTrusted(linked.map((p) => p.providerId));
    for (const p of linked) p.close();

    // An honest provider's operator submitting its own work: its provider earns nothing from it,
    // the other operator's provider does.
    const [own, other] = net.providers;
    const before = await net.db.prisma.providerTrust.findMany({ where: { providerId: { in: [own!.providerId, other!.providerId] } } });
    const streak = (rows: typeof before, id: string) => rows.find((r) => r.providerId === id)?.streak ?? 0;
    await api(net.url, "POST", "/faucet", { key: own!.apiKey, json: { amount: "100000" } });
    for (const t of await runMany(4, 2, (i) => submitFor(own!.apiKey, modelId, 100 + i, { mode: "redundant", replicas: 2 }))) {
      expect(t.status).toBe("completed");
      expect(t.verification.executions.map((e: { providerId: string }) => e.providerId).sort()).toEqual([own!.providerId, other!.providerId].sort());
    }
    const after = await net.db.prisma.providerTrust.findMany({ where: { providerId: { in: [own!.providerId, other!.providerId] } } });
    expect(streak(after, own!.providerId)).toBe(streak(before, own!.providerId));
    expect(streak(after, other!.providerId)).toBe(streak(before, other!.providerId) + 4);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  }, 180_000);
});
