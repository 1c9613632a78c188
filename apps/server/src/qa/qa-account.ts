/**
 * The marketplace's own requester account, for the tasks QA creates: canaries (known answers) and
 * re-checks of solo results. They are paid like any task — providers cannot tell them apart —
 * out of the treasury (which receives the 15% share and slashed stake): each one's escrow is moved
 * from `system:treasury` when it is created; what settlement returns stays in this account's
 * available balance, earmarked for QA.
 */
import type { SqlClient } from "../db/database";
import { SYSTEM_TREASURY, escrow } from "../ledger/accounts";
import { postTransfer } from "../ledger/transfer";

export const QA_ACCOUNT_ID = "qa";

type Db = { $executeRaw: SqlClient["$executeRaw"] };

export async function ensureQaAccount(db: Db): Promise<void> {
  await db.$executeRaw`INSERT INTO "Account" (id, "createdAt") VALUES (${QA_ACCOUNT_ID}, ${new Date()}) ON CONFLICT (id) DO NOTHING`;
}

/** Treasury → the QA account's escrow, for one QA task. */
export async function fundQaTask(tx: SqlClient, taskId: string, amount: bigint): Promise<void> {
  if (amount <= 0n) return;
  await postTransfer(tx, {
    kind: "qa-fund",
    taskId,
    entries: [
      { account: SYSTEM_TREASURY, amount: -amount },
      { account: escrow(QA_ACCOUNT_ID), amount },
    ],
  });
}
