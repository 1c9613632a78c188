/**
 * Withdrawals of a Stun account's unspent on-chain deposit to its linked wallet.
 *
 * `requestWithdrawal` (POST /api/v1/chain/withdrawals): the account needs a linked wallet, enough
 * spendable balance, and enough of its deposit left on chain (chain/ledger.ts); in one transaction
 * the ledger moves `acct:<id>:available → system:chain` (kind `chain_withdraw`) and a
 * `ChainWithdrawal` row is written `pending` with its deadline (now + CHAIN_WITHDRAWAL_TTL_S). The
 * submitter then sends `withdrawDeposit` signed by the settlers (nonce = the row id as bytes32, so a
 * resend can never pay twice; the deadline signed with it) → `submitted` → `confirmed`; the wallet
 * takes the credit with the marketplace's `withdraw(token)`.
 *
 * The ledger debit is reversed (`failed`, kind `chain_withdraw_reversed`) only when the chain shows
 * the withdrawal can never pay: its nonce unused (a used nonce means it was paid: `confirmed`), and
 * either no transaction for it was ever broadcast (the signed order never left this process: each
 * transaction's hash is written before it is sent) or the latest block is past the order's deadline
 * (`WithdrawalExpired` refuses every copy of it from then on). A contract refusal or a transaction
 * with no receipt after CHAIN_TX_TIMEOUT_MS is otherwise retried until one of the two holds, so a
 * transaction that lands after the server stopped waiting for it is never paid twice.
 */
import { type Address, type Hex, encodeFunctionData, getAddress, keccak256 } from "viem";
import { StunError } from "@stun/shared";
import { type DepositWithdrawal, accountToBytes32, computeMarketplaceAbi, idToBytes32, signDepositWithdrawal } from "@stun/contracts";
import type { AppContext } from "../context";
import { newId } from "../ids";
import { SYSTEM_CHAIN, available, postTransfer } from "../ledger";
import type { WithdrawalView } from "@stun/shared";
import type { ChainClients } from "./clients";
import type { ChainConfig } from "./config";
import { chainBalance, reverseTransfer } from "./ledger";
import { errorText, revertOf } from "./settlements";

export type { WithdrawalView };

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
  deadline: Date | null;
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
        data: {
          id,
          chainId: this.cfg.chainId,
          accountId,
          toAddress: acct.walletAddress,
          token: this.cfg.token.toLowerCase(),
          amount,
          status: "pending",
          ledgerTxId: txId,
          deadline: new Date(now.getTime() + this.cfg.withdrawalTtlS * 1000),
          createdAt: now,
          updatedAt: now,
        },
      });
    });
    this.app.log.info({ withdrawal: id, accountId, amount: amount.toString() }, "chain: withdrawal queued");
    return withdrawalView(row);
  }

  async list(accountId: string): Promise<WithdrawalView[]> {
    const rows = await this.app.db.prisma.chainWithdrawal.findMany({ where: { accountId, chainId: this.cfg.chainId }, orderBy: { createdAt: "desc" }, take: 100 });
    return rows.map(withdrawalView);
  }

  private toContract(w: WithdrawalRow & { deadline: Date }): DepositWithdrawal {
    return {
      account: accountToBytes32(w.accountId),
      token: getAddress(w.token),
      amount: w.amount,
      to: getAddress(w.toAddress) as Address,
      nonce: idToBytes32(w.id),
      deadline: BigInt(Math.floor(w.deadline.getTime() / 1000)),
    };
  }

  private nonceUsed(nonce: Hex, blockNumber?: bigint): Promise<boolean> {
    return this.clients.publicClient.readContract({
      address: this.cfg.marketplace,
      abi: computeMarketplaceAbi,
      functionName: "withdrawalNonceUsed",
      args: [nonce],
      ...(blockNumber !== undefined ? { blockNumber } : {}),
    });
  }

  private confirm(w: WithdrawalRow): Promise<unknown> {
    return this.app.db.prisma.chainWithdrawal.update({ where: { id: w.id }, data: { status: "confirmed", confirmedAt: new Date(), lastError: null } });
  }

  async tick(): Promise<void> {
    const prisma = this.app.db.prisma;
    const { publicClient, wallet, signers, domain } = this.clients;
    const open = await prisma.chainWithdrawal.findMany({ where: { chainId: this.cfg.chainId, status: { in: ["pending", "submitted"] } }, orderBy: { createdAt: "asc" }, take: 50 });
    if (open.length === 0) return;
    const head = await publicClient.getBlock({ blockTag: "latest" });
    for (const row of open) {
      // Rows from before deadlines existed get one now, stored before any order is signed with it.
      const w = row.deadline ? { ...row, deadline: row.deadline } : { ...row, deadline: new Date(Date.now() + this.cfg.withdrawalTtlS * 1000) };
      if (!row.deadline) await prisma.chainWithdrawal.update({ where: { id: w.id }, data: { deadline: w.deadline } });
      const order = this.toContract(w);
      if (w.status === "submitted") {
        const receipt = await publicClient.getTransactionReceipt({ hash: w.txHash as Hex }).catch(() => undefined);
        if (receipt?.status === "success") {
          if (head.number - receipt.blockNumber + 1n >= BigInt(this.cfg.confirmations)) await this.confirm(w);
          continue;
        }
        if (!receipt && Date.now() - w.updatedAt.getTime() < this.cfg.txTimeoutMs) continue;
        // Reverted, dropped or slow: checked and sent again below (the nonce makes a double payment impossible).
        await prisma.chainWithdrawal.update({
          where: { id: w.id },
          data: { status: "pending", lastError: receipt ? `reverted: ${w.txHash}` : `no receipt after ${this.cfg.txTimeoutMs} ms: ${w.txHash}` },
        });
      }
      if (await this.nonceUsed(order.nonce)) {
        await this.confirm(w);
        continue;
      }
      if (head.timestamp > order.deadline) {
        // Past the deadline in a block CHAIN_CONFIRMATIONS deep with the nonce still unused there:
        // no copy of the order can execute any more (WithdrawalExpired), so it can never pay.
        const depth = BigInt(this.cfg.confirmations - 1);
        const final = depth === 0n ? head : await publicClient.getBlock({ blockNumber: head.number - depth });
        if (final.timestamp <= order.deadline) continue;
        if (await this.nonceUsed(order.nonce, final.number)) await this.confirm(w);
        else await this.reverse(w, `expired: not executed by its deadline ${w.deadline.toISOString()} (block ${final.number})`);
        continue;
      }
      try {
        const signatures = await signDepositWithdrawal(signers, domain, order);
        const data = encodeFunctionData({ abi: computeMarketplaceAbi, functionName: "withdrawDeposit", args: [order, signatures] });
        // Refused by the contract → a revert here, before anything is broadcast.
        await publicClient.simulateContract({ account: wallet.account, address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName: "withdrawDeposit", args: [order, signatures] });
        const prepared = await wallet.prepareTransactionRequest({ account: wallet.account, chain: wallet.chain, to: this.cfg.marketplace, data });
        const serializedTransaction = await wallet.signTransaction(prepared);
        // Written before it is sent: a row with no txHash has never had an order on the wire.
        const hash = keccak256(serializedTransaction);
        await prisma.chainWithdrawal.update({ where: { id: w.id }, data: { status: "submitted", txHash: hash, attempts: { increment: 1 }, lastError: null } });
        await wallet.sendRawTransaction({ serializedTransaction }).catch(async (e: unknown) => {
          // Maybe sent, maybe not: the receipt check above decides after CHAIN_TX_TIMEOUT_MS.
          await prisma.chainWithdrawal.update({ where: { id: w.id }, data: { lastError: `send: ${errorText(e)}`.slice(0, 1000) } });
        });
      } catch (e) {
        const refused = revertOf(e);
        if (refused && !w.txHash && !(await this.nonceUsed(order.nonce))) await this.reverse(w, errorText(e));
        else await prisma.chainWithdrawal.update({ where: { id: w.id }, data: { lastError: errorText(e).slice(0, 1000), ...(refused ? {} : { attempts: { increment: 1 } }) } });
      }
    }
  }

  /** Marks the withdrawal failed and gives the account its balance back (once: the status guard). */
  private async reverse(w: WithdrawalRow, error: string): Promise<void> {
    this.app.log.error({ withdrawal: w.id, error }, "chain: withdrawal cannot pay; ledger debit reversed");
    await this.app.db.prisma.$transaction(async (tx) => {
      const n = await tx.$executeRaw`
        UPDATE "ChainWithdrawal" SET status = 'failed', "lastError" = ${error.slice(0, 1000)}, "updatedAt" = ${new Date()}
        WHERE id = ${w.id} AND status IN ('pending', 'submitted')`;
      if (n === 1 && w.ledgerTxId) await reverseTransfer(tx, w.ledgerTxId, "chain_withdraw_reversed");
    });
  }
}
