import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIdentityModel, sampleTensor } from "@stun/testkit";
import type { WireTensorMap } from "@stun/shared";
import { DEFAULT_QA_POLICY } from "../../src/qa/policy";
import { savepointFor } from "../../src/qa/result-savepoint";
import type { AssignmentRef } from "../../src/scheduler/provider-registry";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, toJsonTensor, uploadModel } from "../support/api";
import { startScriptedProvider, type ScriptedProvider } from "../support/scripted-provider";

const P = DEFAULT_QA_POLICY;
const NO_AUDIT = Math.max(P.refereeAuditRate!, P.refereeAuditUntrusted!);

describe("a result's savepoint (qa/result-savepoint.ts)", () => {
  const ref = (r: Partial<AssignmentRef> = {}): AssignmentRef => ({ taskId: "t", modelId: "m", ...r });

  it("none where the judge never asks for the reference run; always where it expects it (no replicas placed together)", () => {
    expect(savepointFor(ref(), 0, P)).toBe(false);
    expect(savepointFor(ref({ mayNeedReference: true }), 0.99, P)).toBe(true);
  });

  it("replicas placed together: none until the last is in, then one only when the draw may lead to an audit", () => {
    for (const [draw, last] of [
      [0, true],
      [NO_AUDIT - 1e-9, true],
      [NO_AUDIT, false],
      [0.999, false],
    ] as const) {
      const replicas = { out: 3 };
      const refs = [0, 1, 2].map(() => ref({ mayNeedReference: true, replicas }));
      expect(refs.map((r) => savepointFor(r, draw, P))).toEqual([false, false, last]);
      expect(replicas.out).toBe(0);
    }
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
    const res = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: { x: toJsonTensor(sampleTensor("float32", [2])) }, verification: { mode: "redundant", replicas: 2 }, maxPrice: "10" },
    });
    expect(res.status).toBe(202);
    const providers = net.server.app.providers;
    const refs = await eventually(
      async () => {
        const held = scripted.flatMap((s) => [...(providers.get(s.providerId)?.active.values() ?? [])]).filter((r) => r.taskId === res.body.id);
        return held.length === 2 ? held : undefined;
      },
      10_000,
      "both replicas placed",
    );
    expect(refs[0]!.replicas).toEqual({ out: 2 });
    expect(refs[0]!.replicas).toBe(refs[1]!.replicas);
    await eventually(async () => (await net.db.prisma.task.findUniqueOrThrow({ where: { id: res.body.id } })).status === "completed", 20_000, "the task completed");
    expect(refs[0]!.replicas).toEqual({ out: 0 });
  });
});
