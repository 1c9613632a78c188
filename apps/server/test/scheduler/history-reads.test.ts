import { afterAll, beforeAll, expect, it } from "vitest";
import type { Prisma } from "../../src/db/generated/client";
import { loadCandidateFacts } from "../../src/qa/candidates";
import { liveStakeAtRisk } from "../../src/services/stake";
import { liveAssignmentIds, renewLeases } from "../../src/tasks/lifecycle";
import { anyWantsExecution, claimQueuePage } from "../../src/scheduler/queue";
import { describeDb } from "../support/database";
import { insertExecution } from "../support/execution-rows";
import { startTestNetwork, type TestNetwork } from "../support/network";

const HISTORY = 2_000;

/**
 * What the dispatcher reads on every claim — the queue, and the stake its candidates' live
 * executions hold at risk — and what every heartbeat writes (their leases) must not go through the
 * tasks and executions that finished, or each costs more with every task the network has run (at
 * 100,000 finished executions over 8 providers the stake-at-risk read took 11 ms per candidate per
 * claim, and throughput halved: bench/throughput.ts --history). Counted with the transaction's own
 * table statistics (pg_stat_xact_user_tables), under generic plans as the dispatcher's claim runs
 * them, after ANALYZE (autovacuum on PostgreSQL, db/table-maintenance.ts on PGlite).
 */
describeDb("the dispatcher's and heartbeat's reads skip the history", () => {
  let net: TestNetwork;
  let live: { providerId: string; taskId: string; assignmentId: string };
  let queued: string;
  beforeAll(async () => {
    net = await startTestNetwork({ providers: 0 });
    live = await insertExecution(net, { accountId: net.providerAccountId, price: 10n, status: "assigned", taskStatus: "assigned" });
    // Its history: finished tasks, each completed and accepted on this provider.
    await net.db.prisma.$executeRaw`
      INSERT INTO "Task" (id, "requesterId", "modelId", status, "inputSha256", "inputMeta", verification, requirements, "maxPrice", "escrowHeld", deadline, "completedAt", "updatedAt")
      SELECT ${live.taskId} || '_h' || g, t."requesterId", t."modelId", 'completed', t."inputSha256", t."inputMeta", t.verification, t.requirements, t."maxPrice", 0, t.deadline, now(), now()
      FROM generate_series(1, ${HISTORY}::int) g, "Task" t WHERE t.id = ${live.taskId}`;
    await net.db.prisma.$executeRaw`
      INSERT INTO "Assignment" (id, "taskId", "providerId", status, backend, price, "leaseUntil", "completedAt", verdict)
      SELECT ${live.taskId} || '_ha' || g, ${live.taskId} || '_h' || g, ${live.providerId}, 'completed', 'cpu', 10, now(), now(), 'accepted'
      FROM generate_series(1, ${HISTORY}::int) g`;
    // One task waiting for its execution, submitted before the history's tasks were.
    queued = `${live.taskId}_queued`;
    await net.db.prisma.$executeRaw`
      INSERT INTO "Task" (id, "requesterId", "modelId", status, "inputSha256", "inputMeta", verification, requirements, "maxPrice", "escrowHeld", deadline, dispatched, wanted, "createdAt", "updatedAt")
      SELECT ${queued}, t."requesterId", t."modelId", 'queued', t."inputSha256", t."inputMeta", t.verification, t.requirements, t."maxPrice", 0, t.deadline, 0, 1, now() - interval '1 hour', now()
      FROM "Task" t WHERE t.id = ${live.taskId}`;
    // Statistics as autovacuum keeps them on PostgreSQL: the planner knows most executions are finished.
    await net.db.prisma.$executeRawUnsafe(`ANALYZE "Task", "Assignment"`);
  });
  afterAll(() => net?.close());

  /** Rows of `table` this transaction has read so far (sequential and index fetches). */
  const rowsRead = async (tx: Prisma.TransactionClient, table: string): Promise<number> => {
    const [row] = await tx.$queryRaw<Array<{ n: bigint }>>`
      SELECT (COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0))::bigint AS n FROM pg_stat_xact_user_tables WHERE relname = ${table}`;
    return Number(row?.n ?? 0n);
  };

  /** Runs `read` three times in one transaction under generic plans; the rows of `table` each read. */
  const rowsPerRead = (read: (tx: Prisma.TransactionClient) => Promise<unknown>, table = "Assignment") =>
    net.db.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`;
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const before = await rowsRead(tx, table);
        await read(tx);
        counts.push((await rowsRead(tx, table)) - before);
      }
      return counts;
    });

  it("the claim's candidate facts: the stake at risk counts the live execution, reading none of the history", async () => {
    let atRisk: bigint | undefined;
    const counts = await rowsPerRead(async (tx) => {
      atRisk = (await loadCandidateFacts(tx, [live.providerId])).get(live.providerId)?.atRisk;
    });
    expect(atRisk).toBe(10n);
    for (const n of counts) expect(n).toBeLessThan(50);
  });

  it("an unstake's check of the live stake: the same", async () => {
    let atRisk: bigint | undefined;
    const counts = await rowsPerRead(async (tx) => {
      atRisk = await liveStakeAtRisk(tx, net.providerAccountId, 1n);
    });
    expect(atRisk).toBe(10n);
    for (const n of counts) expect(n).toBeLessThan(50);
  });

  it("a heartbeat's lease renewal: the live execution's lease moves, no history row is read", async () => {
    const until = new Date(Date.now() + 7_200_000);
    const renewed: number[] = [];
    const counts = await rowsPerRead(async (tx) => renewed.push(await renewLeases(tx, live.providerId, until)));
    expect(renewed).toEqual([1, 1, 1]);
    expect((await net.db.prisma.assignment.findUniqueOrThrow({ where: { id: live.assignmentId } })).leaseUntil.getTime()).toBe(until.getTime());
    for (const n of counts) expect(n).toBeLessThan(50);
  });

  it("a provider's departure finds its live execution to requeue, reading none of the history", async () => {
    const found: string[][] = [];
    const counts = await rowsPerRead(async (tx) => {
      found.push(await liveAssignmentIds(tx, live.providerId));
      found.push(await liveAssignmentIds(tx, live.providerId, [live.assignmentId, `${live.taskId}_ha1`]));
    });
    expect(found).toEqual(Array.from({ length: 6 }, () => [live.assignmentId]));
    for (const n of counts) expect(n).toBeLessThan(50);
  });

  it("the queue's probe finds the waiting task, reading none of the finished ones", async () => {
    const found: boolean[] = [];
    const counts = await rowsPerRead(async (tx) => found.push(await anyWantsExecution(tx)), "Task");
    expect(found).toEqual([true, true, true]);
    for (const n of counts) expect(n).toBeLessThan(50);
  });

  it("a claim's page takes the waiting task, reading none of the finished ones", async () => {
    const pages: string[][] = [];
    const counts = await rowsPerRead(async (tx) => pages.push((await claimQueuePage(tx, [], 64)).map((r) => r.id)), "Task");
    expect(pages).toEqual([[queued], [queued], [queued]]);
    for (const n of counts) expect(n).toBeLessThan(50);
  });
});
