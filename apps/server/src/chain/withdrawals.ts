/**
 * Withdrawals of a Stun account's unspent on-chain deposit to its linked wallet.
 *
 * `requestWithdrawal` (POST /api/v1/chain/withdrawals): the account needs a linked wallet, enough
 * spendable balance, and enough of its deposit left on chain (chain/ledger.ts); in one transaction
 * the ledger moves `acct:<id>:available → system:chain` (kind `chain_withdraw`) and a
 * `ChainWithdrawal` row is written `pending`. The submitter then sends `withdrawDeposit` signed by
 * the settlers (nonce = the row id as bytes32, so a resend can never pay twice) → `submitted` →
 * `confirmed`; the wallet takes the credit with the marketplace's `withdraw(token)`. A withdrawal
 * the contract refuses becomes `failed` and the ledger debit is reversed.
 */
import { type Address, type Hex, getAddress } from "viem";
import { StunError } from "@stun/shared";
import { type DepositWithdrawal, accountToBytes32, computeMarketplaceAbi, idToBytes32, signDepositWithdrawal } from "@stun/contracts";
import type { AppContext } from "../context";
import { newId } from "../ids";
import { SYSTEM_CHAIN, available, postTransfer } from "../ledger";
import type { ChainClients } from "./clients";
import type { ChainConfig } from "./config";
import { chainBalance, reverseTransfer } from "./ledger";
import { errorText, revertOf } from "./settlements";

const DROPPED_AFTER_MS = 3 * 60_000;

export interface WithdrawalView {
  id: string;
  amount: string;
  to: string;
  status: string;
  txHash: string | null;
  error: string | null;
  createdAt: string;
}

type WithdrawalRow = {
  id: string;
  accountId: string;
  toAddress: string;
  token: string;
  amount: bigint;
  status: string;
  txHash: string | null;
  lastError: string | null;
  ledgerTxId: string | null;
  createdAt: Date;
  updatedAt: Date;
};

export const withdrawalView = (w: WithdrawalRow): WithdrawalView => ({
  id: w.id,
  amount: w.amount.toString(),
  to: w.toAddress,
  status: w.status,
  txHash: w.txHash,
  error: w.lastError,
  createdAt: w.createdAt.toISOString(),
});

export class WithdrawalSubmitter {
  constructor(
    private readonly app: AppContext,
    private readonly cfg: ChainConfig,
    private readonly clients: ChainClients,
  ) {}

  /** Debits the ledger and queues a withdrawal of `amount` to the account's linked wallet. */
  async request(accountId: string, amount: bigint): Promise<WithdrawalView> {
    if (amount <= 0n) throw new StunError("VALIDATION_FAILED", "amount must be positive");
    const id = newId("wdr");
    const row = await this.app.db.prisma.$transaction(async (tx) => {
      const [acct] = await tx.$queryRaw<Array<{ walletAddress: string | null; balance: bigint }>>`
        SELECT "walletAddress", balance FROM "Account" WHERE id = ${accountId} FOR UPDATE`;
      if (!acct) throw new StunError("NOT_FOUND", `no account ${accountId}`);
      if (!acct.walletAddress) throw new StunError("VALIDATION_FAILED", "link a wallet first (Sign-In with Ethereum): withdrawals go to the account's wallet");
      const onChain = await chainBalance(tx, this.cfg.chainId, accountId);
      if (onChain.available < amount) {
        throw new StunError("INSUFFICIENT_FUNDS", `only ${onChain.available} of this account's funds are deposited on chain`, { onChain: onChain.available.toString() });
      }
      const { txId } = await postTransfer(tx, {
        kind: "chain_withdraw",
        entries: [
          { account: available(accountId), amount: -amount },
          { account: SYSTEM_CHAIN, amount },
        ],
      });
      const now = new Date();
      return tx.chainWithdrawal.create({
        data: { id, chainId: this.cfg.chainId, accountId, toAddress: acct.walletAddress, token: this.cfg.token.toLowerCase(), amount, status: "pending", ledgerTxId: txId, createdAt: now, updatedAt: now },
      });
    });
    this.app.log.info({ withdrawal: id, accountId, amount: amount.toString() }, "chain: withdrawal queued");
    return withdrawalView(row);
  }

  async list(accountId: string): Promise<WithdrawalView[]> {
    const rows = await this.app.db.prisma.chainWithdrawal.findMany({ where: { accountId, chainId: this.cfg.chainId }, orderBy: { createdAt: "desc" }, take: 100 });
    return rows.map(withdrawalView);
  }

  private toContract(w: WithdrawalRow): DepositWithdrawal {
    return { account: accountToBytes32(w.accountId), token: getAddress(w.token), amount: w.amount, to: getAddress(w.toAddress) as Address, nonce: idToBytes32(w.id) };
  }

  async tick(): Promise<void> {
    const prisma = this.app.db.prisma;
    const { publicClient, wallet, signers, domain } = this.clients;
    const open = await prisma.chainWithdrawal.findMany({ where: { chainId: this.cfg.chainId, status: { in: ["pending", "submitted"] } }, orderBy: { createdAt: "asc" }, take: 50 });
    if (open.length === 0) return;
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    for (const w of open) {
      const order = this.toContract(w);
      if (w.status === "submitted") {
        const receipt = await publicClient.getTransactionReceipt({ hash: w.txHash as Hex }).catch(() => undefined);
        if (receipt?.status === "success") {
          if (head - receipt.blockNumber + 1n >= BigInt(this.cfg.confirmations)) {
            await prisma.chainWithdrawal.update({ where: { id: w.id }, data: { status: "confirmed", confirmedAt: new Date(), lastError: null } });
          }
          continue;
        }
        if (!receipt && Date.now() - w.updatedAt.getTime() < DROPPED_AFTER_MS) continue;
        // Reverted or dropped: sent again below (the nonce makes a double payment impossible).
        await prisma.chainWithdrawal.update({ where: { id: w.id }, data: { status: "pending", lastError: receipt ? `reverted: ${w.txHash}` : `not mined: ${w.txHash}` } });
      }
      const used = await publicClient.readContract({ address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName: "withdrawalNonceUsed", args: [order.nonce] });
      if (used) {
        await prisma.chainWithdrawal.update({ where: { id: w.id }, data: { status: "confirmed", confirmedAt: new Date(), lastError: null } });
        continue;
      }
      try {
        const signatures = await signDepositWithdrawal(signers, domain, order);
        const { request } = await publicClient.simulateContract({
          account: wallet.account,
          address: this.cfg.marketplace,
          abi: computeMarketplaceAbi,
          functionName: "withdrawDeposit",
          args: [order, signatures],
        });
        const hash = await wallet.writeContract(request);
        await prisma.chainWithdrawal.update({ where: { id: w.id }, data: { status: "submitted", txHash: hash, attempts: { increment: 1 }, lastError: null } });
      } catch (e) {
        if (revertOf(e) || w.attempts >= 5) await this.fail(w, errorText(e));
        else await prisma.chainWithdrawal.update({ where: { id: w.id }, data: { lastError: errorText(e).slice(0, 1000), attempts: { increment: 1 } } });
      }
    }
  }

  private async fail(w: WithdrawalRow, error: string): Promise<void> {
    this.app.log.error({ withdrawal: w.id, error }, "chain: withdrawal refused; ledger debit reversed");
    await this.app.db.prisma.$transaction(async (tx) => {
      const n = await tx.$executeRaw`
        UPDATE "ChainWithdrawal" SET status = 'failed', "lastError" = ${error.slice(0, 1000)}, "updatedAt" = ${new Date()}
        WHERE id = ${w.id} AND status IN ('pending', 'submitted')`;
      if (n === 1 && w.ledgerTxId) await reverseTransfer(tx, w.ledgerTxId, "chain_withdraw_reversed");
    });
  }
}
