/**
 * The Solana payout rail: SPL Token / Token-2022 `TransferChecked`s from the marketplace's token account (the
 * settlement key's associated token account for the mint), signed by the settlement key, one per
 * recipient, as many recipients per transaction as fit its 1232 bytes (each preceded by an
 * idempotent create of the recipient's associated token account, paid by the settlement key, so a
 * wallet that never held the token can be paid).
 *
 * The create is left out for a recipient whose token account already exists (105 compute units a
 * recipient instead of ~5,000, 19 recipients a transaction instead of 9); if that account is closed
 * before the transaction lands, the batch lands failed and its debits are reversed.
 *
 * With a compute-budget policy (the server always sets one) each transaction starts with
 * SetComputeUnitLimit — what a simulation of the same transaction consumed plus 20 % and 1,000 units
 * (FALLBACK_UNITS when the simulation gives nothing) — and SetComputeUnitPrice: a percentile of the
 * priority fees recently paid for the accounts it writes, capped (a cap of 0 leaves it out). The fee
 * is chosen once per signed transaction: a rebroadcast sends the same bytes, and a higher fee is
 * only ever bid by a new transaction after the old one's blockhash expired unlanded, so the payout
 * rows (the idempotency key) are paid once whatever the fee. Works with SPL Token and Token-2022
 * mints alike (`tokenProgram`: instructions and associated token accounts under the mint's owner).
 *
 * A transaction's signature is known before it is sent; the queue (chains/payouts.ts) stores it
 * with the blockhash first. `status` decides `expired` only when the blockhash can no longer land
 * (checked BEFORE the signature status, so a transaction that landed just before the blockhash
 * expired is seen) and the signature was never seen.
 */
import {
  type Address,
  type Blockhash,
  type Instruction,
  type KeyPairSigner,
  type TransactionSigner,
  address,
  appendTransactionMessageInstructions,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  getTransactionMessageSize,
  isAddress,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from "@solana/kit";
import { getSetComputeUnitLimitInstruction, getSetComputeUnitPriceInstruction } from "@solana-program/compute-budget";
import { findAssociatedTokenPda, getCreateAssociatedTokenIdempotentInstruction, getTransferCheckedInstruction } from "@solana-program/token";
import type { PayoutOrder, PayoutRail, PayoutStatus, PreparedPayout } from "../family";
import { type SolanaChain, TOKEN_PROGRAM, type TokenProgram } from "./chain";

/** Legacy/v0 transactions: 1232 bytes on the wire, signatures included. */
const SIZE_LIMIT = 1232;
/** The most compute units a transaction may ask for (and what the simulation probe asks for). */
export const MAX_COMPUTE_UNITS = 1_400_000;
/**
 * The limit when the simulation gives no figure: measured on litesvm (bench/solana-fees.ts) at
 * 105 / 3,109 CU per SPL / Token-2022-with-fee TransferChecked and ~14,000 / ~20,400 CU per
 * associated-token-account create, with room for a cluster's slower program builds.
 */
export const FALLBACK_UNITS = { base: 1_000, transfer: 12_000, createAccount: 40_000 };

/** The compute-unit limit for a transaction whose simulation consumed `units`: 20 % + 1,000 headroom. */
export function computeUnitLimit(units: bigint): number {
  return Math.min(MAX_COMPUTE_UNITS, Math.ceil(Number(units) * 1.2) + 1_000);
}

/** The `percentile` (0–100) of recent per-slot priority fees (0 when there are none), capped at `max`. */
export function priorityFeeFrom(recent: bigint[], percentile: number, max: bigint): bigint {
  if (max <= 0n || recent.length === 0) return 0n;
  const sorted = [...recent].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1));
  const fee = sorted[at]!;
  return fee > max ? max : fee;
}

/** How payout transactions bid for block space (SOLANA_PRIORITY_FEE_*). */
export interface ComputeBudgetPolicy {
  /** The highest compute-unit price paid, micro-lamports; 0: no SetComputeUnitPrice (no priority fee). */
  maxMicroLamports: bigint;
  /** Which percentile of the fees recently paid for the same accounts to bid (0–100). */
  percentile: number;
}

export async function associatedTokenAccount(owner: string, mint: string, tokenProgram: TokenProgram = TOKEN_PROGRAM): Promise<Address> {
  const [ata] = await findAssociatedTokenPda({ owner: address(owner), mint: address(mint), tokenProgram: address(tokenProgram) });
  return ata;
}

export class SolanaPayoutRail implements PayoutRail {
  readonly family = "solana" as const;

  constructor(
    private readonly chain: SolanaChain,
    /** The cluster's network name (ExternalPayout.network). */
    readonly network: string,
    readonly token: string,
    private readonly settlement: KeyPairSigner | TransactionSigner,
    private readonly opts: {
      /** Create a missing recipient token account in the batch (default true); false: the recipient must have one. */
      createRecipientAccounts?: boolean;
      maxPerTransaction?: number;
      /** The mint's owner program (default SPL Token). */
      tokenProgram?: TokenProgram;
      /** Set: every transaction carries SetComputeUnitLimit (from a simulation) and, with a price above 0, SetComputeUnitPrice. */
      computeBudget?: ComputeBudgetPolicy;
    } = {},
  ) {}

  private get tokenProgram(): TokenProgram {
    return this.opts.tokenProgram ?? TOKEN_PROGRAM;
  }

  isAddress(to: string): boolean {
    return isAddress(to);
  }

  async fit(orders: PayoutOrder[]): Promise<PayoutOrder[]> {
    const max = Math.min(orders.length, this.opts.maxPerTransaction ?? 20);
    const exists = await this.existing(orders.slice(0, max));
    let fits = 0;
    for (let n = 1; n <= max; n++) {
      // The largest budget instructions this transaction can carry (their sizes do not depend on the values).
      const budget = this.opts.computeBudget ? { units: MAX_COMPUTE_UNITS, microLamports: this.opts.computeBudget.maxMicroLamports } : undefined;
      const message = await this.message(orders.slice(0, n), "11111111111111111111111111111111" as Blockhash, 0, 0n, exists, budget);
      // The compiled size counts the signature slots too.
      if (getTransactionMessageSize(message) > SIZE_LIMIT) break;
      fits = n;
    }
    return orders.slice(0, fits);
  }

  async prepare(orders: PayoutOrder[]): Promise<PreparedPayout> {
    const { blockhash, lastValidBlockHeight } = await this.chain.latestBlockhash();
    const decimals = await this.chain.mintDecimals(this.token);
    const existing = await this.existing(orders);
    const build = (budget?: { units: number; microLamports: bigint }) => this.message(orders, blockhash as Blockhash, decimals, lastValidBlockHeight, existing, budget);
    let budget: { units: number; microLamports: bigint } | undefined;
    if (this.opts.computeBudget) {
      const microLamports = await this.priorityFee(orders);
      // Simulate the transaction as it will be sent (asking for the most units), then ask for what it used plus headroom.
      const probe = await signTransactionMessageWithSigners(await build({ units: MAX_COMPUTE_UNITS, microLamports }));
      const simulated = await this.chain.simulateComputeUnits(getBase64EncodedWireTransaction(probe)).catch(() => null);
      budget = { units: simulated !== null && simulated > 0n ? computeUnitLimit(simulated) : this.fallbackUnits(orders, existing), microLamports };
    }
    const tx = await signTransactionMessageWithSigners(await build(budget));
    return {
      txId: getSignatureFromTransaction(tx),
      lifetime: JSON.stringify({
        blockhash,
        lastValidBlockHeight: lastValidBlockHeight.toString(),
        ...(budget ? { computeUnitLimit: budget.units, microLamportsPerUnit: budget.microLamports.toString() } : {}),
      }),
      wire: getBase64EncodedWireTransaction(tx),
    };
  }

  /** The compute-unit price to bid: a percentile of recent fees on the accounts every payout writes, capped. */
  private async priorityFee(orders: PayoutOrder[]): Promise<bigint> {
    const policy = this.opts.computeBudget!;
    if (policy.maxMicroLamports <= 0n) return 0n;
    const source = await associatedTokenAccount(this.settlement.address, this.token, this.tokenProgram);
    const destinations = await Promise.all(orders.map((o) => associatedTokenAccount(o.to, this.token, this.tokenProgram)));
    const recent = await this.chain.recentPrioritizationFees([this.settlement.address, source, ...destinations].slice(0, 128));
    return priorityFeeFrom(recent, policy.percentile, policy.maxMicroLamports);
  }

  private fallbackUnits(orders: PayoutOrder[], existing: Map<string, boolean>): number {
    const creates = [...existing.values()].filter((exists) => !exists).length;
    return Math.min(MAX_COMPUTE_UNITS, FALLBACK_UNITS.base + orders.length * FALLBACK_UNITS.transfer + creates * FALLBACK_UNITS.createAccount);
  }

  async broadcast(prepared: PreparedPayout): Promise<void> {
    await this.chain.sendTransaction(prepared.wire);
  }

  async status(prepared: PreparedPayout): Promise<PayoutStatus> {
    const { blockhash } = JSON.parse(prepared.lifetime) as { blockhash: string };
    // Validity first: if the blockhash is already dead, any landing happened before this call.
    const canStillLand = await this.chain.isBlockhashValid(blockhash);
    const [status] = await this.chain.signatureStatuses([prepared.txId]);
    if (status) {
      if (!status.finalized) return { state: "in-flight" };
      return status.err ? { state: "failed", reason: status.err } : { state: "confirmed" };
    }
    return canStillLand ? { state: "in-flight" } : { state: "expired" };
  }

  /** Which recipients' token accounts exist already (none asked when creates are off). */
  private async existing(orders: PayoutOrder[]): Promise<Map<string, boolean>> {
    const exists = new Map<string, boolean>();
    if (!(this.opts.createRecipientAccounts ?? true)) return exists;
    const unique = [...new Set(await Promise.all(orders.map((o) => associatedTokenAccount(o.to, this.token, this.tokenProgram))))];
    const found = await this.chain.accountsExist(unique);
    unique.forEach((d, i) => exists.set(d, found[i] ?? false));
    return exists;
  }

  private async message(
    orders: PayoutOrder[],
    blockhash: Blockhash,
    decimals: number,
    lastValidBlockHeight: bigint,
    existing: Map<string, boolean>,
    budget?: { units: number; microLamports: bigint },
  ) {
    const mint = address(this.token);
    const tokenProgram = address(this.tokenProgram);
    const source = await associatedTokenAccount(this.settlement.address, this.token, this.tokenProgram);
    const instructions: Instruction[] = [];
    if (budget) {
      instructions.push(getSetComputeUnitLimitInstruction({ units: budget.units }));
      if (budget.microLamports > 0n) instructions.push(getSetComputeUnitPriceInstruction({ microLamports: budget.microLamports }));
    }
    const destinations = await Promise.all(orders.map((o) => associatedTokenAccount(o.to, mint, this.tokenProgram)));
    const exists = new Map(existing);
    for (const [i, o] of orders.entries()) {
      const owner = address(o.to);
      const destination = destinations[i]!;
      if ((this.opts.createRecipientAccounts ?? true) && !exists.get(destination)) {
        exists.set(destination, true); // a second payout to the same wallet in the batch needs no second create
        instructions.push(getCreateAssociatedTokenIdempotentInstruction({ payer: this.settlement, ata: destination, owner, mint, tokenProgram }));
      }
      instructions.push(getTransferCheckedInstruction({ source, mint, destination, authority: this.settlement, amount: o.amount, decimals }, { programAddress: tokenProgram }));
    }
    return pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(this.settlement, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash, lastValidBlockHeight }, m),
      (m) => appendTransactionMessageInstructions(instructions, m),
    );
  }
}
