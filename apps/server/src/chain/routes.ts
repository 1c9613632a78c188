/**
 * The chain adapter's REST routes (README "Chain settlement"):
 *
 * - `GET  /api/v1/chain` (public): `{ enabled: false }`, or `{ enabled: true, ...ChainInfo,
 *   depositsScannedTo }` — the last block the deposit watcher has processed (its durable cursor).
 * - `GET  /api/v1/chain/account` (API key): the caller's bytes32 deposit account, linked wallet,
 *   on-chain balance (deposited, settled, withdrawn, available) and latest deposits.
 * - `POST /api/v1/chain/withdrawals` `{ "amount": "<base units>" }` (admin API key): withdraws that much
 *   of the caller's deposit to its linked wallet (201, the withdrawal).
 * - `GET  /api/v1/chain/withdrawals` (API key): the caller's withdrawals, newest first.
 */
import type { FastifyInstance } from "fastify";
import { AmountRequestSchema, StunError } from "@stun/shared";
import { accountToBytes32 } from "@stun/contracts";
import type { AppContext } from "../context";
import { requireScope } from "../auth/scopes";
import { AUTH_REQUIRED, callerOf } from "../http/auth";
import type { ChainAdapter } from "./adapter";
import { chainBalance } from "./ledger";

export function registerChainRoutes(http: FastifyInstance, app: AppContext, chain: ChainAdapter | undefined): void {
  const need = (): ChainAdapter => {
    if (!chain) throw new StunError("NOT_FOUND", "on-chain settlement is off on this server (CHAIN is not set)");
    return chain;
  };

  http.get("/api/v1/chain", async () => {
    if (!chain) return { enabled: false };
    const cursor = await chain.deposits.cursor();
    return { enabled: true, ...chain.info, depositsScannedTo: cursor.blockNumber.toString() };
  });

  http.get("/api/v1/chain/account", AUTH_REQUIRED, async (req) => {
    const { accountId } = callerOf(req);
    const c = need();
    const [account, balance, deposits] = await Promise.all([
      app.db.prisma.account.findUnique({ where: { id: accountId }, select: { walletAddress: true } }),
      chainBalance(app.db.prisma, c.cfg.chainId, accountId),
      app.db.prisma.chainDeposit.findMany({ where: { chainId: c.cfg.chainId, accountId }, orderBy: { blockNumber: "desc" }, take: 50 }),
    ]);
    return {
      accountId,
      depositAccount: accountToBytes32(accountId),
      walletAddress: account?.walletAddress ?? null,
      onChain: {
        deposited: balance.deposited.toString(),
        settled: balance.settled.toString(),
        withdrawn: balance.withdrawn.toString(),
        available: balance.available.toString(),
      },
      deposits: deposits.map((d) => ({
        txHash: d.txHash,
        logIndex: d.logIndex,
        blockNumber: d.blockNumber.toString(),
        from: d.fromAddress,
        amount: d.amount,
        status: d.status,
        createdAt: d.createdAt.toISOString(),
      })),
    };
  });

  http.post("/api/v1/chain/withdrawals", AUTH_REQUIRED, async (req, reply) => {
    // Money leaves the ledger: only a key with the account's full power.
    const { accountId, scopes } = callerOf(req);
    requireScope(scopes, ["admin"], "withdraw");
    const c = need();
    const parsed = AmountRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw new StunError("VALIDATION_FAILED", parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
    const w = await c.withdrawals.request(accountId, BigInt(parsed.data.amount));
    return reply.status(201).send(w);
  });

  http.get("/api/v1/chain/withdrawals", AUTH_REQUIRED, async (req) => {
    const { accountId } = callerOf(req);
    return { withdrawals: await need().withdrawals.list(accountId) };
  });
}
