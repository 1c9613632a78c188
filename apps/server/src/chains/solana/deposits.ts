/**
 * Solana deposits the way exchanges take them: an SPL Token `Transfer` / `TransferChecked` into the
 * marketplace's deposit token account (the deposit owner's associated token account for the
 * configured mint), with a Memo instruction in the same transaction whose text is the Stun account
 * id. The source reports every such transfer of a finalized, successful transaction, oldest first,
 * with the memo as the account tag (null when there is none); external-deposits.ts decides.
 *
 * The cursor is the last signature processed. `getSignaturesForAddress(until = cursor)` lists the
 * newer ones newest first; the source pages back to the cursor and returns the oldest `limit`.
 * Transfers made by another program through CPI (inner instructions) are not read.
 */
import type { DepositScan, DepositSource, ObservedDeposit } from "../family";
import { MEMO_PROGRAM_V1, MEMO_PROGRAM_V2, type SolanaChain, type SolanaSignatureInfo, type SolanaTransactionView, TOKEN_PROGRAM } from "./chain";

const PAGE = 1000;
const TRANSFER = 3;
const TRANSFER_CHECKED = 12;

export class SolanaDepositSource implements DepositSource {
  readonly family = "solana" as const;
  readonly cursorId: string;

  constructor(
    private readonly chain: SolanaChain,
    readonly network: string,
    /** The watched token account (the deposit owner's ATA for the mint). */
    private readonly depositAccount: string,
  ) {
    this.cursorId = `deposits:solana:${network}:${depositAccount}`;
  }

  async scan(cursor: string | null, limit: number): Promise<DepositScan> {
    const newestFirst: SolanaSignatureInfo[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await this.chain.signaturesForAddress(this.depositAccount, { until: cursor ?? undefined, before, limit: PAGE });
      newestFirst.push(...page);
      if (page.length < PAGE) break;
      before = page[page.length - 1]!.signature;
    }
    const batch = newestFirst.reverse().slice(0, limit);
    const deposits: ObservedDeposit[] = [];
    for (const sig of batch) {
      if (sig.failed) continue;
      const tx = await this.chain.finalizedTransaction(sig.signature);
      if (!tx) throw new Error(`finalized transaction ${sig.signature} could not be read`);
      if (tx.failed) continue;
      deposits.push(...this.depositsOf(tx));
    }
    return { deposits, cursor: batch.length > 0 ? batch[batch.length - 1]!.signature : cursor };
  }

  /** The transfers into the deposit account in one transaction, tagged with its memo. */
  depositsOf(tx: SolanaTransactionView): ObservedDeposit[] {
    const memoIx = tx.instructions.find((ix) => ix.programAddress === MEMO_PROGRAM_V2 || ix.programAddress === MEMO_PROGRAM_V1);
    const memo = memoIx ? new TextDecoder("utf-8", { fatal: false }).decode(memoIx.data) : null;
    const out: ObservedDeposit[] = [];
    tx.instructions.forEach((ix, index) => {
      if (ix.programAddress !== TOKEN_PROGRAM || ix.data.length < 9) return;
      const kind = ix.data[0];
      let destination: string | undefined;
      let mint: string | undefined;
      let authority: string | undefined;
      if (kind === TRANSFER) [, destination, authority] = ix.accounts;
      else if (kind === TRANSFER_CHECKED) [, mint, destination, authority] = ix.accounts;
      else return;
      if (destination !== this.depositAccount) return;
      mint ??= tx.tokenAccounts.find((a) => a.address === destination)?.mint;
      const amount = new DataView(ix.data.buffer, ix.data.byteOffset + 1, 8).getBigUint64(0, true);
      out.push({
        family: "solana",
        network: this.network,
        txId: tx.signature,
        index,
        accountTag: memo,
        token: mint ?? "unknown",
        amount,
        from: authority ?? "unknown",
        slotOrLt: tx.slot,
        final: true,
      });
    });
    return out;
  }
}
