/**
 * SolanaChain over a cluster's JSON-RPC (@solana/kit), every read at finalized commitment (kit
 * leaves `commitment: "finalized"` out of the request: it is the RPC's default).
 */
import { type Address, type Base64EncodedWireTransaction, type Signature, address, createSolanaRpc, getBase58Encoder, getBase64Encoder } from "@solana/kit";
import type { SolanaChain, SolanaInstructionView, SolanaSignatureInfo, SolanaSignatureStatus, SolanaTransactionView } from "./chain";

type TokenBalance = { accountIndex: number; mint: string; owner?: string; uiTokenAmount?: { amount: string } };
type JsonTx = {
  slot: bigint;
  meta: { err: unknown; preTokenBalances?: TokenBalance[]; postTokenBalances?: TokenBalance[]; loadedAddresses?: { writable: string[]; readonly: string[] } } | null;
  transaction: { signatures: string[]; message: { accountKeys: string[]; instructions: Array<{ programIdIndex: number; accounts: number[]; data: string }> } };
};

export function rpcSolanaChain(url: string): SolanaChain {
  const rpc = createSolanaRpc(url);
  const base58 = getBase58Encoder();
  const decimals = new Map<string, number>();
  return {
    async signaturesForAddress(addr, opts): Promise<SolanaSignatureInfo[]> {
      const rows = await rpc
        .getSignaturesForAddress(address(addr), {
          commitment: "finalized",
          limit: opts.limit,
          ...(opts.until ? { until: opts.until as Signature } : {}),
          ...(opts.before ? { before: opts.before as Signature } : {}),
        })
        .send();
      return rows.map((r) => ({ signature: r.signature, slot: BigInt(r.slot), failed: r.err !== null }));
    },
    async finalizedTransaction(signature): Promise<SolanaTransactionView | null> {
      const tx = (await rpc.getTransaction(signature as Signature, { commitment: "finalized", encoding: "json", maxSupportedTransactionVersion: 0 }).send()) as unknown as JsonTx | null;
      if (!tx) return null;
      const keys = [...tx.transaction.message.accountKeys, ...(tx.meta?.loadedAddresses?.writable ?? []), ...(tx.meta?.loadedAddresses?.readonly ?? [])];
      const instructions: SolanaInstructionView[] = tx.transaction.message.instructions.map((ix) => ({
        programAddress: keys[Number(ix.programIdIndex)]!,
        accounts: ix.accounts.map((i) => keys[Number(i)]!),
        data: new Uint8Array(base58.encode(ix.data)),
      }));
      return {
        signature,
        slot: BigInt(tx.slot),
        failed: tx.meta?.err != null,
        instructions,
        tokenAccounts: (tx.meta?.postTokenBalances ?? []).map((b) => {
          const before = tx.meta?.preTokenBalances?.find((p) => Number(p.accountIndex) === Number(b.accountIndex));
          return {
            address: keys[Number(b.accountIndex)]!,
            mint: b.mint,
            owner: b.owner ?? "",
            amountBefore: BigInt(before?.uiTokenAmount?.amount ?? "0"),
            amountAfter: BigInt(b.uiTokenAmount?.amount ?? "0"),
          };
        }),
      };
    },
    async latestBlockhash() {
      const { value } = await rpc.getLatestBlockhash({ commitment: "finalized" }).send();
      return { blockhash: value.blockhash, lastValidBlockHeight: BigInt(value.lastValidBlockHeight) };
    },
    async isBlockhashValid(blockhash) {
      const { value } = await rpc.isBlockhashValid(blockhash as Parameters<typeof rpc.isBlockhashValid>[0], { commitment: "finalized" }).send();
      return value;
    },
    async sendTransaction(wireBase64) {
      // No preflight: a payout that would fail lands failed (its fee paid), a definite outcome the
      // queue reverses; refused at preflight it would only expire and be re-sent, again and again.
      await rpc.sendTransaction(wireBase64 as Base64EncodedWireTransaction, { encoding: "base64", skipPreflight: true }).send();
    },
    async signatureStatuses(signatures): Promise<Array<SolanaSignatureStatus | null>> {
      const { value } = await rpc.getSignatureStatuses(signatures as Signature[], { searchTransactionHistory: true }).send();
      return value.map((s) =>
        s
          ? {
              slot: BigInt(s.slot),
              finalized: s.confirmationStatus === "finalized",
              err: s.err ? JSON.stringify(s.err, (_k, v) => (typeof v === "bigint" ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v)) : null,
            }
          : null,
      );
    },
    async accountsExist(addresses) {
      const out: boolean[] = [];
      for (let i = 0; i < addresses.length; i += 100) {
        const { value } = await rpc.getMultipleAccounts(addresses.slice(i, i + 100) as Address[], { commitment: "confirmed", encoding: "base64", dataSlice: { offset: 0, length: 0 } }).send();
        out.push(...value.map((a) => a !== null));
      }
      return out;
    },
    async mintDecimals(mint) {
      const known = decimals.get(mint);
      if (known !== undefined) return known;
      const { value } = await rpc.getAccountInfo(mint as Address, { commitment: "finalized", encoding: "base64" }).send();
      if (!value) throw new Error(`mint ${mint} not found`);
      const data = getBase64Encoder().encode(value.data[0]);
      const d = data[44];
      if (d === undefined) throw new Error(`${mint} is not a mint`);
      decimals.set(mint, d);
      return d;
    },
    async account(addr) {
      const { value } = await rpc.getAccountInfo(address(addr), { commitment: "finalized", encoding: "base64" }).send();
      return value ? { programAddress: value.owner, data: new Uint8Array(getBase64Encoder().encode(value.data[0])) } : null;
    },
    async recentPrioritizationFees(writableAccounts) {
      const rows = await rpc.getRecentPrioritizationFees(writableAccounts.map((a) => address(a))).send();
      return rows.map((r) => BigInt(r.prioritizationFee));
    },
    async simulateComputeUnits(wireBase64) {
      const { value } = await rpc
        .simulateTransaction(wireBase64 as Base64EncodedWireTransaction, { encoding: "base64", commitment: "confirmed", sigVerify: false, replaceRecentBlockhash: false })
        .send();
      return value.unitsConsumed === undefined || value.unitsConsumed === null ? null : BigInt(value.unitsConsumed);
    },
  };
}
