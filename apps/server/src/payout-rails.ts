/**
 * The payout queues of the non-EVM chain families (apps/server/src/chains), as the rest of the
 * server sees them through the AppContext: a root module, so context.ts imports nothing of chains/.
 */
export interface PayoutRailPort {
  /** The network payouts go out on (Solana: devnet | mainnet-beta …; TON: mainnet | testnet). */
  readonly network: string;
  /** Debits the account and queues the payout (chains/payouts.ts PayoutQueue.request). */
  request(accountId: string, to: string, amount: bigint): Promise<{ id: string }>;
}

/** Families this server pays out on; set by server.ts for each rail started with a payout key. */
export type PayoutRails = Partial<Record<"solana" | "ton", PayoutRailPort>>;
