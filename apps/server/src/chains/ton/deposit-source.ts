/**
 * TON deposits (docs/CHAIN.md "TON"): the marketplace contract (contracts-ton) logs each Jetton
 * deposit as an external out message — `Deposited(account, from, amount)` when its forward payload
 * named a Stun account, `DepositUnmatched` when it did not — and this source turns them into the
 * family-neutral ObservedDeposit the ledger side credits once per (network, transaction, message).
 * Another jetton is refused by the contract itself (`DepositRejected`: it asks that jetton's wallet
 * to send the jettons back); it is reported with that wallet as its token, so the ledger records it
 * unmatched and never credits it.
 *
 * The cursor is `<lt>:<hash>` of the last transaction read. toncenter indexes committed blocks, and
 * TON's masterchain finalises them in seconds: transactions it returns are taken as final.
 */
import { Cell } from "@ton/core";
import { bytes32ToAccount, parseMarketplaceEvent } from "@stun/contracts-ton";
import type { DepositScan, DepositSource, ObservedDeposit } from "../family";
import type { TonCenter, TonTransaction } from "./toncenter";

export interface TonDepositSourceOptions {
  network: string;
  /** The marketplace contract (raw `0:…` or friendly form, as the API takes it). */
  marketplace: string;
  /** The jetton master the marketplace accepts (its jetton wallet is the only one it counts). */
  jettonMaster: string;
  api: TonCenter;
}

const parseCursor = (cursor: string | null): { lt: bigint; hash: string } | undefined => {
  if (!cursor) return undefined;
  const at = cursor.indexOf(":");
  return { lt: BigInt(cursor.slice(0, at)), hash: cursor.slice(at + 1) };
};

/** Whether the transaction ran to the end (its out messages, events included, were sent). */
const succeeded = (tx: TonTransaction): boolean => tx.description.aborted !== true && tx.description.compute_ph?.success !== false;

export class TonDepositSource implements DepositSource {
  readonly family = "ton" as const;
  readonly network: string;
  readonly cursorId: string;

  constructor(private readonly o: TonDepositSourceOptions) {
    this.network = o.network;
    this.cursorId = `deposits:ton:${o.network}:${o.marketplace}`;
  }

  async scan(cursor: string | null, limit: number): Promise<DepositScan> {
    const after = parseCursor(cursor);
    // start_lt is inclusive: the last transaction read comes back first and is skipped by its hash.
    const txs = (await this.o.api.transactions(this.o.marketplace, after?.lt, limit + 1)).filter((tx) => !after || BigInt(tx.lt) > after.lt || (BigInt(tx.lt) === after.lt && tx.hash !== after.hash));
    const deposits: ObservedDeposit[] = [];
    let last = after ? cursor : null;
    for (const tx of txs.slice(0, limit)) {
      last = `${tx.lt}:${tx.hash}`;
      if (!succeeded(tx)) continue;
      tx.out_msgs.forEach((m, index) => {
        const body = m.destination === null ? m.message_content?.body : undefined;
        if (!body) return;
        const event = parseMarketplaceEvent(Cell.fromBase64(body));
        if (event?.type !== "Deposited" && event?.type !== "DepositUnmatched" && event?.type !== "DepositRejected") return;
        deposits.push({
          family: "ton",
          network: this.network,
          txId: tx.hash,
          index,
          accountTag: event.type === "Deposited" ? (bytes32ToAccount(event.account) ?? null) : null,
          token: event.type === "DepositRejected" ? `jetton-wallet:${event.wallet.toRawString()}` : this.o.jettonMaster,
          amount: event.amount,
          from: event.from?.toRawString() ?? "",
          slotOrLt: BigInt(tx.lt),
          final: true,
        });
      });
    }
    return { deposits, cursor: last };
  }
}
