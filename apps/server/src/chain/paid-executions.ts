/**
 * The executions a settled task paid, in its receipt's (the ledger split's) order, checked against
 * the ledger: what an on-chain settlement of the task signs. Shared by the deposit settlements and
 * the per-task escrows.
 */
import { splitFee, type Receipt } from "@stun/shared";
import type { SqlClient } from "../db/database";

export interface PaidExecution {
  providerId: string;
  price: bigint;
  accountId: string;
  /** The provider's share as the ledger paid it. */
  paid: bigint;
}

/**
 * The task's accepted (or later overturned) executions matched one by one to the receipt's
 * providers with the fee split of their prices, or why they cannot be settled on chain: a receipt that names an execution not there,
 * or a split of their prices that differs from what the ledger paid.
 */
export async function paidExecutions(
  tx: SqlClient,
  taskId: string,
  receipt: Receipt | null,
  cost: bigint,
): Promise<{ ok: true; executions: PaidExecution[]; split: ReturnType<typeof splitFee> } | { ok: false; reason: string }> {
  const rows = await tx.$queryRaw<Array<{ providerId: string; price: bigint; accountId: string }>>`
    SELECT a."providerId", a.price, p."accountId"
    FROM "Assignment" a JOIN "Provider" p ON p.id = a."providerId"
    WHERE a."taskId" = ${taskId} AND a.verdict IN ('accepted', 'overturned')
    ORDER BY a."completedAt", a.id`;
  const used = new Set<number>();
  const matched: PaidExecution[] = [];
  for (const p of receipt?.providers ?? []) {
    const i = rows.findIndex((e, j) => !used.has(j) && e.providerId === p.providerId);
    if (i === -1) return { ok: false, reason: "the accepted executions do not match the receipt" };
    used.add(i);
    matched.push({ ...rows[i]!, price: BigInt(rows[i]!.price), paid: BigInt(p.paid) });
  }
  if (matched.length === 0) return { ok: false, reason: "the accepted executions do not match the receipt" };
  const split = splitFee(matched.map((w, i) => ({ id: String(i), amount: w.price })));
  if (split.total !== cost || split.providers.some((p, i) => p.amount !== matched[i]!.paid)) return { ok: false, reason: "the split differs from the ledger's" };
  return { ok: true, executions: matched, split };
}
