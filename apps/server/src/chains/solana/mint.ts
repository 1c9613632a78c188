/**
 * The configured mint as the cluster holds it, read once at start: its owner decides the token
 * program (SPL Token or Token-2022) every instruction and associated token account uses, and a
 * Token-2022 mint's extensions decide whether Stun can take it at all.
 *
 * Token-2022 extensions refused (the start stops with the reason): `NonTransferable` (nothing can be
 * deposited or paid), `TransferHook` with a hook program set (every transfer needs the hook's extra
 * accounts, which the rail does not resolve), `DefaultAccountState` = frozen (new token accounts,
 * the deposit account's included, start frozen). A `TransferFeeConfig` is taken: deposits credit
 * what the deposit account actually received (deposits.ts), and a payout's recipient receives the
 * amount less the mint's fee (the issuer's fee, withheld in the recipient's account). Every other
 * extension (metadata, close authority, interest-bearing or scaled UI amounts, permanent delegate,
 * pausable, confidential transfers) leaves base-unit transfers as they are and is accepted.
 */
import { getAddressDecoder } from "@solana/kit";
import type { SolanaChain, TokenProgram } from "./chain";
import { TOKEN_2022_PROGRAM, TOKEN_PROGRAM } from "./chain";

/** SPL Token's mint is 82 bytes; Token-2022 pads extended accounts to 165, then the account type, then TLV. */
const MINT_SIZE = 82;
const ACCOUNT_TYPE_OFFSET = 165;
const ACCOUNT_TYPE_MINT = 1;

/** Token-2022 extension types (spl-token-2022 ExtensionType). */
export const EXTENSION = {
  TransferFeeConfig: 1,
  DefaultAccountState: 6,
  NonTransferable: 9,
  TransferHook: 14,
} as const;

export interface TransferFee {
  basisPoints: number;
  /** The most a single transfer pays, token base units. */
  maximumFee: bigint;
}

export interface MintInfo {
  address: string;
  tokenProgram: TokenProgram;
  decimals: number;
  /** Token-2022 extension types present on the mint (empty for SPL Token). */
  extensions: number[];
  /** The newer of the mint's two transfer-fee settings, when it has the extension. */
  transferFee: TransferFee | null;
}

/** Why the mint cannot be Stun's token, one line; thrown by readMint. */
export class MintRefused extends Error {}

/** Reads and checks the mint; throws MintRefused with the reason when Stun cannot use it. */
export async function readMint(chain: SolanaChain, mint: string): Promise<MintInfo> {
  const account = await chain.account(mint);
  if (!account) throw new MintRefused(`SOLANA_MINT ${mint}: no such account on the cluster`);
  return parseMint(mint, account.programAddress, account.data);
}

export function parseMint(mint: string, owner: string, data: Uint8Array): MintInfo {
  if (owner !== TOKEN_PROGRAM && owner !== TOKEN_2022_PROGRAM) throw new MintRefused(`SOLANA_MINT ${mint}: owned by ${owner}, neither SPL Token nor Token-2022`);
  if (data.length > MINT_SIZE && (owner === TOKEN_PROGRAM || data[ACCOUNT_TYPE_OFFSET] !== ACCOUNT_TYPE_MINT)) throw new MintRefused(`SOLANA_MINT ${mint}: a token account, not a mint`);
  if (data.length < MINT_SIZE || data[45] !== 1) throw new MintRefused(`SOLANA_MINT ${mint}: not an initialized mint`);
  const info: MintInfo = { address: mint, tokenProgram: owner, decimals: data[44]!, extensions: [], transferFee: null };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let at = ACCOUNT_TYPE_OFFSET + 1; at + 4 <= data.length; ) {
    const type = view.getUint16(at, true);
    const length = view.getUint16(at + 2, true);
    const value = data.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    if (type === 0) break; // uninitialized: the rest is padding
    info.extensions.push(type);
    const valueView = new DataView(value.buffer, value.byteOffset, value.byteLength);
    if (type === EXTENSION.NonTransferable) throw new MintRefused(`SOLANA_MINT ${mint}: a non-transferable Token-2022 mint cannot be deposited or paid out`);
    if (type === EXTENSION.TransferHook && value.length >= 64 && value.subarray(32, 64).some((b) => b !== 0)) {
      throw new MintRefused(`SOLANA_MINT ${mint}: its transfers call the hook program ${getAddressDecoder().decode(value.subarray(32, 64))}, whose extra accounts Stun does not supply`);
    }
    if (type === EXTENSION.DefaultAccountState && value[0] === 2)
      throw new MintRefused(`SOLANA_MINT ${mint}: new token accounts start frozen (DefaultAccountState), so the deposit account and recipients could not receive it`);
    // TransferFeeConfig: two authorities (64), withheld amount (8), older fee (18), newer fee (epoch 8, maximum 8, basis points 2).
    if (type === EXTENSION.TransferFeeConfig && value.length >= 108) info.transferFee = { maximumFee: valueView.getBigUint64(98, true), basisPoints: valueView.getUint16(106, true) };
  }
  return info;
}
