import { z } from "zod";
import { ChainAccountSchema } from "@stun/shared";
import { getAddress } from "viem";
import { accountToBytes32 } from "@stun/contracts";
import { chainBalance } from "../../chain/ledger";
import { procedure } from "../define";
import { needChain } from "./need-chain";

/** The caller's bytes32 deposit account, linked wallet, on-chain balance and latest 50 deposits. */
export const chainAccountProcedure = procedure({
  kind: "query",
  auth: true,
  summary: "The caller's on-chain deposit account (bytes32), linked wallet, on-chain balance (deposited, settled, withdrawn, available), the wallet's stake in Staking and latest deposits",
  input: z.object({}).optional(),
  output: ChainAccountSchema,
  handler: async ({ app, accountId }) => {
    const c = needChain(app);
    const [account, balance, deposits] = await Promise.all([
      app.db.prisma.account.findUnique({ where: { id: accountId }, select: { walletAddress: true } }),
      chainBalance(app.db.prisma, c.cfg.chainId, accountId),
      app.db.prisma.externalDeposit.findMany({ where: { family: "evm", network: String(c.cfg.chainId), accountId }, orderBy: [{ slotOrLt: "desc" }, { index: "desc" }], take: 50 }),
    ]);
    const wallet = account?.walletAddress?.toLowerCase();
    const staker = wallet ? await app.db.prisma.chainStaker.findUnique({ where: { chainId_wallet: { chainId: c.cfg.chainId, wallet } } }) : null;
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
      stake: staker
        ? {
            wallet: staker.wallet,
            active: staker.active.toString(),
            unbonding: staker.unbonding.toString(),
            slashed: staker.slashed.toString(),
            counted: staker.accountId === accountId && getAddress(c.info.stakeToken.address) === getAddress(c.info.ledgerToken),
          }
        : null,
      deposits: deposits.map((d) => ({
        txHash: d.txId,
        logIndex: d.index,
        blockNumber: d.slotOrLt.toString(),
        from: d.fromAddress,
        amount: d.amount,
        status: d.status,
        createdAt: d.createdAt.toISOString(),
      })),
    };
  },
});
