/**
 * The Stun tag a deposit carries in its jetton transfer's forward payload:
 * `0x5354554e ("STUN") : uint32, account : bits256`, inline (Either bit 0) or in a ref (bit 1).
 * `account` is the Stun account id's UTF-8 bytes right-padded with zeros to 32 — the same encoding
 * as the EVM marketplace's bytes32 account (`accountToBytes32` in @stun/contracts), so one id reads
 * the same on every chain and decodes without a lookup table.
 */
import { beginCell, type Cell, type Slice } from "@ton/core";

/** "STUN": the first 32 bits of a deposit tag. */
export const DEPOSIT_TAG = 0x5354554e;

/** `acc_…` → 32 bytes. Throws for an empty id, one over 32 bytes, or one containing NUL. */
export function accountToBytes32(accountId: string): Buffer {
  const bytes = Buffer.from(accountId, "utf8");
  if (bytes.length === 0 || bytes.length > 32 || bytes.includes(0)) {
    throw new Error(`a Stun account id must be 1–32 UTF-8 bytes without NUL: ${JSON.stringify(accountId)}`);
  }
  return Buffer.concat([bytes, Buffer.alloc(32 - bytes.length)]);
}

/** 32 bytes → the account id, or undefined when they are not an encoded id. */
export function bytes32ToAccount(value: Buffer): string | undefined {
  if (value.length !== 32) return undefined;
  let end = value.indexOf(0);
  if (end === -1) end = 32;
  if (end === 0 || value.subarray(end).some((b) => b !== 0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(value.subarray(0, end));
  } catch {
    return undefined;
  }
}

/** The tag cell: "STUN" + the account's 32 bytes. */
export function depositTagCell(accountId: string): Cell {
  return beginCell().storeUint(DEPOSIT_TAG, 32).storeBuffer(accountToBytes32(accountId)).endCell();
}

/**
 * The forward payload (Either Cell ^Cell) for a deposit to `accountId`, as the whole cell a wallet
 * puts after `forward_ton_amount`: 1 bit (1 = in a ref) then the ref to the tag. Wallet apps that
 * take a "forward payload cell" want `depositTagCell` instead and add the Either bit themselves.
 */
export function depositForwardPayload(accountId: string): Cell {
  return beginCell().storeBit(true).storeRef(depositTagCell(accountId)).endCell();
}

/**
 * The account a forward payload (Either Cell ^Cell, as read from a transfer at that field) names:
 * the inverse of depositForwardPayload, inline or in a ref; undefined for anything else.
 */
export function forwardPayloadAccount(payload: Slice): string | undefined {
  const tag = payload.loadBit() ? payload.loadRef().beginParse() : payload;
  if (tag.remainingBits < 32 + 256 || tag.loadUint(32) !== DEPOSIT_TAG) return undefined;
  return bytes32ToAccount(tag.loadBuffer(32));
}
