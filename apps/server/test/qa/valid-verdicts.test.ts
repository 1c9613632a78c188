import { afterAll, beforeAll, expect, it } from "vitest";
import { DEFAULT_QA_POLICY } from "../../src/qa/policy";
import { loadRequesterAndProviderIdentities } from "../../src/qa/candidates";
import { type Judged, type ProviderStats, readReplicaFacts, recordCheckedVerdict, validVerdicts } from "../../src/qa/verdicts";
import { describeDb, testDbKind } from "../support/database";
import { insertExecution } from "../support/execution-rows";
import { startTestNetwork, type TestNetwork } from "../support/network";

/**
 * An accepted task's agreeing replicas have their verdicts written by the settlement's statement
 * (validVerdicts, qa/handle-result.ts): it must leave exactly what recordCheckedVerdict(valid)
 * leaves, one execution at a time — for a provider with a record and for a newcomer.
 */
describeDb("validVerdicts: several valid verdicts in one read and one statement, as recordCheckedVerdict writes them", () => {
  let net: TestNetwork;

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 0 });
  });
  afterAll(() => net?.close());

  const execution = async (): Promise<Judged> => {
    const x = await insertExecution(net, { accountId: net.accountId, price: 10n, status: "completed", taskStatus: "verifying" });
    return { ...x, accountId: net.accountId, backend: "cpu", price: 10n };
  };
  /** A provider with a past: evidence, reputation and a pair record. */
  const withRecord = async (j: Judged) => {
    await net.db.prisma.provider.update({ where: { id: j.providerId }, data: { validWeight: 3.5, invalidWeight: 1, reputation: 0.4, tasksCompleted: 4, tasksRejected: 1 } });
    await net.db.prisma.providerTrust.create({ data: { providerId: j.providerId, backend: "cpu", streak: 2, solo: 1, checked: 5, invalid: 1 } });
  };
  const stateOf = async (j: Judged) => {
    const p = await net.db.prisma.provider.findUniqueOrThrow({ where: { id: j.providerId } });
    const t = await net.db.prisma.providerTrust.findUnique({ where: { providerId_backend: { providerId: j.providerId, backend: "cpu" } } });
    const a = await net.db.prisma.assignment.findUniqueOrThrow({ where: { id: j.assignmentId } });
    return {
      provider: { validWeight: p.validWeight, invalidWeight: p.invalidWeight, reputation: p.reputation, tasksCompleted: p.tasksCompleted, tasksRejected: p.tasksRejected },
      trust: t && { streak: t.streak, solo: t.solo, checked: t.checked, invalid: t.invalid },
      verdict: a.verdict,
    };
  };

  it("leaves the providers, their pairs' trust and the verdicts as one recordCheckedVerdict each would", async () => {
    const [oneByOneOld, oneByOneNew, batchOld, batchNew] = [await execution(), await execution(), await execution(), await execution()];
    await withRecord(oneByOneOld);
    await withRecord(batchOld);

    const stats: ProviderStats[] = [];
    await net.db.prisma.$transaction(async (tx) => {
      for (const j of [oneByOneOld, oneByOneNew]) stats.push((await recordCheckedVerdict(tx, DEFAULT_QA_POLICY, j, true, { credit: true })).stats);
    });
    const batched = await net.db.prisma.$transaction(async (tx) => {
      // Two executions of one provider are one row each to update: left to recordCheckedVerdict.
      expect(await validVerdicts(tx, DEFAULT_QA_POLICY, [batchOld, { ...batchOld, assignmentId: batchNew.assignmentId }])).toBeUndefined();
      const w = (await validVerdicts(tx, DEFAULT_QA_POLICY, [batchOld, batchNew]))!;
      // As the settlement's statement runs them: beside its own, the `returning` rows as JSON.
      const [row] = await tx.$queryRaw<Array<{ rows: ProviderStats[] }>>`
        WITH a0 AS (${w.alongside[0]}), a1 AS (${w.alongside[1]}), r AS (${w.returning})
        SELECT (SELECT json_agg(r) FROM r) AS rows`;
      return row!.rows;
    });

    type State = Awaited<ReturnType<typeof stateOf>>;
    const [oldOne, newOne, oldBatch, newBatch] = (await Promise.all([oneByOneOld, oneByOneNew, batchOld, batchNew].map(stateOf))) as [State, State, State, State];
    expect(oldBatch).toEqual(oldOne);
    expect(newBatch).toEqual(newOne);
    // They moved: a checked valid result is evidence for the provider and its pair.
    expect(oldOne.provider.tasksCompleted).toBe(5);
    expect(oldOne.provider.validWeight).toBeGreaterThan(3.5);
    expect(oldOne.trust).toMatchObject({ streak: 3, checked: 6, invalid: 1, solo: 1 });
    expect(newOne.trust).toMatchObject({ streak: 1, checked: 1, invalid: 0 });
    expect(newOne.verdict).toBe("accepted");
    // The stats handed back (pushed to the registry) are the rows as written.
    const byId = new Map(batched.map((s) => [s.id, s]));
    expect(byId.get(batchOld.providerId)).toMatchObject({ reputation: oldBatch.provider.reputation, tasksCompleted: 5, tasksRejected: 1 });
    expect(byId.get(batchNew.providerId)).toMatchObject({ reputation: newBatch.provider.reputation, tasksCompleted: 1 });
    expect(stats.map((s) => s.reputation)).toEqual([oldOne.provider.reputation, newOne.provider.reputation]);
  });

  it("one read serves the audit draw, the credit rule and the verdicts: the same trust, identities and writes as reading each apart", async () => {
    const [a, b] = [await execution(), await execution()];
    await withRecord(a);
    await net.db.prisma.$transaction(async (tx) => {
      const facts = await readReplicaFacts(tx, [a, b], net.accountId);
      expect(facts.trust(a)).toEqual({ streak: 2, solo: 1, checked: 5, invalid: 1 });
      expect(facts.trust(b)).toEqual({ streak: 0, solo: 0, checked: 0, invalid: 0 });
      expect(facts.trust({ providerId: a.providerId, backend: "webgpu" })).toEqual({ streak: 0, solo: 0, checked: 0, invalid: 0 });
      expect(facts.evidence(a.providerId)).toEqual({ validWeight: 3.5, invalidWeight: 1 });
      const apart = await loadRequesterAndProviderIdentities(tx, net.accountId, [a.providerId, b.providerId]);
      expect(facts.requester).toEqual(apart.requester);
      expect(facts.identity(a.providerId)).toEqual(apart.providers.get(a.providerId));
      expect(facts.identity(b.providerId)).toEqual(apart.providers.get(b.providerId));
      // The verdicts' statements from these facts are those validVerdicts builds from its own read.
      const fromFacts = (await validVerdicts(tx, DEFAULT_QA_POLICY, [a, b], facts))!;
      const ownRead = (await validVerdicts(tx, DEFAULT_QA_POLICY, [a, b]))!;
      // (Each stamps its own updatedAt.)
      const params = (w: typeof fromFacts) => [...w.alongside.slice(1), w.returning].map((q) => q.values.map((v) => (v instanceof Date ? "now" : v)));
      expect(params(fromFacts)).toEqual(params(ownRead));
    });
  });

  it.runIf(testDbKind === "postgres")("holds the pairs' trust rows it read until its transaction ends, as readTrust does (PostgreSQL)", async () => {
    const j = await execution();
    await withRecord(j);
    let read!: () => void;
    const readDone = new Promise<void>((resolve) => {
      read = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holder = net.db.prisma.$transaction(async (tx) => {
      // The judge's read (readReplicaFacts) takes the lock; validVerdicts then reads nothing more.
      await validVerdicts(tx, DEFAULT_QA_POLICY, [j], await readReplicaFacts(tx, [j]));
      read();
      await released;
    });
    await readDone;
    // A writer of the pair (resetSiblings) would wait: here it asks not to, and is told the row is held.
    const nowait = net.db.prisma.$transaction((tx) => tx.$queryRaw`SELECT streak FROM "ProviderTrust" WHERE "providerId" = ${j.providerId} FOR UPDATE NOWAIT`);
    await expect(nowait).rejects.toThrow(/lock|55P03/i);
    release();
    await holder;
    expect(await net.db.prisma.$transaction((tx) => tx.$queryRaw`SELECT streak FROM "ProviderTrust" WHERE "providerId" = ${j.providerId} FOR UPDATE NOWAIT`)).toEqual([{ streak: 2 }]);
  });
});
