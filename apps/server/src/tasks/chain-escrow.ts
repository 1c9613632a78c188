/**
 * The ledger's side of a task paid from an on-chain per-task escrow (docs/CHAIN.md "Paying a task
 * from an on-chain escrow"), run inside the caller's transaction so that the mirror is durable
 * with the change it mirrors.
 *
 * `system:chain` mirrors what the marketplace holds for Stun (chain/ledger.ts): an escrowed task's
 * `held` (the most it may cost) is credited from it to the requester's escrow bucket at submit,
 * instead of a hold from the requester's balance; the ledger's own settle/refund then run as for
 * any task, and whatever of it the chain pays back to the requester's wallet (the change at
 * settlement, the whole escrow on a refund) goes back from the ledger to `system:chain` in the same
 * transaction, so the requester is never paid twice. The payouts' mirror and every transaction on
 * chain are the EscrowSubmitter's (chain/escrows.ts).
 */
import { StunError } from "@stun/shared";
import type { SqlClient } from "../db/database";
import { SYSTEM_CHAIN, SYSTEM_TREASURY, available, escrow, postTransfer, type LedgerLeg, type TransferInput } from "../ledger";

export interface EscrowLink {
  taskId: string;
  chainId: number;
  /** The marketplace's task id (bytes32, lowercase hex). */
  escrowId: string;
  requesterId: string;
  /** The escrow's requester on chain (lowercase). */
  requester: string;
  token: string;
  /** The escrow on chain. */
  amount: bigint;
  /** What the ledger holds of it for the task (Task.escrowHeld). */
  held: bigint;
  deadline: Date;
}

/**
 * Links the escrow to the task (a unique key per chain and escrow id: a second submit naming it
 * gets ESCROW_IN_USE, also when both run at once) and credits `held` from `system:chain` to the
 * requester's escrow bucket — the submit's hold, with `also` (the storage charge, the Task row).
 */
export async function linkEscrow(tx: SqlClient, link: EscrowLink, also: Pick<TransferInput, "storage" | "alongside"> = {}): Promise<void> {
  const now = new Date();
  const inserted = await tx.$executeRaw`
    INSERT INTO "ChainEscrow" ("taskId", "chainId", "escrowId", "requesterId", requester, token, amount, held, deadline, status, "createdAt", "updatedAt")
    VALUES (${link.taskId}, ${link.chainId}, ${link.escrowId}, ${link.requesterId}, ${link.requester}, ${link.token}, ${link.amount}, ${link.held},
            ${link.deadline}, 'linked', ${now}, ${now})
    ON CONFLICT ("chainId", "escrowId") DO NOTHING`;
  if (inserted !== 1) throw new StunError("ESCROW_IN_USE", `escrow ${link.escrowId} already pays another task`, { escrow: link.escrowId });
  await postTransfer(tx, {
    kind: "chain_escrow",
    taskId: link.taskId,
    entries: [
      { account: SYSTEM_CHAIN, amount: -link.held },
      { account: escrow(link.requesterId), amount: link.held },
    ],
    ...also,
  });
}

/**
 * The escrowed task was accepted and settled in the ledger (same transaction): the change the
 * ledger just returned to the requester's balance (held − cost) is what the chain will credit to
 * its wallet at settlement, so it goes back to `system:chain`. The row waits for the submitter.
 */
export async function escrowTaskCompleted(tx: SqlClient, taskId: string, requesterId: string, cost: bigint): Promise<void> {
  const [row] = await tx.$queryRaw<Array<{ held: bigint }>>`
    UPDATE "ChainEscrow" SET status = 'settling', "updatedAt" = ${new Date()} WHERE "taskId" = ${taskId} AND status = 'linked' RETURNING held`;
  if (!row) return;
  const change = row.held - cost;
  if (change > 0n) await mirror(tx, "chain_escrow_change", taskId, [{ account: available(requesterId), amount: -change }], change);
}

/**
 * The escrowed task ended unpaid (failed, expired) in the same transaction: the chain refunds the
 * whole escrow to the requester's wallet after its deadline, so what the ledger returned to its
 * balance goes back to `system:chain`. A fee the ledger kept (EXPIRED_TASK_FEE) is given back by
 * the treasury: the refund on chain returns everything.
 */
export async function escrowTaskEnded(tx: SqlClient, taskId: string, requesterId: string, kept: bigint): Promise<void> {
  const [row] = await tx.$queryRaw<Array<{ held: bigint }>>`
    UPDATE "ChainEscrow" SET status = 'refund_due', "updatedAt" = ${new Date()} WHERE "taskId" = ${taskId} AND status = 'linked' RETURNING held`;
  if (!row) return;
  const legs: LedgerLeg[] = [];
  if (row.held > kept) legs.push({ account: available(requesterId), amount: -(row.held - kept) });
  if (kept > 0n) legs.push({ account: SYSTEM_TREASURY, amount: -kept });
  await mirror(tx, "chain_escrow_refund", taskId, legs, row.held);
}

async function mirror(tx: SqlClient, kind: string, taskId: string, legs: LedgerLeg[], total: bigint): Promise<string> {
  const { txId } = await postTransfer(tx, { kind, taskId, entries: [...legs, { account: SYSTEM_CHAIN, amount: total }] });
  return txId;
}
