import { z } from "zod";
import { LedgerEntryViewSchema, LedgerQuerySchema } from "@stun/shared";
import { procedure } from "../define";
import { listEntries } from "../../ledger";

export const ledgerProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The caller's ledger entries, newest first (keyset pagination with `before`)",
  input: LedgerQuerySchema,
  output: z.object({ entries: z.array(LedgerEntryViewSchema) }),
  handler: async ({ app, accountId }, input) => {
    const rows = await listEntries(app.db, accountId, { limit: input.limit, ...(input.before ? { before: BigInt(input.before) } : {}) });
    return {
      entries: rows.map((e) => ({
        id: e.id.toString(),
        txId: e.txId,
        account: e.account,
        amount: e.amount.toString(),
        kind: e.kind,
        taskId: e.taskId,
        createdAt: e.createdAt.toISOString(),
      })),
    };
  },
});
