/**
 * SolanaChain over litesvm (an in-process SVM with the real SPL Token, ATA and Memo programs), for
 * tests and the fee bench: no validator runs here. litesvm has no signature index, so this adapter
 * keeps one: every transaction sent through it is recorded under each account it touched, with its
 * slot and outcome, and the token accounts it touched as they are after it. Every transaction
 * lands in its own slot and is final at once.
 *
 * litesvm has no fee market either: `priorityFees` is what getRecentPrioritizationFees answers.
 * Simulations run on litesvm (`simulateTransaction`, nothing committed).
 *
 * Test hooks: `dropNext()` makes the next send vanish (the network lost it: never executed, never
 * indexed), `expireBlockhash()` moves to a new blockhash (the old one can no longer land).
 */
import { type Transaction, getAddressDecoder, getBase58Decoder, getBase64Encoder, getCompiledTransactionMessageDecoder, getTransactionDecoder } from "@solana/kit";
import { LiteSVM } from "litesvm";
import type { SolanaChain, SolanaInstructionView, SolanaSignatureInfo, SolanaSignatureStatus, SolanaTransactionView } from "../../../src/chains/solana/chain";
import { TOKEN_PROGRAMS } from "../../../src/chains/solana/chain";

interface Recorded {
  view: SolanaTransactionView;
  err: string | null;
  computeUnits: bigint;
}

export class LiteSvmChain implements SolanaChain {
  readonly svm: LiteSVM;
  /** Every landed transaction by signature. */
  readonly landed = new Map<string, Recorded>();
  /** Address → signatures of landed transactions that touched it, oldest first. */
  private readonly index = new Map<string, SolanaSignatureInfo[]>();
  private dropping = 0;
  /** Sends that reached the adapter (dropped ones included). */
  sends = 0;
  /**
   * The cluster's fee market, which litesvm does not have: the per-slot priority fees
   * (micro-lamports per compute unit) getRecentPrioritizationFees answers, set by a test.
   */
  priorityFees: bigint[] = [];
  /** The accounts each getRecentPrioritizationFees call asked about. */
  readonly feeQueries: string[][] = [];
  simulations = 0;
  /** Make simulateComputeUnits throw (an RPC that cannot simulate). */
  simulationFails = false;

  constructor(svm = new LiteSVM()) {
    this.svm = svm;
  }

  dropNext(n = 1): void {
    this.dropping += n;
  }

  expireBlockhash(): void {
    this.svm.expireBlockhash();
  }

  /** Sends a kit Transaction (tests' own transfers); returns the recorded outcome or throws when it did not land. */
  sendKit(tx: Transaction): Recorded {
    const signature = getBase58Decoder().decode(Object.values(tx.signatures)[0]!);
    const message = getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
    if (message.version === 1) throw new Error("v1 transactions are not indexed");
    const keys = message.staticAccounts as string[];
    const before = new Map(keys.flatMap((address) => this.tokenAccount(address)).map((t) => [t.address, t.amount]));
    const result = this.svm.sendTransaction(tx);
    const failed = "err" in result;
    const err = failed ? result.err() : null;
    // Only a failure inside an instruction means it landed (fee charged); others never executed.
    if (failed && !(typeof err === "object" && err !== null && "index" in err)) throw new Error(`transaction ${signature} rejected: ${result.toString()}`);
    const slot = this.svm.getClock().slot;
    const instructions: SolanaInstructionView[] = message.instructions.map((ix) => ({
      programAddress: keys[ix.programAddressIndex]!,
      accounts: (ix.accountIndices ?? []).map((i) => keys[i]!),
      data: new Uint8Array(ix.data ?? []),
    }));
    const tokenAccounts = keys.flatMap((address) => this.tokenAccount(address)).map(({ amount, ...t }) => ({ ...t, amountBefore: before.get(t.address) ?? 0n, amountAfter: amount }));
    const rec: Recorded = {
      view: { signature, slot, failed, instructions, tokenAccounts },
      err: err ? err.toString() : null,
      computeUnits: failed ? 0n : (result as { computeUnitsConsumed(): bigint }).computeUnitsConsumed(),
    };
    this.landed.set(signature, rec);
    for (const address of new Set(keys)) {
      const list = this.index.get(address) ?? [];
      list.push({ signature, slot, failed });
      this.index.set(address, list);
    }
    this.svm.warpToSlot(slot + 1n);
    return rec;
  }

  async signaturesForAddress(address: string, opts: { until?: string; before?: string; limit: number }): Promise<SolanaSignatureInfo[]> {
    const newestFirst = [...(this.index.get(address) ?? [])].reverse();
    let start = 0;
    if (opts.before) start = newestFirst.findIndex((s) => s.signature === opts.before) + 1;
    const out: SolanaSignatureInfo[] = [];
    for (const s of newestFirst.slice(start)) {
      if (s.signature === opts.until || out.length >= opts.limit) break;
      out.push(s);
    }
    return out;
  }

  async finalizedTransaction(signature: string): Promise<SolanaTransactionView | null> {
    return this.landed.get(signature)?.view ?? null;
  }

  async latestBlockhash() {
    return { blockhash: this.svm.latestBlockhash() as string, lastValidBlockHeight: this.svm.getClock().slot + 150n };
  }

  async isBlockhashValid(blockhash: string): Promise<boolean> {
    return blockhash === this.svm.latestBlockhash();
  }

  async sendTransaction(wireBase64: string): Promise<void> {
    this.sends++;
    const tx = getTransactionDecoder().decode(getBase64Encoder().encode(wireBase64));
    if (this.dropping > 0) {
      this.dropping--;
      return;
    }
    const signature = getBase58Decoder().decode(Object.values(tx.signatures)[0]!);
    if (this.landed.has(signature)) return; // a validator drops a duplicate of a landed transaction
    this.sendKit(tx);
  }

  async signatureStatuses(signatures: string[]): Promise<Array<SolanaSignatureStatus | null>> {
    return signatures.map((s) => {
      const r = this.landed.get(s);
      return r ? { slot: r.view.slot, finalized: true, err: r.err } : null;
    });
  }

  async accountsExist(addresses: string[]): Promise<boolean[]> {
    return addresses.map((a) => this.svm.getAccount(a as never).exists);
  }

  async mintDecimals(mint: string): Promise<number> {
    const acc = this.svm.getAccount(mint as never);
    if (!acc.exists) throw new Error(`mint ${mint} not found`);
    return acc.data[44]!;
  }

  /** A token account (SPL Token or Token-2022, extensions included) as it is now, or nothing. */
  private tokenAccount(address: string): Array<{ address: string; mint: string; owner: string; amount: bigint }> {
    const acc = this.svm.getAccount(address as never);
    if (!acc.exists || !(TOKEN_PROGRAMS as readonly string[]).includes(acc.programAddress)) return [];
    // 165 bytes, or (Token-2022 with extensions) longer with account type 2 (Account) at byte 165.
    if (!(acc.data.length === 165 || (acc.data.length > 165 && acc.data[165] === 2))) return [];
    const decodeAddress = getAddressDecoder();
    const amount = new DataView(acc.data.buffer, acc.data.byteOffset + 64, 8).getBigUint64(0, true);
    return [{ address, mint: decodeAddress.decode(acc.data.slice(0, 32)), owner: decodeAddress.decode(acc.data.slice(32, 64)), amount }];
  }

  async account(address: string) {
    const acc = this.svm.getAccount(address as never);
    return acc.exists ? { programAddress: acc.programAddress as string, data: new Uint8Array(acc.data) } : null;
  }

  async recentPrioritizationFees(writableAccounts: string[]): Promise<bigint[]> {
    this.feeQueries.push(writableAccounts);
    return [...this.priorityFees];
  }

  async simulateComputeUnits(wireBase64: string): Promise<bigint | null> {
    this.simulations++;
    if (this.simulationFails) throw new Error("simulation unavailable (test)");
    const tx = getTransactionDecoder().decode(getBase64Encoder().encode(wireBase64));
    const result = this.svm.simulateTransaction(tx);
    return result.meta().computeUnitsConsumed();
  }

  /** Compute units a landed transaction consumed. */
  computeUnits(signature: string): bigint {
    const r = this.landed.get(signature);
    if (!r) throw new Error(`no landed transaction ${signature}`);
    return r.computeUnits;
  }
}
