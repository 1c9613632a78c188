import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildIdentityModel, sampleTensor } from "@stun/testkit";
import type { WireTensorMap } from "@stun/shared";
import { DEFAULT_QA_POLICY } from "../../src/qa/policy";
import { planResult } from "../../src/qa/result-plan";
import type { AssignmentRef } from "../../src/scheduler/provider-registry";
import type { Dispatcher } from "../../src/scheduler/dispatcher";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, toJsonTensor, uploadModel } from "../support/api";
import { startScriptedProvider, type ScriptedProvider } from "../support/scripted-provider";

const P = DEFAULT_QA_POLICY;
const TRUSTED = P.refereeAuditRate!;
const UNTRUSTED = P.refereeAuditUntrusted!;

/** Submits a task on a two-element identity model; its id. */
async function submit(net: TestNetwork, modelId: string, mode: "none" | "redundant"): Promise<string> {
  const res = await api(net.url, "POST", "/tasks", {
    key: net.apiKey,
    json: { modelId, inputs: { x: toJsonTensor(sampleTensor("float32", [2])) }, verification: mode === "none" ? { mode } : { mode, replicas: 2 }, maxPrice: "10" },
  });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

describe("a result's plan (qa/result-plan.ts)", () => {
  const ref = (r: Partial<AssignmentRef> = {}): AssignmentRef => ({ taskId: "t", modelId: "m", ...r });

  it("no savepoint where the judge never asks for the reference run; always one where it may (no replicas placed together)", () => {
    expect(planResult(ref(), 0, P)).toEqual({ savepoint: false });
    expect(planResult(ref({ mayNeedReference: true }), 0.99, P)).toEqual({ savepoint: true });
    expect(planResult(ref({ mayNeedReference: true }), 0, P)).toEqual({ savepoint: true });
  });

  it("replicas placed together: nothing before the last is in; then the reference run first where the claim's trust expects an audit, no savepoint either way", () => {
    for (const [draw, anyTrusted, audit] of [
      [0, true, true],
      [TRUSTED - 1e-9, true, true],
      [TRUSTED, true, false],
      [UNTRUSTED - 1e-9, true, false],
      [TRUSTED, false, true],
      [UNTRUSTED - 1e-9, false, true],
      [UNTRUSTED, false, false],
      [0.999, false, false],
    ] as const) {
      const replicas = { out: 3, placed: 3, unplaced: 0, anyTrusted, inputSha256: "in" };
      const refs = [0, 1, 2].map(() => ref({ mayNeedReference: true, replicas }));
      expect(refs.map((r) => planResult(r, draw, P))).toEqual([
        { savepoint: false, short: true },
        { savepoint: false, short: true },
        audit ? { savepoint: false, referenceFirst: "in" } : { savepoint: false },
      ]);
      expect(replicas.out).toBe(0);
    }
  });

  it("a result that leaves none out while a replica is still to be placed is not the last", () => {
    const replicas = { out: 1, placed: 1, unplaced: 1, anyTrusted: false, inputSha256: "in" };
    expect(planResult(ref({ mayNeedReference: true, replicas }), 0, P)).toEqual({ savepoint: false, short: true });
    // The next claim places the other one (scheduler/replica-placements.ts): its result is the last.
    Object.assign(replicas, { out: 1, placed: 2, unplaced: 0 });
    expect(planResult(ref({ mayNeedReference: true, replicas }), 0, P)).toEqual({ savepoint: false, referenceFirst: "in" });
  });
});

/** The dispatcher marks the refs of replicas it places in one claim with one shared count. */
describeDb("replicas placed together share a count of results to come", () => {
  let net: TestNetwork;
  const scripted: ScriptedProvider[] = [];
  const model = buildIdentityModel("float32", [2]);

  beforeAll(async () => {
    net = await startTestNetwork();
    for (const name of ["slow-a", "slow-b"]) {
      const account = await net.addProviderAccount();
      scripted.push(await startScriptedProvider({ url: net.url, apiKey: account.apiKey, name, slots: 1, answer: (i: WireTensorMap) => ({ y: i.x! }), delayMs: 1500 }));
    }
  });
  afterAll(async () => {
    for (const s of scripted) s.close();
    await net?.close();
  });

  it("both replicas' refs hold the same count, counted down as their results arrive; the task completes", async () => {
    const modelId = await uploadModel(net.url, net.apiKey, model.bytes);
    const id = await submit(net, modelId, "redundant");
    const providers = net.server.app.providers;
    const refs = await eventually(
      async () => {
        const held = scripted.flatMap((s) => [...(providers.get(s.providerId)?.active.values() ?? [])]).filter((r) => r.taskId === id);
        return held.length === 2 ? held : undefined;
      },
      10_000,
      "both replicas placed",
    );
    expect(refs[0]!.replicas).toEqual({ out: 2, placed: 2, unplaced: 0, anyTrusted: false, inputSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(refs[0]!.replicas).toBe(refs[1]!.replicas);
    await eventually(async () => (await net.db.prisma.task.findUniqueOrThrow({ where: { id: id } })).status === "completed", 20_000, "the task completed");
    expect(refs[0]!.replicas?.out).toBe(0);
  });
});

/** Every agreement of untrusted pairs audited, none of trusted ones: whether the audit comes is known as the last result arrives. */
describeDb("the last replica's audit, expected as its result arrives, runs the reference first", () => {
  let net: TestNetwork;
  const scripted: ScriptedProvider[] = [];
  const model = buildIdentityModel("float32", [2]);
  let modelId: string;
  /** While set, the providers hold back every answer until it settles. */
  let holding: Promise<void> | undefined;

  beforeAll(async () => {
    net = await startTestNetwork({ env: { REFEREE_AUDIT_RATE: "0", REFEREE_AUDIT_UNTRUSTED: "1" } });
    for (const name of ["honest-a", "honest-b"]) {
      const account = await net.addProviderAccount();
      scripted.push(await startScriptedProvider({ url: net.url, apiKey: account.apiKey, name, slots: 1, answer: (i: WireTensorMap) => ({ y: i.x! }), delayMs: 400, holdUntil: () => holding }));
    }
    modelId = await uploadModel(net.url, net.apiKey, model.bytes);
  });
  afterAll(async () => {
    for (const s of scripted) s.close();
    await net?.close();
  });
  afterEach(() => net.server.app.metrics.referenceRuns.reset());

  const runs = async () => {
    const values = (await net.server.app.metrics.referenceRuns.get()).values;
    const of = (started: string) => values.find((v) => v.labels.started === started)?.value ?? 0;
    return { ahead: of("ahead"), onDemand: of("on-demand") };
  };
  const audits = async () => (await net.server.app.metrics.refereeAudits.get()).values[0]?.value ?? 0;

  /** Submits a redundant task; `placed` sees its replicas' shared plan facts before their results come. */
  async function auditedTask(placed: (replicas: NonNullable<AssignmentRef["replicas"]>) => void = () => {}) {
    const before = await audits();
    const id = await submit(net, modelId, "redundant");
    const providers = net.server.app.providers;
    const replicas = await eventually(
      async () => scripted.flatMap((s) => [...(providers.get(s.providerId)?.active.values() ?? [])]).find((r) => r.taskId === id)?.replicas,
      10_000,
      "the replicas placed",
    );
    placed(replicas);
    const task = await eventually(
      async () => {
        const t = await net.db.prisma.task.findUniqueOrThrow({ where: { id: id } });
        return t.status === "completed" || t.status === "failed" ? t : undefined;
      },
      20_000,
      "the task finished",
    );
    expect(task.status).toBe("completed");
    expect((task.receipt as { qa: { refereeAudited?: boolean } }).qa.refereeAudited).toBe(true);
    expect(await audits()).toBe(before + 1);
  }

  it("untrusted pairs, as the claim saw them: the reference run starts before the unit, which runs once", async () => {
    await auditedTask((replicas) => expect(replicas.anyTrusted).toBe(false));
    expect(await runs()).toEqual({ ahead: 1, onDemand: 0 });
  });

  it("replicas placed by two claims (one slot free at a time) share one plan: the reference run still starts first", async () => {
    // A `none` task holds one provider until the redundant task's first replica is placed, so that
    // task's first claim finds one slot free, and a second claim places the other replica.
    let release!: () => void;
    holding = new Promise<void>((r) => (release = r));
    await submit(net, modelId, "none");
    await eventually(async () => scripted.some((s) => (net.server.app.providers.get(s.providerId)?.active.size ?? 0) > 0), 10_000, "the none task placed");
    const seen: Array<NonNullable<AssignmentRef["replicas"]>> = [];
    await auditedTask((replicas) => {
      seen.push(replicas);
      holding = undefined;
      release();
      expect(replicas.placed).toBe(1);
    });
    // The same object, now holding both replicas.
    expect(seen[0]).toMatchObject({ placed: 2, unplaced: 0, out: 0 });
    expect((net.server.app.placer as Dispatcher).replicaPlacements.size).toBe(0);
    expect(await runs()).toEqual({ ahead: 1, onDemand: 0 });
  });

  it("a hint gone wrong (the claim saw a trusted pair; the judge reads none): the judge still asks, and the unit runs again with the run", async () => {
    await auditedTask((replicas) => {
      replicas.anyTrusted = true;
    });
    expect(await runs()).toEqual({ ahead: 0, onDemand: 1 });
  });
});
