import { z } from "zod";

/** One on-chain settlement of a task the caller paid from its on-chain deposit (ChainSettlement). */
export const ChainSettlementViewSchema = z.object({
  taskId: z.string(),
  /** pending → submitted → confirmed → released, or failed. */
  status: z.string(),
  /** The task's cost taken from the deposit, in ledger-token base units. */
  amount: z.string(),
  /** The settleFromDeposits transaction (shared by the tasks of one batch), once sent. */
  txHash: z.string().nullable(),
  batchId: z.string().nullable(),
  /** When the payouts become releasable (the dispute window's end), once confirmed. */
  releaseAt: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  confirmedAt: z.string().nullable(),
});
export type ChainSettlementView = z.infer<typeof ChainSettlementViewSchema>;

export const ChainSettlementsQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });
export const ChainSettlementsResponseSchema = z.object({ settlements: z.array(ChainSettlementViewSchema) });
