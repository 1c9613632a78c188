/**
 * EIP-712 messages the marketplace's settlers sign (M of N), and helpers that sign them with viem
 * local accounts. The contract checks that signers are settlers and strictly ascending, so every
 * helper here returns signatures sorted by signer address.
 */
import type { Address, Hex, LocalAccount } from "viem";

/** The EIP-712 domain's name and version (ComputeMarketplace's constructor). */
export const MARKETPLACE_EIP712_NAME = "Stun ComputeMarketplace";
export const MARKETPLACE_EIP712_VERSION = "1";

export interface MarketplaceDomain {
  name: typeof MARKETPLACE_EIP712_NAME;
  version: typeof MARKETPLACE_EIP712_VERSION;
  chainId: number;
  verifyingContract: Address;
}

/** The EIP-712 domain of the marketplace at `address` on chain `chainId`. */
export function marketplaceDomain(chainId: number, address: Address): MarketplaceDomain {
  return { name: MARKETPLACE_EIP712_NAME, version: MARKETPLACE_EIP712_VERSION, chainId, verifyingContract: address };
}

const settlementFields = [
  { name: "taskId", type: "bytes32" },
  { name: "resultDigest", type: "bytes32" },
  { name: "providers", type: "address[]" },
  { name: "amounts", type: "uint256[]" },
] as const;

export const settlementTypes = { Settlement: settlementFields } as const;
export const settlementBatchTypes = {
  SettlementBatch: [{ name: "settlements", type: "Settlement[]" }],
  Settlement: settlementFields,
} as const;
export const disputeTypes = {
  Dispute: [
    { name: "taskId", type: "bytes32" },
    { name: "resultDigest", type: "bytes32" },
  ],
} as const;
export const slashTypes = {
  Slash: [
    { name: "provider", type: "address" },
    { name: "amount", type: "uint256" },
    { name: "beneficiary", type: "address" },
    { name: "beneficiaryAmount", type: "uint256" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;

const depositSettlementFields = [
  { name: "taskId", type: "bytes32" },
  { name: "resultDigest", type: "bytes32" },
  { name: "account", type: "bytes32" },
  { name: "token", type: "address" },
  { name: "modelCreator", type: "address" },
  { name: "providers", type: "address[]" },
  { name: "amounts", type: "uint256[]" },
] as const;

export const depositSettlementBatchTypes = {
  DepositSettlementBatch: [{ name: "settlements", type: "DepositSettlement[]" }],
  DepositSettlement: depositSettlementFields,
} as const;
export const depositWithdrawalTypes = {
  DepositWithdrawal: [
    { name: "account", type: "bytes32" },
    { name: "token", type: "address" },
    { name: "amount", type: "uint256" },
    { name: "to", type: "address" },
    { name: "nonce", type: "bytes32" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** A task's settlement: the result and one (provider, price) per accepted execution. */
export type Settlement = {
  taskId: Hex;
  resultDigest: Hex;
  providers: readonly Address[];
  amounts: readonly bigint[];
};

/** A slash order (see IComputeMarketplace.SlashOrder). */
export type SlashOrder = {
  provider: Address;
  amount: bigint;
  beneficiary: Address;
  beneficiaryAmount: bigint;
  nonce: Hex;
};

/**
 * A task paid out of a Stun account's deposit (IComputeMarketplace.DepositSettlement): `account` is
 * the account id as bytes32 (see `accountToBytes32`), `modelCreator` address(0) gives the creator's
 * share to the treasury.
 */
export type DepositSettlement = {
  taskId: Hex;
  resultDigest: Hex;
  account: Hex;
  token: Address;
  modelCreator: Address;
  providers: readonly Address[];
  amounts: readonly bigint[];
};

/** A withdrawal of a Stun account's unspent deposit (IComputeMarketplace.DepositWithdrawal). */
export type DepositWithdrawal = {
  account: Hex;
  token: Address;
  amount: bigint;
  to: Address;
  nonce: Hex;
  /** Unix seconds: the last second the order can be executed (`WithdrawalExpired` after it). */
  deadline: bigint;
};

export function settlementTypedData(domain: MarketplaceDomain, settlement: Settlement) {
  return { domain, types: settlementTypes, primaryType: "Settlement", message: settlement } as const;
}

export function settlementBatchTypedData(domain: MarketplaceDomain, settlements: readonly Settlement[]) {
  return { domain, types: settlementBatchTypes, primaryType: "SettlementBatch", message: { settlements } } as const;
}

export function disputeTypedData(domain: MarketplaceDomain, taskId: Hex, resultDigest: Hex) {
  return { domain, types: disputeTypes, primaryType: "Dispute", message: { taskId, resultDigest } } as const;
}

export function slashTypedData(domain: MarketplaceDomain, order: SlashOrder) {
  return { domain, types: slashTypes, primaryType: "Slash", message: order } as const;
}

export function depositSettlementBatchTypedData(domain: MarketplaceDomain, settlements: readonly DepositSettlement[]) {
  return { domain, types: depositSettlementBatchTypes, primaryType: "DepositSettlementBatch", message: { settlements } } as const;
}

export function depositWithdrawalTypedData(domain: MarketplaceDomain, withdrawal: DepositWithdrawal) {
  return { domain, types: depositWithdrawalTypes, primaryType: "DepositWithdrawal", message: withdrawal } as const;
}

/** Signs `typedData` with every signer; the signatures come back ordered by signer address. */
export async function signSorted(signers: readonly LocalAccount[], typedData: Parameters<LocalAccount["signTypedData"]>[0]): Promise<Hex[]> {
  const signed = await Promise.all(signers.map(async (s) => ({ address: s.address.toLowerCase(), signature: await s.signTypedData(typedData) })));
  signed.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return signed.map((s) => s.signature);
}

export const signSettlement = (signers: readonly LocalAccount[], domain: MarketplaceDomain, settlement: Settlement) => signSorted(signers, settlementTypedData(domain, settlement));

export const signSettlementBatch = (signers: readonly LocalAccount[], domain: MarketplaceDomain, settlements: readonly Settlement[]) =>
  signSorted(signers, settlementBatchTypedData(domain, settlements));

export const signDispute = (signers: readonly LocalAccount[], domain: MarketplaceDomain, taskId: Hex, resultDigest: Hex) => signSorted(signers, disputeTypedData(domain, taskId, resultDigest));

export const signSlash = (signers: readonly LocalAccount[], domain: MarketplaceDomain, order: SlashOrder) => signSorted(signers, slashTypedData(domain, order));

export const signDepositSettlements = (signers: readonly LocalAccount[], domain: MarketplaceDomain, settlements: readonly DepositSettlement[]) =>
  signSorted(signers, depositSettlementBatchTypedData(domain, settlements));

export const signDepositWithdrawal = (signers: readonly LocalAccount[], domain: MarketplaceDomain, withdrawal: DepositWithdrawal) =>
  signSorted(signers, depositWithdrawalTypedData(domain, withdrawal));
