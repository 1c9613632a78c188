/**
 * EVM withdrawals as a family-neutral PayoutRail (family.ts), run by the shared PayoutQueue
 * (payouts.ts) beside Solana's and TON's: each payout is one `withdrawDeposit(order, signatures)` of
 * the marketplace, paying the account's unspent on-chain deposit to its wallet (which then takes it
 * with `withdraw(token)`).
 *
 * - The order's nonce is the payout row's id as bytes32, so every transaction and every copy of a
 *   signed order for one payout share it: the contract executes at most one (`withdrawalNonceUsed`).
 * - The order's deadline (now, or the chain's time when later, + `CHAIN_WITHDRAWAL_TTL_S`; signed by the settlers with it) is the
 *   transaction's lifetime: in a block `confirmations` deep past the deadline with the nonce still
 *   unused there, no copy can ever execute (`WithdrawalExpired`) — only then does `status` say the
 *   payout can never be paid by it: `failed` (debit reversed) when its transaction landed reverted,
 *   `expired` (the queue signs a new order, same nonce) when it never landed.
 * - `prepare` simulates the call first: a contract refusal (paused, not enough deposit) is a
 *   `PayoutRefused` before anything is sent, and the queue reverses the debit.
 * - A used nonce counts as paid even when another transaction used it (the signatures are public
 *   once sent): `confirmed` once that is `confirmations` deep.
 */
import {
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
  decodeFunctionData,
  encodeFunctionData,
  getAddress,
  isAddress,
  keccak256,
  parseTransaction,
} from "viem";
import type { LocalAccount } from "viem/accounts";
import { type DepositWithdrawal, type MarketplaceDomain, accountToBytes32, computeMarketplaceAbi, idToBytes32, signDepositWithdrawal } from "@stun/contracts";
import { type PayoutOrder, type PayoutRail, PayoutRefused, type PayoutStatus, type PreparedPayout } from "../family";

export interface EvmPayoutConfig {
  chainId: number;
  marketplace: Address;
  /** The ledger token paid out (checksummed). */
  token: Address;
  /** Blocks deep before a payout counts as made (or a deadline as passed). */
  confirmations: number;
  /** Seconds a signed order stays executable. */
  withdrawalTtlS: number;
}

export interface EvmPayoutClients {
  publicClient: PublicClient<Transport, Chain>;
  wallet: WalletClient<Transport, Chain, Account>;
  /** The settlers that sign (the marketplace's threshold of them). */
  signers: LocalAccount[];
  domain: MarketplaceDomain;
  /** Why the contract refused a call (a revert), or undefined when `e` is no revert (an RPC error: retried). */
  refusal(e: unknown): string | undefined;
}

export class EvmPayoutRail implements PayoutRail {
  readonly family = "evm" as const;
  readonly network: string;
  readonly token: string;

  constructor(
    private readonly clients: EvmPayoutClients,
    private readonly cfg: EvmPayoutConfig,
  ) {
    this.network = String(cfg.chainId);
    this.token = cfg.token;
  }

  isAddress(to: string): boolean {
    return isAddress(to, { strict: false });
  }

  /** One withdrawal per transaction: `withdrawDeposit` takes one order. */
  async fit(orders: PayoutOrder[]): Promise<PayoutOrder[]> {
    return orders.slice(0, 1);
  }

  async prepare(orders: PayoutOrder[]): Promise<PreparedPayout> {
    const [o] = orders;
    if (!o || orders.length !== 1) throw new Error("an EVM payout transaction pays exactly one order");
    if (!o.accountId) throw new Error(`payout ${o.id} names no account: the EVM rail pays from the account's deposit`);
    const { publicClient, wallet, signers, domain } = this.clients;
    // The later of this clock and the chain's: the contract compares the deadline with block time.
    const head = await publicClient.getBlock({ blockTag: "latest" });
    const now = BigInt(Math.floor(Date.now() / 1000));
    const order: DepositWithdrawal = {
      account: accountToBytes32(o.accountId),
      token: this.cfg.token,
      amount: o.amount,
      to: getAddress(o.to),
      nonce: idToBytes32(o.id),
      deadline: (head.timestamp > now ? head.timestamp : now) + BigInt(this.cfg.withdrawalTtlS),
    };
    // A pending payout whose nonce is used was paid by a transaction the queue no longer tracks:
    // never sign another order for it (and never reverse it); an operator looks.
    if (await this.nonceUsed(order.nonce)) throw new Error(`payout ${o.id}: its nonce is already used on chain while it is pending`);
    const signatures = await signDepositWithdrawal(signers, domain, order);
    try {
      await publicClient.simulateContract({ account: wallet.account, address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName: "withdrawDeposit", args: [order, signatures] });
    } catch (e) {
      const reason = this.clients.refusal(e);
      if (reason !== undefined) throw new PayoutRefused(o.id, reason);
      throw e;
    }
    const data = encodeFunctionData({ abi: computeMarketplaceAbi, functionName: "withdrawDeposit", args: [order, signatures] });
    const request = await wallet.prepareTransactionRequest({ account: wallet.account, chain: wallet.chain, to: this.cfg.marketplace, data });
    const wire = await wallet.signTransaction(request);
    return { txId: keccak256(wire), lifetime: order.deadline.toString(), wire };
  }

  async broadcast(prepared: PreparedPayout): Promise<void> {
    if (!prepared.wire) return; // migrated from before: the bytes were not kept; status still decides
    await this.clients.wallet.sendRawTransaction({ serializedTransaction: prepared.wire as Hex });
  }

  async status(prepared: PreparedPayout, orders: readonly PayoutOrder[]): Promise<PayoutStatus> {
    const [o] = orders;
    if (!o) throw new Error(`no payout for transaction ${prepared.txId}`);
    const nonce = idToBytes32(o.id);
    const { publicClient } = this.clients;
    const head = await publicClient.getBlock({ blockTag: "latest" });
    const depth = BigInt(this.cfg.confirmations - 1);
    const finalNumber = head.number - depth;
    const receipt = await publicClient.getTransactionReceipt({ hash: prepared.txId as Hex }).catch(() => undefined);
    if (receipt?.status === "success") return receipt.blockNumber <= finalNumber ? { state: "confirmed" } : { state: "in-flight" };
    // Paid by another copy of the order (its signatures are public once sent)?
    if (await this.nonceUsed(nonce, finalNumber)) return { state: "confirmed" };
    if (await this.nonceUsed(nonce)) return { state: "in-flight" };
    // A row migrated without its order's deadline: it can never be shown unpayable (an operator decides).
    if (!prepared.lifetime) return { state: "in-flight" };
    const deadline = BigInt(prepared.lifetime);
    const final = depth === 0n ? head : await publicClient.getBlock({ blockNumber: finalNumber });
    if (final.timestamp <= deadline) return { state: "in-flight" };
    // Past the deadline in a final block, the nonce unused there: no copy of this order can pay.
    if (receipt) return { state: "failed", reason: `reverted, and its order expired at ${deadline} unexecuted` };
    return { state: "expired" };
  }

  /** The order a stored transaction carries (tests; operators). */
  static orderOf(wire: Hex): DepositWithdrawal {
    const tx = parseTransaction(wire);
    const { args } = decodeFunctionData({ abi: computeMarketplaceAbi, data: tx.data! });
    return (args as readonly [DepositWithdrawal, unknown])[0];
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
}
