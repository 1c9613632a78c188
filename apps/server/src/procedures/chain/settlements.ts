import { ChainSettlementsQuerySchema, ChainSettlementsResponseSchema } from "@stun/shared";
import { procedure } from "../define";
import { needChain } from "./need-chain";

/**
 * The caller's on-chain settlements (tasks it paid from its on-chain deposit), newest first, with
 * their settleFromDeposits transaction hashes — the web app's settlement links. Ledger-only
 * (`offchain`) rows are left out.
 */
export const chainSettlementsProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The caller's on-chain settlements (tasks paid from its on-chain deposit), newest first, with transaction hashes",
  input: ChainSettlementsQuerySchema,
  output: ChainSettlementsResponseSchema,
  handler: async ({ app, accountId }, input) => {
    const chain = needChain(app);
    const rows = await app.db.prisma.chainSettlement.findMany({
      where: { chainId: chain.cfg.chainId, requesterId: accountId, status: { not: "offchain" } },
      orderBy: [{ createdAt: "desc" }, { taskId: "desc" }],
      take: input.limit,
    });
    return {
      settlements: rows.map((r) => {
        const entry = r.entry as { releaseAt?: string } | null;
        return {
          taskId: r.taskId,
          status: r.status,
          amount: r.amount.toString(),
          txHash: r.txHash,
          batchId: r.batchId,
          releaseAt: entry?.releaseAt ? new Date(Number(entry.releaseAt) * 1000).toISOString() : null,
          lastError: r.lastError,
          createdAt: r.createdAt.toISOString(),
          confirmedAt: r.confirmedAt?.toISOString() ?? null,
        };
      }),
    };
  },
});
