/**
 * The Solana payout rail: SPL `TransferChecked`s from the marketplace's token account (the
 * settlement key's associated token account for the mint), signed by the settlement key, one per
 * recipient, as many recipients per transaction as fit its 1232 bytes (each preceded by an
 * idempotent create of the recipient's associated token account, paid by the settlement key, so a
 * wallet that never held the token can be paid).
 *
 * The create is left out for a recipient whose token account already exists (105 compute units a
 * recipient instead of ~5,000, 19 recipients a transaction instead of 9); if that account is closed
 * before the transaction lands, the batch lands failed and its debits are reversed.
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
import { TOKEN_PROGRAM_ADDRESS, findAssociatedTokenPda, getCreateAssociatedTokenIdempotentInstruction, getTransferCheckedInstruction } from "@solana-program/token";
import type { PayoutOrder, PayoutRail, PayoutStatus, PreparedPayout } from "../family";
import type { SolanaChain } from "./chain";

/** Legacy/v0 transactions: 1232 bytes on the wire, signatures included. */
const SIZE_LIMIT = 1232;

export async function associatedTokenAccount(owner: string, mint: string): Promise<Address> {
  const [ata] = await findAssociatedTokenPda({ owner: address(owner), mint: address(mint), tokenProgram: TOKEN_PROGRAM_ADDRESS });
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
    /** createRecipientAccounts (default true): create a missing recipient token account in the batch; false: the recipient must have one. */
    private readonly opts: { createRecipientAccounts?: boolean; maxPerTransaction?: number } = {},
  ) {}

  isAddress(to: string): boolean {
    return isAddress(to);
  }

  async fit(orders: PayoutOrder[]): Promise<PayoutOrder[]> {
    const max = Math.min(orders.length, this.opts.maxPerTransaction ?? 20);
    const exists = await this.existing(orders.slice(0, max));
    let fits = 0;
    for (let n = 1; n <= max; n++) {
      const message = await this.message(orders.slice(0, n), "11111111111111111111111111111111" as Blockhash, 0, 0n, exists);
      // The compiled size counts the signature slots too.
      if (getTransactionMessageSize(message) > SIZE_LIMIT) break;
      fits = n;
    }
    return orders.slice(0, fits);
  }

  async prepare(orders: PayoutOrder[]): Promise<PreparedPayout> {
    const { blockhash, lastValidBlockHeight } = await this.chain.latestBlockhash();
    const decimals = await this.chain.mintDecimals(this.token);
    const message = await this.message(orders, blockhash as Blockhash, decimals, lastValidBlockHeight, await this.existing(orders));
    const tx = await signTransactionMessageWithSigners(message);
    return {
      txId: getSignatureFromTransaction(tx),
      lifetime: JSON.stringify({ blockhash, lastValidBlockHeight: lastValidBlockHeight.toString() }),
      wire: getBase64EncodedWireTransaction(tx),
    };
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
    const unique = [...new Set(await Promise.all(orders.map((o) => associatedTokenAccount(o.to, this.token))))];
    const found = await this.chain.accountsExist(unique);
    unique.forEach((d, i) => exists.set(d, found[i] ?? false));
    return exists;
  }

  private async message(orders: PayoutOrder[], blockhash: Blockhash, decimals: number, lastValidBlockHeight: bigint, existing: Map<string, boolean>) {
    const mint = address(this.token);
    const source = await associatedTokenAccount(this.settlement.address, this.token);
    const instructions: Instruction[] = [];
    const destinations = await Promise.all(orders.map((o) => associatedTokenAccount(o.to, mint)));
    const exists = new Map(existing);
    for (const [i, o] of orders.entries()) {
      const owner = address(o.to);
      const destination = destinations[i]!;
      if ((this.opts.createRecipientAccounts ?? true) && !exists.get(destination)) {
        exists.set(destination, true); // a second payout to the same wallet in the batch needs no second create
        instructions.push(getCreateAssociatedTokenIdempotentInstruction({ payer: this.settlement, ata: destination, owner, mint }));
      }
      instructions.push(getTransferCheckedInstruction({ source, mint, destination, authority: this.settlement, amount: o.amount, decimals }));
    }
    return pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(this.settlement, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash, lastValidBlockHeight }, m),
      (m) => appendTransactionMessageInstructions(instructions, m),
    );
  }
}
