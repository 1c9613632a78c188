/**
 * Withdrawals of a Stun account's unspent on-chain deposit to its linked wallet, on the shared
 * PayoutQueue (chains/payouts.ts) with the EVM payout rail (chains/evm/payouts.ts): `ExternalPayout`
 * rows, family `evm`, network = chain id.
 *
 * `request` (POST /api/v1/chain/withdrawals): the account needs a linked wallet, enough spendable
 * balance, and enough of its deposit left on chain (chain/ledger.ts `chainBalance`, checked under
 * the account's row lock); in one transaction the ledger moves `acct:<id>:available → system:chain`
 * (kind `external_payout`) and the row is written `pending`. Each tick the queue signs a
 * `withdrawDeposit` order (nonce = the row id as bytes32, deadline CHAIN_WITHDRAWAL_TTL_S ahead),
 * stores the signed transaction on the row (`sent`) and only then sends it; later ticks ask the chain
 * (`confirmed` once CHAIN_CONFIRMATIONS deep or its nonce used), send the same bytes again while it
 * may still land, and sign a new order only when the last one provably never can (past its deadline
 * in a final block, nonce unused, never landed). So a crash between send and confirmation pays once.
 *
 * The ledger debit is reversed (`failed`, kind `external_payout_reversed`) only when the chain shows
 * the withdrawal can never pay: the contract refused the order before anything was sent, or its
 * transaction landed reverted and the order's deadline passed in a final block with its nonce unused.
 * Rows from before (ChainWithdrawal) were copied by migration evm_withdrawals_external.
 */
import { StunError, type WithdrawalView } from "@stun/shared";
import type { AppContext } from "../context";
import type { SqlClient } from "../db/database";
import { EvmPayoutRail } from "../chains/evm/payouts";
import { PayoutQueue, type PayoutTick } from "../chains/payouts";
import type { ChainClients } from "./clients";
import type { ChainConfig } from "./config";
import { chainBalance } from "./ledger";
import { errorText, revertOf } from "./settlements";

export type { WithdrawalView };

type PayoutRow = { id: string; amount: bigint; toAddress: string; status: string; txId: string | null; lastError: string | null; createdAt: Date };

export const withdrawalView = (w: PayoutRow): WithdrawalView => ({
  id: w.id,
  amount: w.amount.toString(),
  to: w.toAddress,
  status: w.status,
  txHash: w.txId,
  error: w.lastError,
  createdAt: w.createdAt.toISOString(),
});

export class EvmWithdrawals {
  readonly rail: EvmPayoutRail;
  readonly queue: PayoutQueue;

  constructor(
    private readonly app: AppContext,
    private readonly cfg: ChainConfig,
    clients: ChainClients,
  ) {
    this.rail = new EvmPayoutRail(
      { ...clients, refusal: (e) => (revertOf(e) ? errorText(e) : undefined) },
      { chainId: cfg.chainId, marketplace: cfg.marketplace, token: cfg.token, confirmations: cfg.confirmations, withdrawalTtlS: cfg.withdrawalTtlS },
    );
    this.queue = new PayoutQueue(app.db, this.rail, { maxBatch: 10, log: (msg, data) => app.log.info(data, `chain withdrawals: ${msg}`) });
  }

  /** Debits the ledger and queues a withdrawal of `amount` to the account's linked wallet. */
  async request(accountId: string, amount: bigint): Promise<WithdrawalView> {
    if (amount <= 0n) throw new StunError("VALIDATION_FAILED", "amount must be positive");
    const account = await this.app.db.prisma.account.findUnique({ where: { id: accountId }, select: { walletAddress: true } });
    if (!account) throw new StunError("NOT_FOUND", `no account ${accountId}`);
    const to = account.walletAddress;
    if (!to) throw new StunError("VALIDATION_FAILED", "link a wallet first (Sign-In with Ethereum): withdrawals go to the account's wallet");
    const guard = async (tx: SqlClient): Promise<void> => {
      // The account's row lock serializes its requests, so two cannot both take the same deposit.
      const [locked] = await tx.$queryRaw<Array<{ walletAddress: string | null }>>`SELECT "walletAddress" FROM "Account" WHERE id = ${accountId} FOR UPDATE`;
      if (locked?.walletAddress !== to) throw new StunError("CONFLICT", "the account's wallet changed while withdrawing: try again");
      const onChain = await chainBalance(tx, this.cfg.chainId, accountId);
      if (onChain.available < amount) {
        throw new StunError("INSUFFICIENT_FUNDS", `only ${onChain.available} of this account's funds are deposited on chain`, { onChain: onChain.available.toString() });
      }
    };
    const { id } = await this.queue.request(accountId, to, amount, { guard });
    this.app.log.info({ withdrawal: id, accountId, amount: amount.toString() }, "chain: withdrawal queued");
    return withdrawalView((await this.app.db.prisma.externalPayout.findUnique({ where: { id } }))!);
  }

  async list(accountId: string): Promise<WithdrawalView[]> {
    const rows = await this.app.db.prisma.externalPayout.findMany({
      where: { family: "evm", network: String(this.cfg.chainId), accountId },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: 100,
    });
    return rows.map(withdrawalView);
  }

  /** One queue pass: sent transactions checked, pending withdrawals sent. */
  async tick(): Promise<PayoutTick> {
    const r = await this.queue.tick();
    if (r.sent + r.confirmed + r.failed + r.expired > 0) this.app.log.info({ ...r }, "chain: withdrawals");
    return r;
  }
}
