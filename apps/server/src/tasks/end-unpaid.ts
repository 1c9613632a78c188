import type { SqlClient } from "../db/database";
import { Prisma } from "../db/generated/client";
import { chargeFee, refund } from "../ledger";
import { escrowTaskEnded } from "./chain-escrow";
import { LIVE_STATUSES } from "./statuses";

export interface Cancellation {
  assignmentId: string;
  providerId: string;
}

/**
 * Ends a task without a result (failed or expired): the escrow goes back to the requester — all
 * of it, less `fee` (at most the escrow) kept for the treasury as the task's cost (EXPIRED_TASK_FEE
 * on expiry) — and live assignments are cancelled. Runs inside the caller's transaction; returns
 * the assignments whose providers must be told to stop (after commit).
 */
export async function endTaskUnpaid(
  tx: SqlClient,
  task: { id: string; requesterId: string; escrowHeld: bigint },
  status: "failed" | "expired",
  code: string,
  message: string,
  fee = 0n,
): Promise<Cancellation[]> {
  const cancellations = await cancelLiveAssignments(tx, task.id);
  const kept = fee < task.escrowHeld ? fee : task.escrowHeld;
  if (kept > 0n) await chargeFee(tx, task.requesterId, kept, task.id, `${status}-fee`);
  if (task.escrowHeld > kept) await refund(tx, task.requesterId, task.escrowHeld - kept, task.id);
  // Paid from an on-chain escrow: the chain refunds it, so the ledger hands it back to system:chain.
  await escrowTaskEnded(tx, task.id, task.requesterId, kept);
  const now = new Date();
  await tx.$executeRaw`
    UPDATE "Task"
    SET status = ${status}, "escrowHeld" = 0, "errorCode" = ${code}, "errorMessage" = ${message}, "completedAt" = ${now}, "updatedAt" = ${now}
        ${kept > 0n ? Prisma.sql`, cost = ${kept}` : Prisma.empty}
    WHERE id = ${task.id}`;
  return cancellations;
}

/**
 * Marks the task's live assignments `cancelled` inside the caller's transaction and returns them,
 * so their providers can be told to stop after commit.
 */
export async function cancelLiveAssignments(tx: SqlClient, taskId: string): Promise<Cancellation[]> {
  const live = await tx.$queryRaw<Array<{ id: string; providerId: string }>>`
    UPDATE "Assignment" SET status = 'cancelled'
    WHERE "taskId" = ${taskId} AND status IN (${Prisma.join([...LIVE_STATUSES])})
    RETURNING id, "providerId"`;
  return live.map((a) => ({ assignmentId: a.id, providerId: a.providerId }));
}
