/**
 * Shapes the marketplace contract keeps of a settlement, computed here the way it does: the payout
 * hash `release` checks, and a result digest as bytes32. Shared by the deposit settlements and the
 * per-task escrows.
 */
import { type Address, type Hex, encodeAbiParameters, keccak256 } from "viem";

export interface Payout {
  providers: readonly Address[];
  shares: readonly bigint[];
  treasuryShare: bigint;
  creatorShare: bigint;
}

/** keccak256(abi.encode(payout)): the contract's `Task.payoutHash`. */
export const payoutHashOf = (p: Payout): Hex =>
  keccak256(
    encodeAbiParameters(
      [
        {
          type: "tuple",
          components: [
            { name: "providers", type: "address[]" },
            { name: "shares", type: "uint256[]" },
            { name: "treasuryShare", type: "uint256" },
            { name: "creatorShare", type: "uint256" },
          ],
        },
      ],
      [p],
    ),
  );

/** An output digest (64 hex digits) as the bytes32 a settlement signs; anything else hashed. */
export const toHexDigest = (digest: string | null): Hex => (digest && /^[0-9a-f]{64}$/i.test(digest) ? (`0x${digest.toLowerCase()}` as Hex) : keccak256(new TextEncoder().encode(digest ?? "")));
