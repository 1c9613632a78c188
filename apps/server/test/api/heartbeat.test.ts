/**
 * provider:heartbeat (docs/PROTOCOL.md) on a real server: it extends the leases of the provider's
 * live executions; on PostgreSQL a row another transaction holds (a result batch completing it) is
 * skipped, never waited for — waiting deadlocked with group-commit batches, each deadlock holding a
 * batch for deadlock_timeout.
 */
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildIdentityModel } from "@stun/testkit";
import { PROVIDER_EVENTS, type WireTensorMap } from "@stun/shared";
import { describeDb, testDbKind } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, toJsonTensor, uploadModel } from "../support/api";
import { startScriptedProvider, type ScriptedProvider } from "../support/scripted-provider";

const tick = () => new Promise((r) => setTimeout(r, 10));

describeDb("provider heartbeat", () => {
  let net: TestNetwork;
  let modelId: string;
  let slow: ScriptedProvider | undefined;
  const model = buildIdentityModel("float32", [1, 4]);
  const x = toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) });

  beforeAll(async () => {
    net = await startTestNetwork({ providers: 0 });
    modelId = await uploadModel(net.url, net.apiKey, model.bytes, "identity");
  });
  afterAll(async () => {
    slow?.close();
    await net?.close();
  });

  it("extends the provider's leases, and skips a row another transaction holds instead of waiting for it", async () => {
    const account = await net.addProviderAccount();
    // Holds its assignment (answers after two minutes), so the lease is the heartbeat's to extend.
    slow = await startScriptedProvider({ url: net.url, apiKey: account.apiKey, name: "slow", price: "1", delayMs: 120_000, answer: (i: WireTensorMap) => ({ y: i.x! }) });
    const sub = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: { x }, verification: { mode: "none" } } });
    expect(sub.status).toBe(202);
    const taskId = sub.body.id as string;
    await eventually(async () => slow!.assigned.includes(taskId), 20_000, "the assignment");
    const leaseOf = async () => (await net.db.prisma.assignment.findFirstOrThrow({ where: { taskId } })).leaseUntil!.getTime();
    const beat = () => slow!.socket.timeout(5_000).emitWithAck(PROVIDER_EVENTS.heartbeat, { active: 1 });

    const before = await leaseOf();
    await tick();
    await beat();
    const extended = await leaseOf();
    expect(extended).toBeGreaterThan(before);

    if (testDbKind !== "postgres") return; // PGlite has one connection: no other transaction can hold the row meanwhile.
    const other = new pg.Client({ connectionString: net.db.url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query(`SELECT id FROM "Assignment" WHERE "taskId" = $1 FOR UPDATE`, [taskId]);
      await tick();
      // Answered while the row is held (a waiting beat would time out here), and that row left alone.
      await beat();
      await other.query("COMMIT");
    } finally {
      await other.end();
    }
    expect(await leaseOf()).toBe(extended);
    await tick();
    await beat();
    expect(await leaseOf()).toBeGreaterThan(extended);
  });
});
