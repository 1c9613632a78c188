/**
 * The family-neutral shape every chain family plugs into (docs/CHAIN.md "Solana", "EVM on the family-neutral core"): a deposit
 * source that reports final deposits in chain order after a durable text cursor, and a payout rail
 * that builds, broadcasts and checks one batch transaction. The ledger side (external-deposits.ts,
 * deposit-scanner.ts, payouts.ts) only ever sees these types, so TON (a contract emitting
 * Deposited(account, from, amount), M-of-N signed payouts) implements the same two interfaces.
 */

export type ChainFamily = "evm" | "solana" | "ton";
export const CHAIN_FAMILIES = ["evm", "solana", "ton"] as const satisfies readonly ChainFamily[];

/** One deposit as the chain shows it, before the ledger decides whether it is credited. */
export interface ObservedDeposit {
  family: ChainFamily;
  /** The family's network name (Solana: devnet | testnet | mainnet-beta | localnet). */
  network: string;
  /** Transaction signature (Solana) / message hash (TON) / transaction hash (EVM). */
  txId: string;
  /** Instruction / message / log index within the transaction: (txId, index) is unique. */
  index: number;
  /** The memo / forward-payload text naming the Stun account; null when there is none. */
  accountTag: string | null;
  /** Mint (Solana) / jetton master (TON) address. */
  token: string;
  /** Token base units. */
  amount: bigint;
  /** Who sent it (Solana: the source token account's authority). */
  from: string;
  /** Slot (Solana) / logical time (TON) / block number (EVM). */
  slotOrLt: bigint;
  /** Whether the chain can no longer revert it (Solana: finalized). Sources return only final ones. */
  final: boolean;
  /** Set when the source already knows it cannot be credited (recorded unmatched with this reason). */
  unmatchedReason?: string;
}

export interface DepositScan {
  /** Final deposits after the cursor, in chain order. */
  deposits: ObservedDeposit[];
  /** The position after them (unchanged when nothing new); stored as the next scan's cursor. */
  cursor: string | null;
  /**
   * The slot / block range (inclusive) this scan read completely, for sources whose chain can
   * take a final-looking deposit back (EVM: a reorg deeper than the confirmations, seen when the
   * cursor's block changed and the scan rewound). A deposit recorded in that range that the scan
   * did not return is gone: external-deposits.ts takes its credit back. Absent: nothing is checked.
   */
  covered?: { from: bigint; to: bigint };
}

/** Where deposits come from: one address (Solana token account, TON contract) of one network. */
export interface DepositSource {
  readonly family: ChainFamily;
  readonly network: string;
  /** A stable id for the durable cursor, e.g. `deposits:solana:devnet:<token account>`. */
  readonly cursorId: string;
  /**
   * Final deposits strictly after `cursor` (null: from the start), oldest first, from at most
   * `limit` transactions; never a deposit that is not final. Re-scanning the same cursor returns
   * the same deposits (the ledger side keys them by (family, network, txId, index)).
   */
  scan(cursor: string | null, limit: number): Promise<DepositScan>;
}

/** One payout as the rail sees it: the durable row's id (its idempotency key), where, how much. */
export interface PayoutOrder {
  id: string;
  /** The recipient's wallet address. */
  to: string;
  amount: bigint;
  /** The Stun account paid out (EVM: the marketplace deposit the withdrawal takes from). */
  accountId?: string;
}

/**
 * Thrown by `PayoutRail.prepare` when the chain refuses an order outright (EVM: the contract
 * reverts the call), before anything is sent. Safe to treat as "can never pay" only because the
 * queue prepares pending orders, which no earlier transaction can still pay.
 */
export class PayoutRefused extends Error {
  constructor(
    readonly orderId: string,
    readonly reason: string,
  ) {
    super(`payout ${orderId} refused by the chain: ${reason}`);
  }
}

/** A signed transaction paying a batch, not yet broadcast. */
export interface PreparedPayout {
  /** Signature (Solana) / external message hash (TON): known before broadcasting. */
  txId: string;
  /** What bounds the transaction's life, opaque text (Solana: blockhash + last valid height; TON: valid_until + seqno). */
  lifetime: string;
  /** The signed transaction (base64; EVM: 0x hex): broadcasting these bytes again can never pay twice. Empty: unknown (rows migrated from before). */
  wire: string;
}

/**
 * What the chain says about a prepared payout transaction:
 * - `confirmed`: landed and final, the payouts are made;
 * - `failed`: landed and final but the transaction failed (nothing paid; `reason` says why);
 * - `in-flight`: not final yet, or not seen while its lifetime still allows it to land;
 * - `expired`: never landed and never can (its lifetime is over): safe to pay with a new transaction.
 */
export type PayoutStatus = { state: "confirmed" } | { state: "failed"; reason: string } | { state: "in-flight" } | { state: "expired" };

/** How payouts leave the marketplace on one network; payouts.ts keeps the durable state machine. */
export interface PayoutRail {
  readonly family: ChainFamily;
  readonly network: string;
  /** The token paid out (mint / jetton master). */
  readonly token: string;
  /** The orders (a prefix of `orders`) that fit one transaction. */
  fit(orders: PayoutOrder[]): Promise<PayoutOrder[]>;
  /** Builds and signs one transaction paying every order; nothing is sent. */
  prepare(orders: PayoutOrder[]): Promise<PreparedPayout>;
  /** Sends the signed transaction (again): idempotent, since the bytes are the same. */
  broadcast(prepared: PreparedPayout): Promise<void>;
  /**
   * Where the transaction stands; `expired` only once it provably never landed and never can.
   * `orders` are the payouts it pays (EVM derives the order's nonce from the payout's id).
   */
  status(prepared: PreparedPayout, orders: readonly PayoutOrder[]): Promise<PayoutStatus>;
  /** Whether `to` is a valid recipient address on this family. */
  isAddress(to: string): boolean;
}
