import { z } from "zod";

/** One on-chain settlement of a task the caller paid from its on-chain deposit (ChainSettlement). */
export const ChainSettlementViewSchema = z.object({
  taskId: z.string(),
  /** pending → submitted → confirmed → released, or failed. */
  status: z.string(),
  /** The task's cost taken from the deposit, in ledger-token base units. */
  amount: z.string(),
  /** The settleFromDeposits transaction (shared by the tasks of one batch), once sent. */
  txHash: z.string().nullable(),
  batchId: z.string().nullable(),
  /** When the payouts become releasable (the dispute window's end), once confirmed. */
  releaseAt: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  confirmedAt: z.string().nullable(),
});
export type ChainSettlementView = z.infer<typeof ChainSettlementViewSchema>;

export const ChainSettlementsQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });
export const ChainSettlementsResponseSchema = z.object({ settlements: z.array(ChainSettlementViewSchema) });

const ChainTokenSchema = z.object({ address: z.string(), symbol: z.string(), decimals: z.number().int() });

/**
 * GET /api/v1/chain: `{ enabled: false }`, or the chain browsers and clients talk to (the server's
 * ChainInfo) and `depositsScannedTo`, the last block the deposit scanner has processed. Loose:
 * fields the chain adapter adds (new contracts) pass through every surface.
 */
export const ChainStatusSchema = z.union([
  z.object({ enabled: z.literal(false) }),
  z.looseObject({
    enabled: z.literal(true),
    /** `local`, `base`, … (CHAIN). */
    network: z.string(),
    chainId: z.number().int(),
    name: z.string(),
    /** The RPC URL for browsers. */
    rpcUrl: z.string(),
    explorerUrl: z.string().optional(),
    marketplace: z.string(),
    /** The token deposits are credited in (zero address: ETH). */
    ledgerToken: z.string(),
    /** The token providers stake in Staking: STUN, or the ledger token (then the ledger counts on-chain stake: docs/CHAIN.md "Stake on chain"). */
    stakeToken: ChainTokenSchema,
    /** STUN (stake, governance), when Staking takes it. */
    stunToken: ChainTokenSchema.optional(),
    tokens: z.array(ChainTokenSchema),
    treasury: z.string(),
    confirmations: z.number().int(),
    /** Seconds between a settlement and its payouts becoming claimable. */
    disputeWindowSeconds: z.number(),
    /** A block number, as decimal text. */
    depositsScannedTo: z.string(),
  }),
]);
export type ChainStatus = z.infer<typeof ChainStatusSchema>;

/**
 * `GET /chain/conservation`: the last comparison of the ledger with the chain (docs/CHAIN.md
 * "Conservation"), in aggregate — each disagreement's detail (accounts, wallets) is in the server's
 * log only. Amounts in base units, decimal text. A disagreement seen once can be a change in flight.
 */
export const ChainConservationSchema = z.object({
  checkedAt: z.string(),
  chainId: z.number().int(),
  token: z.string(),
  /** Per term: what the ledger expects the marketplace to hold, and what it holds. */
  terms: z.array(z.object({ name: z.string(), ledger: z.string(), chain: z.string() })),
  /** The marketplace's balance of the token (covers the terms, plus claimable credits and the rest). */
  holdings: z.string(),
  /** How many terms disagree (0: the books agree). */
  mismatches: z.number().int(),
  /** On-chain stake the ledger counts (null when it counts none: Staking takes another token). */
  stake: z
    .object({ blockNumber: z.string(), wallets: z.number().int(), onChain: z.string(), counted: z.string(), slashedOnChain: z.string(), slashedCounted: z.string(), violations: z.number().int() })
    .nullable(),
});
export type ChainConservation = z.infer<typeof ChainConservationSchema>;

/** One on-chain deposit credited (or not) to the caller's account. */
export const ChainDepositViewSchema = z.object({
  txHash: z.string(),
  logIndex: z.number().int(),
  blockNumber: z.string(),
  from: z.string(),
  /** Token base units, as decimal text. */
  amount: z.string(),
  /** credited | unmatched; after a reorg deeper than the confirmations: reversed | shortfall | dropped (docs/CHAIN.md). */
  status: z.string(),
  createdAt: z.string(),
});

/** GET /api/v1/chain/account: the caller's bytes32 deposit account, linked wallet, on-chain balance and latest deposits. */
export const ChainAccountSchema = z.object({
  accountId: z.string(),
  depositAccount: z.string(),
  walletAddress: z.string().nullable(),
  /** Base units, as decimal text. */
  onChain: z.object({ deposited: z.string(), settled: z.string(), withdrawn: z.string(), available: z.string() }),
  /**
   * The linked wallet's stake in Staking as the server last read it (base units, decimal text; null:
   * no linked wallet or no stake seen). `counted`: its `active` part backs this account's work (in
   * its ledger stake) — only when Staking takes the ledger token and the wallet is this account's.
   */
  stake: z.object({ wallet: z.string(), active: z.string(), unbonding: z.string(), slashed: z.string(), counted: z.boolean() }).nullable(),
  deposits: z.array(ChainDepositViewSchema),
});
export type ChainAccount = z.infer<typeof ChainAccountSchema>;

/** A withdrawal of on-chain deposit to the account's linked wallet. */
export const WithdrawalViewSchema = z.object({
  id: z.string(),
  /** Base units, as decimal text. */
  amount: z.string(),
  to: z.string(),
  /** pending → sent (its transaction stored, then broadcast) → confirmed, or failed (debit reversed) (chain/withdrawals.ts). */
  status: z.string(),
  txHash: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
});
export type WithdrawalView = z.infer<typeof WithdrawalViewSchema>;
export const ChainWithdrawalsResponseSchema = z.object({ withdrawals: z.array(WithdrawalViewSchema) });

/** Chain families the ledger pays out on besides the EVM marketplace (docs/CHAIN.md). */
export const PAYOUT_FAMILIES = ["solana", "ton"] as const;

/** A positive amount of a chain family's token in integer base units (one ledger unit each), decimal text under 2⁶³. */
export const PositiveBaseUnitsSchema = z.string().regex(/^[1-9]\d{0,18}$/, "a positive amount of integer base units");

/** POST /chain/payouts: pay that much of the caller's balance to its linked wallet of `family`. */
export const ExternalPayoutRequestSchema = z.object({
  family: z.enum(PAYOUT_FAMILIES),
  /** Base units of the family's configured token (one ledger unit each). */
  amount: PositiveBaseUnitsSchema,
});
export type ExternalPayoutRequest = z.infer<typeof ExternalPayoutRequestSchema>;

/** One payout to a wallet on Solana or TON: pending → sent → confirmed, or failed (refunded). */
export const ExternalPayoutViewSchema = z.object({
  id: z.string(),
  family: z.string(),
  network: z.string(),
  to: z.string(),
  amount: z.string(),
  status: z.string(),
  /** The transaction paying it (shared by its batch), once signed. */
  txId: z.string().nullable(),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  confirmedAt: z.string().nullable(),
});
export type ExternalPayoutView = z.infer<typeof ExternalPayoutViewSchema>;
export const ExternalPayoutsResponseSchema = z.object({ payouts: z.array(ExternalPayoutViewSchema) });

/** How to deposit on Solana to the caller's account (docs/CHAIN.md "Solana"). */
export const SolanaDepositInfoSchema = z.object({
  network: z.string(),
  /** The JSON-RPC endpoint the server reads (the web app builds and sends the deposit through it). */
  rpcUrl: z.string(),
  /** The SPL token credited, base unit for base unit. */
  mint: z.string(),
  /** The wallet owning the deposit token account. */
  depositOwner: z.string(),
  /** The token program that owns the mint (SPL Token or Token-2022): it runs the transfer, and the token accounts are its. */
  tokenProgram: z.string(),
  /** The mint's decimals (a `TransferChecked` names them). */
  decimals: z.number().int().min(0).max(255),
  /** The deposit token account: the associated token account of depositOwner for mint under tokenProgram (the transfer's destination). */
  depositAccount: z.string(),
  /** The Memo instruction's text: the Stun account id. */
  memo: z.string(),
  /** The commitment a deposit needs before it is credited. */
  confirmation: z.literal("finalized"),
});
export type SolanaDepositInfo = z.infer<typeof SolanaDepositInfoSchema>;

/** How to deposit on TON to the caller's account (docs/CHAIN.md "TON"). */
export const TonDepositInfoSchema = z.object({
  network: z.string(),
  /** The marketplace contract (the jetton transfer's destination), user-friendly bounceable form. */
  marketplace: z.string(),
  /** The accepted jetton master, user-friendly form. */
  jettonMaster: z.string(),
  /** The forward payload naming the account (Either bit + ref to "STUN" ‖ account bytes32): a base64 BOC. */
  forwardPayload: z.string(),
  /** The tag cell alone ("STUN" ‖ account bytes32) as hex, for wallets that ask for the payload cell's bits. */
  tagHex: z.string(),
  /** forward_ton_amount to attach (nanotons): the contract needs 0.01–0.05 TON to log the deposit. */
  forwardTonAmount: z.string(),
  /** The commitment a deposit needs before it is credited. */
  confirmation: z.literal("masterchain"),
});
export type TonDepositInfo = z.infer<typeof TonDepositInfoSchema>;

/** GET /chain/deposit-info: per family, where and how the caller deposits; null: the rail is off on this server. */
export const DepositInfoResponseSchema = z.object({
  accountId: z.string(),
  solana: SolanaDepositInfoSchema.nullable(),
  ton: TonDepositInfoSchema.nullable(),
  /** The families this server pays out on (POST /chain/payouts). */
  payoutFamilies: z.array(z.enum(PAYOUT_FAMILIES)),
});
export type DepositInfoResponse = z.infer<typeof DepositInfoResponseSchema>;

/** One deposit on Solana or TON attributable to the caller: credited to it, or unmatched while naming it (e.g. another token). */
export const ExternalDepositViewSchema = z.object({
  id: z.string(),
  family: z.string(),
  network: z.string(),
  txId: z.string(),
  index: z.number().int(),
  from: z.string(),
  token: z.string(),
  /** Token base units, decimal text. */
  amount: z.string(),
  /** credited | unmatched */
  status: z.string(),
  /** Why it was not credited (unmatched only). */
  reason: z.string().nullable(),
  createdAt: z.string(),
});
export type ExternalDepositView = z.infer<typeof ExternalDepositViewSchema>;
export const ExternalDepositsResponseSchema = z.object({ deposits: z.array(ExternalDepositViewSchema) });
export type ExternalDepositsResponse = z.infer<typeof ExternalDepositsResponseSchema>;

/** A TON wallet address (raw 0:… or user-friendly), as a request names one. */
const TonOwnerSchema = z.string().min(1).max(100);

/** GET /chain/ton-balance?owner=: the owner's balance of the accepted jetton. */
export const TonBalanceQuerySchema = z.object({ owner: TonOwnerSchema });
export const TonBalanceSchema = z.object({
  /** The owner's jetton wallet (raw), or null when it has none (balance 0). */
  jettonWallet: z.string().nullable(),
  /** Jetton base units, decimal text. */
  balance: z.string(),
});
export type TonBalance = z.infer<typeof TonBalanceSchema>;

/** POST /chain/ton-deposit-message: the TonConnect message a TON wallet sends to deposit `amount` from `owner`. */
export const TonDepositMessageRequestSchema = z.object({
  amount: PositiveBaseUnitsSchema,
  /** The depositing wallet's address (raw 0:… or user-friendly). */
  owner: TonOwnerSchema,
});
export type TonDepositMessageRequest = z.infer<typeof TonDepositMessageRequestSchema>;
export const TonDepositMessageSchema = z.object({
  /** The owner's jetton wallet for the accepted jetton (the message's destination). */
  address: z.string(),
  /** Nanotons to attach (forward_ton_amount + the jetton wallets' fees; unspent returns to the owner). */
  amount: z.string(),
  /** The TEP-74 transfer body as a base64 BOC. */
  payload: z.string(),
});
export type TonDepositMessage = z.infer<typeof TonDepositMessageSchema>;
