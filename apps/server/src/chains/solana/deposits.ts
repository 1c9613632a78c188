/**
 * Solana deposits the way exchanges take them: an SPL Token or Token-2022 `Transfer` /
 * `TransferChecked` (/ Token-2022 `TransferCheckedWithFee`) into the
 * marketplace's deposit token account (the deposit owner's associated token account for the
 * configured mint), with a Memo instruction in the same transaction whose text is the Stun account
 * id. The source reports every such transfer of a finalized, successful transaction, oldest first,
 * with the memo as the account tag (null when there is none); external-deposits.ts decides.
 *
 * The cursor is the last signature processed. `getSignaturesForAddress(until = cursor)` lists the
 * newer ones newest first; the source pages back to the cursor and returns the oldest `limit`.
 * Transfers made by another program through CPI (inner instructions) are not read. A mint with a
 * Token-2022 transfer fee credits what the deposit account received (its balance change), not the
 * amount sent.
 */
import type { DepositScan, DepositSource, ObservedDeposit } from "../family";
import {
  MEMO_PROGRAM_V1,
  MEMO_PROGRAM_V2,
  type SolanaChain,
  type SolanaInstructionView,
  type SolanaSignatureInfo,
  type SolanaTransactionView,
  TOKEN_2022_PROGRAM,
  TOKEN_PROGRAM,
  TOKEN_PROGRAMS,
  type TokenProgram,
} from "./chain";

const PAGE = 1000;
const TRANSFER = 3;
const TRANSFER_CHECKED = 12;
/** Token-2022's TransferFeeExtension instruction and its TransferCheckedWithFee sub-instruction. */
const TRANSFER_FEE_EXTENSION = 26;
const TRANSFER_CHECKED_WITH_FEE = 1;

export class SolanaDepositSource implements DepositSource {
  readonly family = "solana" as const;
  readonly cursorId: string;

  constructor(
    private readonly chain: SolanaChain,
    readonly network: string,
    /** The watched token account (the deposit owner's ATA for the mint). */
    private readonly depositAccount: string,
    /** The mint's owner program: transfers by the other token program are recorded as another token. */
    private readonly tokenProgram: TokenProgram = TOKEN_PROGRAM,
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
    const transfers = tx.instructions.flatMap((ix, index) => {
      const t = parseTransfer(ix);
      return t && t.destination === this.depositAccount ? [{ ...t, index }] : [];
    });
    if (transfers.length === 0) return [];
    // A Token-2022 transfer fee is withheld in the receiving account: what the account kept is
    // its balance change, which is what is credited. One transfer takes the whole change; several
    // that together received less than they sent cannot be told apart and are refused.
    const account = tx.tokenAccounts.find((a) => a.address === this.depositAccount);
    const sent = transfers.reduce((s, t) => s + t.amount, 0n);
    const received = account ? account.amountAfter - account.amountBefore : sent;
    const short = received < sent;
    return transfers.map((t): ObservedDeposit => {
      const mint = t.mint ?? tx.tokenAccounts.find((a) => a.address === t.destination)?.mint ?? "unknown";
      const deposit: ObservedDeposit = {
        family: "solana",
        network: this.network,
        txId: tx.signature,
        index: t.index,
        accountTag: memo,
        // Another token program's transfer is another token, whatever its mint: never the ledger's.
        token: t.program === this.tokenProgram ? mint : `${mint} (token program ${t.program})`,
        amount: short && transfers.length === 1 ? received : t.amount,
        from: t.authority ?? "unknown",
        slotOrLt: tx.slot,
        final: true,
      };
      if (short && transfers.length > 1) {
        deposit.unmatchedReason = `${transfers.length} transfers in one transaction sent ${sent} but the deposit account received ${received} (a transfer fee): send one transfer per transaction`;
      }
      return deposit;
    });
  }
}

interface ParsedTransfer {
  program: string;
  destination: string | undefined;
  mint: string | undefined;
  authority: string | undefined;
  amount: bigint;
}

/** An SPL Token / Token-2022 Transfer, TransferChecked or (Token-2022) TransferCheckedWithFee; null for anything else. */
export function parseTransfer(ix: SolanaInstructionView): ParsedTransfer | null {
  if (!(TOKEN_PROGRAMS as readonly string[]).includes(ix.programAddress) || ix.data.length < 9) return null;
  const view = new DataView(ix.data.buffer, ix.data.byteOffset, ix.data.byteLength);
  const program = ix.programAddress;
  const kind = ix.data[0];
  if (kind === TRANSFER) {
    const [, destination, authority] = ix.accounts;
    return { program, destination, authority, mint: undefined, amount: view.getBigUint64(1, true) };
  }
  if (kind === TRANSFER_CHECKED) {
    const [, mint, destination, authority] = ix.accounts;
    return { program, destination, authority, mint, amount: view.getBigUint64(1, true) };
  }
  if (program === TOKEN_2022_PROGRAM && kind === TRANSFER_FEE_EXTENSION && ix.data[1] === TRANSFER_CHECKED_WITH_FEE && ix.data.length >= 19) {
    const [, mint, destination, authority] = ix.accounts;
    return { program, destination, authority, mint, amount: view.getBigUint64(2, true) };
  }
  return null;
}
