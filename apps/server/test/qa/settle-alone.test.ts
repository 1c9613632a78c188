import { afterAll, beforeAll, expect, it } from "vitest";
import { buildIdentityModel, sampleTensor } from "@stun/testkit";
import { serializeTensorMap, type RawTensor } from "@stun/shared";
import { sha256Hex } from "../../src/blobs/blob-store";
import { checkLedgerInvariants } from "../../src/ledger";
import { getModelRow } from "../../src/models/cache";
import { handleResult } from "../../src/qa/handle-result";
import { aloneLeads, settleAlone, settleAloneMany, type AloneLead } from "../../src/qa/settle-alone";
import { TransfersRefused } from "../../src/ledger";
import type { AloneSettlement } from "../../src/tasks/alone-settlement";
import { ensurePinnedBlob } from "../../src/storage/blob-pins";
import { parseVerification } from "../../src/tasks/verification";
import { describeDb } from "../support/database";
import { startTestNetwork, type TestNetwork } from "../support/network";
import { api, toJsonTensor, uploadModel } from "../support/api";

/**
 * qa/settle-alone.ts: a result judged alone (`mode: none`, or an `auto` task a trusted pair runs
 * alone) completed, accepted and settled by one statement must
 * write what the general way (the result statement, the judge, the settlement's statement) writes,
 * and nothing at all when its task is not as its dispatch left it.
 */
describeDb("a result judged alone: one statement", () => {
  let net: TestNetwork;
  let modelId: string;
  const model = buildIdentityModel("float32", [2]);
  const input = sampleTensor("float32", [2]);
  const PRICE = 40n;
  const MAX_PRICE = 100n;
  let n = 0;

  beforeAll(async () => {
    net = await startTestNetwork();
    modelId = await uploadModel(net.url, net.apiKey, model.bytes);
  });
  afterAll(() => net?.close());

  /**
   * A submitted task, dispatched as the dispatcher writes it: a provider of the provider account, its
   * assignment at PRICE. `auto`: an auto task whose first plan ran it alone on a trusted pair (`solo`).
   */
  async function dispatchedTask(mode: "none" | "auto" = "none", onProvider?: string) {
    const db = net.db.prisma;
    const res = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: { x: toJsonTensor(input) }, verification: { mode }, maxPrice: MAX_PRICE.toString() },
    });
    expect(res.status).toBe(202);
    const taskId: string = res.body.id;
    if (mode === "auto") {
      const { verification } = await db.task.findUniqueOrThrow({ where: { id: taskId } });
      await db.task.update({ where: { id: taskId }, data: { wanted: 1, verification: { ...(verification as object), single: true, plan: "solo" } } });
    }
    const i = ++n;
    const providerId = onProvider ?? `prv_alone_${process.pid}_${i}`;
    const assignmentId = `asg_alone_${process.pid}_${i}`;
    if (!onProvider)
      await db.provider.create({ data: { id: providerId, accountId: net.providerAccountId, name: `alone${i}`, kind: "native", backend: "cpu", region: "local", price: PRICE, specs: {} } });
    const far = new Date(Date.now() + 3_600_000);
    await db.assignment.create({ data: { id: assignmentId, taskId, providerId, status: "assigned", backend: "cpu", price: PRICE, leaseUntil: far } });
    await db.task.update({ where: { id: taskId }, data: { status: "assigned", dispatched: 1 } });
    const task = await db.task.findUniqueOrThrow({ where: { id: taskId } });
    const settlement: AloneSettlement = {
      requesterId: net.accountId,
      held: task.escrowHeld,
      price: PRICE,
      accountId: net.providerAccountId,
      backend: "cpu",
      inputSha256: task.inputSha256,
      verification: parseVerification(task.verification),
    };
    return { taskId, providerId, assignmentId, settlement };
  }

  const outputs = (): Record<string, RawTensor> => ({ y: input });

  type Dispatched = Awaited<ReturnType<typeof dispatchedTask>>;

  /** A dispatched task's result as a group-commit lead: its output written by the statement where the store writes small blobs inline (PostgreSQL), else stored first, as handle-result.ts does. */
  async function leadFor(t: Dispatched, s = t.settlement): Promise<AloneLead & { stored: Uint8Array; inline: boolean }> {
    const app = net.server.app;
    const stored = serializeTensorMap(outputs());
    const sha = sha256Hex(stored);
    const inline = app.blobs.inlineWrite?.(stored, sha) !== undefined;
    if (!inline) await app.blobs.put(stored, sha);
    const result = {
      assignmentId: t.assignmentId,
      taskId: t.taskId,
      providerId: t.providerId,
      outputSha256: sha,
      outputDigest: sha,
      outputMeta: { y: { dtype: "float32", dims: [2] } },
      timings: { fetchMs: 0, loadMs: 0, runMs: 1 },
      ...(inline ? { inlineOutput: stored } : {}),
    };
    return { settlement: s, model: await getModelRow(app, modelId), result, stored, inline };
  }

  /** settleAlone inside a transaction of its own, as a group-commit unit runs it (its output pinned after where it was stored first). */
  async function alone(t: Dispatched, s = t.settlement) {
    const app = net.server.app;
    const l = await leadFor(t, s);
    return app.db.prisma.$transaction(async (tx) => {
      const settled = await settleAlone(tx, l.settlement, l.model, l.result);
      if (settled && !l.inline) await ensurePinnedBlob(tx, app.blobs, l.result.outputSha256, l.stored);
      return settled;
    });
  }

  /** settleAloneMany for several, in one transaction, as a group commit runs a batch's leads. */
  async function many(ts: Dispatched[]) {
    const app = net.server.app;
    const leads = await Promise.all(ts.map((t) => leadFor(t)));
    return app.db.prisma.$transaction(async (tx) => {
      const settled = await settleAloneMany(tx, leads);
      for (const [i, l] of leads.entries()) if (settled[i] && !l.inline) await ensurePinnedBlob(tx, app.blobs, l.result.outputSha256, l.stored);
      return settled;
    });
  }

  /** What a settled task left: its row, its execution, its ledger entries by kind and amount. */
  async function writtenFor(t: { taskId: string; assignmentId: string; providerId: string }) {
    const db = net.db.prisma;
    const task = await db.task.findUniqueOrThrow({ where: { id: t.taskId } });
    const a = await db.assignment.findUniqueOrThrow({ where: { id: t.assignmentId } });
    const provider = await db.provider.findUniqueOrThrow({ where: { id: t.providerId } });
    const entries = await db.ledgerEntry.findMany({ where: { taskId: t.taskId }, orderBy: [{ kind: "asc" }, { amount: "asc" }] });
    const trust = await db.providerTrust.findUnique({ where: { providerId_backend: { providerId: t.providerId, backend: "cpu" } } });
    const receipt = task.receipt as Record<string, unknown> | null;
    return {
      task: { status: task.status, cost: task.cost, escrowHeld: task.escrowHeld, outputSha256: task.outputSha256, outputDigest: task.outputDigest, outputMeta: task.outputMeta },
      receipt: receipt && {
        ...receipt,
        taskId: "·",
        providers: (receipt.providers as Array<Record<string, unknown>>).map((p) => ({ ...p, providerId: "·" })),
        executions: (receipt.executions as Array<Record<string, unknown>>).map((e) => ({ ...e, providerId: "·" })),
        completedAt: "·",
      },
      assignment: { status: a.status, verdict: a.verdict, solo: a.solo, outputSha256: a.outputSha256 },
      tasksCompleted: provider.tasksCompleted,
      trust: trust && { solo: trust.solo, streak: trust.streak, checked: trust.checked },
      entries: entries.map((e) => [e.kind, e.account.replace(t.taskId, "·"), e.amount]),
    };
  }

  it("writes what the general way writes: the task completed with its receipt, the execution accepted, the provider credited, 80/15/5 out of the hold", async () => {
    const fast = await dispatchedTask();
    const general = await dispatchedTask();
    const settled = await alone(fast);
    expect(settled?.stats).toEqual([expect.objectContaining({ id: fast.providerId, tasksCompleted: 1 })]);
    // The general way: this assignment is not held by the instance (handed out "before a restart"), so its result is read from the database and judged.
    expect(await handleResult(net.server.app, general.providerId, { assignmentId: general.assignmentId, outputs: outputs(), timings: { fetchMs: 0, loadMs: 0, runMs: 1 } })).toEqual({ ok: true });
    const [a, b] = [await writtenFor(fast), await writtenFor(general)];
    expect(a).toEqual(b);
    expect(a.task).toMatchObject({ status: "completed", cost: PRICE, escrowHeld: 0n });
    expect(a.assignment).toEqual({ status: "completed", verdict: "accepted", solo: false, outputSha256: a.task.outputSha256 });
    expect(a.entries.filter(([kind]) => kind === "settle").map(([, , amount]) => amount)).toEqual([-MAX_PRICE, 2n, 6n, 32n, MAX_PRICE - PRICE].sort((x, y) => (x < y ? -1 : 1)));
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("settles an auto task a trusted pair ran alone as the general way does: a solo verdict in the pair's solo window, the rest of the hold refunded", async () => {
    const fast = await dispatchedTask("auto");
    const general = await dispatchedTask("auto");
    expect(fast.settlement.held).toBeGreaterThan(MAX_PRICE); // room for replicas it did not need
    expect(await alone(fast)).toBeDefined();
    expect(await handleResult(net.server.app, general.providerId, { assignmentId: general.assignmentId, outputs: outputs(), timings: { fetchMs: 0, loadMs: 0, runMs: 1 } })).toEqual({ ok: true });
    const [a, b] = [await writtenFor(fast), await writtenFor(general)];
    expect(a).toEqual(b);
    expect(a.assignment).toMatchObject({ verdict: "accepted", solo: true });
    expect(a.trust).toEqual({ solo: 1, streak: 0, checked: 0 });
    expect(a.receipt).toMatchObject({ qa: { check: "solo" } });
    expect(a.task).toMatchObject({ status: "completed", cost: PRICE, escrowHeld: 0n });
    expect(a.entries.filter(([kind]) => kind === "settle").map(([, , amount]) => amount)).toContain(fast.settlement.held - PRICE);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("writes nothing but the output blob when the task is not as its dispatch left it, so the general way decides", async () => {
    const db = net.db.prisma;
    const cases: Array<[string, (t: Awaited<ReturnType<typeof dispatchedTask>>) => Promise<AloneSettlement | undefined>]> = [
      ["it holds another amount", async (t) => ({ ...t.settlement, held: t.settlement.held + 1n })],
      ["its execution was priced otherwise", async (t) => ({ ...t.settlement, price: PRICE + 1n })],
      ["another requester's", async (t) => ({ ...t.settlement, requesterId: net.providerAccountId })],
      ["the lease was lost", async (t) => void (await db.assignment.update({ where: { id: t.assignmentId }, data: { status: "expired" } }))],
      ["the task was cancelled", async (t) => void (await db.task.update({ where: { id: t.taskId }, data: { status: "cancelled" } }))],
      ["it wants another execution", async (t) => void (await db.task.update({ where: { id: t.taskId }, data: { dispatched: 2 } }))],
      [
        "another execution is live",
        async (t) =>
          void (await db.assignment.create({
            data: { id: `${t.assignmentId}_b`, taskId: t.taskId, providerId: t.providerId, status: "running", backend: "cpu", price: PRICE, leaseUntil: new Date(Date.now() + 60_000) },
          })),
      ],
    ];
    for (const [why, change] of cases) {
      const t = await dispatchedTask();
      const before = await writtenFor(t);
      const s = (await change(t)) ?? t.settlement;
      const after = await writtenFor(t);
      expect(await alone(t, s), why).toBeUndefined();
      expect(await writtenFor(t), why).toEqual(after);
      expect(before.entries, why).toEqual(after.entries);
    }
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("settles several results in one statement as each alone would: the same rows and entries, counts summed per provider, one whose task changed skipped", async () => {
    const db = net.db.prisma;
    const first = await dispatchedTask();
    const again = await dispatchedTask("none", first.providerId);
    const solo = await dispatchedTask("auto");
    const cancelled = await dispatchedTask();
    await db.task.update({ where: { id: cancelled.taskId }, data: { status: "cancelled" } });
    const untouched = await writtenFor(cancelled);
    // Their twins, each settled alone.
    const [noneTwin, autoTwin] = [await dispatchedTask(), await dispatchedTask("auto")];
    expect(await alone(noneTwin)).toBeDefined();
    expect(await alone(autoTwin)).toBeDefined();

    const settled = await many([first, again, solo, cancelled]);
    expect(settled.map((s) => s !== undefined)).toEqual([true, true, true, false]);
    // One provider's two results: its count moved by both, and each is told the row's final state.
    expect(settled[0]!.stats).toEqual([expect.objectContaining({ id: first.providerId, tasksCompleted: 2 })]);
    expect(settled[1]!.stats).toEqual(settled[0]!.stats);
    expect(settled[2]!.stats).toEqual([expect.objectContaining({ id: solo.providerId, tasksCompleted: 1 })]);
    const created = await db.task.findUniqueOrThrow({ where: { id: first.taskId } });
    expect(settled[0]!.createdAtMs).toBe(created.createdAt.getTime());

    // The shared provider's count is both results' (the twin's provider ran one).
    const twin = { ...(await writtenFor(noneTwin)), tasksCompleted: 2 };
    expect(await writtenFor(first)).toEqual(twin);
    expect(await writtenFor(again)).toEqual(twin);
    expect(await writtenFor(solo)).toEqual(await writtenFor(autoTwin));
    expect(await writtenFor(cancelled)).toEqual(untouched);
    // Each settlement is a ledger transaction of its own.
    const txIds = await db.ledgerEntry.groupBy({ by: ["txId"], where: { taskId: { in: [first.taskId, again.taskId, solo.taskId] }, kind: "settle" } });
    expect(txIds).toHaveLength(3);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("settles a result sent twice in one batch once: the second is answered undefined and goes the general way", async () => {
    const db = net.db.prisma;
    const t = await dispatchedTask();
    const settled = await many([t, t]);
    expect(settled.map((s) => s !== undefined)).toEqual([true, false]);
    expect((await writtenFor(t)).tasksCompleted).toBe(1);
    expect(await db.ledgerEntry.count({ where: { taskId: t.taskId, kind: "settle" } })).toBe(5);
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("throws TransfersRefused, having moved no money, when a guard refuses the sum of their moves", async () => {
    const db = net.db.prisma;
    const ts = [await dispatchedTask(), await dispatchedTask()];
    const leads = await Promise.all(ts.map((t) => leadFor(t)));
    const entriesBefore = await db.ledgerEntry.count();
    // The requester's escrow holds less than the two tasks hold together (as no honest ledger would):
    // inside the transaction, which the refusal rolls back.
    await expect(
      db.$transaction(async (tx) => {
        await tx.$executeRaw`UPDATE "Account" SET escrow = ${ts[0]!.settlement.held} WHERE id = ${net.accountId}`;
        return settleAloneMany(tx, leads);
      }),
    ).rejects.toBeInstanceOf(TransfersRefused);
    expect(await db.ledgerEntry.count()).toBe(entriesBefore);
    for (const t of ts) expect((await writtenFor(t)).task.status).toBe("assigned");
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("committed by itself (a lone result's lead, no transaction): writes what it writes in one, and a refused settlement aborts its statement — nothing of it stays", async () => {
    const db = net.db.prisma;
    const [t, twin] = [await dispatchedTask(), await dispatchedTask()];
    expect(await alone(twin)).toBeDefined();
    const l = await leadFor(t);
    const settled = await aloneLeads.autocommit!(db, l);
    if (!l.inline) await ensurePinnedBlob(db, net.server.app.blobs, l.result.outputSha256, l.stored);
    expect(settled?.stats).toEqual([expect.objectContaining({ id: t.providerId, tasksCompleted: 1 })]);
    expect(await writtenFor(t)).toEqual(await writtenFor(twin));

    // The requester's escrow short of the hold (as no honest ledger would be), outside any transaction:
    // the statement's own writes — the execution completed, the task's row — must go with the refusal.
    const refused = await dispatchedTask();
    const before = await writtenFor(refused);
    const { escrow } = await db.account.findUniqueOrThrow({ where: { id: net.accountId } });
    const entries = await db.ledgerEntry.count();
    await db.account.update({ where: { id: net.accountId }, data: { escrow: refused.settlement.held - 1n } });
    try {
      await expect(aloneLeads.autocommit!(db, await leadFor(refused))).rejects.toBeInstanceOf(TransfersRefused);
    } finally {
      await db.account.update({ where: { id: net.accountId }, data: { escrow } });
    }
    expect(await writtenFor(refused)).toEqual(before);
    expect(before.assignment.status).toBe("assigned");
    expect(await db.ledgerEntry.count()).toBe(entries);
    // In a transaction the same refusal says why, as it always did.
    await db.account.update({ where: { id: net.accountId }, data: { escrow: refused.settlement.held - 1n } });
    try {
      await expect(alone(refused)).rejects.toMatchObject({ code: "INSUFFICIENT_FUNDS" });
    } finally {
      await db.account.update({ where: { id: net.accountId }, data: { escrow } });
    }
    expect(await alone(refused)).toBeDefined();
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });
});
