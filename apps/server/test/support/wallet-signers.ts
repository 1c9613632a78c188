/**
 * Real wallets of the non-EVM families for tests: Solana keypairs (node:crypto's ed25519, not the
 * server's @noble/curves) signing wallet-standard Sign-In With Solana messages, and TON wallets
 * (@ton/ton contracts, @ton/crypto keys) answering TonConnect ton_proof as the spec writes it.
 */
import { createHash, generateKeyPairSync, randomBytes, sign as nodeSign } from "node:crypto";
import { base58 } from "@scure/base";
import { beginCell, storeStateInit } from "@ton/core";
import { keyPairFromSeed, sign as tonSign, type KeyPair } from "@ton/crypto";
import { type WalletContractV3R1, type WalletContractV3R2, WalletContractV4, type WalletContractV5R1 } from "@ton/ton";

// ------------------------------------------------------------------ Solana wallets (node:crypto ed25519)

export interface SolanaWallet {
  address: string;
  sign(message: string): Buffer;
}

/** A Solana keypair: node's own ed25519 (not the server's @noble/curves), its public key in base58. */
export function solanaWallet(): SolanaWallet {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
  return { address: base58.encode(raw), sign: (message) => nodeSign(null, Buffer.from(message, "utf8"), privateKey) };
}

export interface SiwsInput {
  domain: string;
  address: string;
  statement?: string;
  uri?: string;
  version?: string;
  chainId?: string;
  nonce?: string;
  issuedAt?: string;
  expirationTime?: string;
  notBefore?: string;
  requestId?: string;
  resources?: string[];
}

/** The wallet-standard solana:signIn message text (@solana/wallet-standard-util createSignInMessageText's format). */
export function createSignInMessageText(input: SiwsInput): string {
  let message = `${input.domain} wants you to sign in with your Solana account:\n${input.address}`;
  if (input.statement) message += `\n\n${input.statement}`;
  const fields: string[] = [];
  if (input.uri) fields.push(`URI: ${input.uri}`);
  if (input.version) fields.push(`Version: ${input.version}`);
  if (input.chainId) fields.push(`Chain ID: ${input.chainId}`);
  if (input.nonce) fields.push(`Nonce: ${input.nonce}`);
  if (input.issuedAt) fields.push(`Issued At: ${input.issuedAt}`);
  if (input.expirationTime) fields.push(`Expiration Time: ${input.expirationTime}`);
  if (input.notBefore) fields.push(`Not Before: ${input.notBefore}`);
  if (input.requestId) fields.push(`Request ID: ${input.requestId}`);
  if (input.resources) {
    fields.push("Resources:");
    for (const r of input.resources) fields.push(`- ${r}`);
  }
  if (fields.length) message += `\n\n${fields.join("\n")}`;
  return message;
}

// ------------------------------------------------------------------ TON wallets (@ton/ton contracts, @ton/crypto keys)

export type WalletCtor = typeof WalletContractV4 | typeof WalletContractV5R1 | typeof WalletContractV3R2 | typeof WalletContractV3R1;

export interface TonWallet {
  keyPair: KeyPair;
  /** Raw `0:<hex>`. */
  address: string;
  /** The StateInit as a base64 BOC, as TonConnect's walletStateInit. */
  stateInit: string;
}

export function tonWallet(Contract: WalletCtor = WalletContractV4): TonWallet {
  const keyPair = keyPairFromSeed(randomBytes(32));
  const wallet = Contract.create({ workchain: 0, publicKey: keyPair.publicKey });
  const stateInit = beginCell().store(storeStateInit(wallet.init)).endCell().toBoc().toString("base64");
  return { keyPair, address: wallet.address.toRawString(), stateInit };
}

const sha256 = (...parts: Buffer[]) => createHash("sha256").update(Buffer.concat(parts)).digest();

/** A TonConnect ton_proof reply, signed as the TonConnect spec writes it ("ton-proof-item-v2/" …). */
export function tonProof(wallet: TonWallet, o: { domain: string; payload: string; timestamp?: number; signer?: KeyPair; network?: string; address?: string; stateInit?: string }) {
  const timestamp = o.timestamp ?? Math.floor(Date.now() / 1000);
  const address = o.address ?? wallet.address;
  const [wc, hash] = address.split(":");
  const wcBytes = Buffer.alloc(4);
  wcBytes.writeInt32BE(Number(wc));
  const domain = Buffer.from(o.domain, "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32LE(domain.length);
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64LE(BigInt(timestamp));
  const msg = Buffer.concat([Buffer.from("ton-proof-item-v2/"), wcBytes, Buffer.from(hash!, "hex"), len, domain, ts, Buffer.from(o.payload)]);
  const signed = sha256(Buffer.from([0xff, 0xff]), Buffer.from("ton-connect"), sha256(msg));
  const signature = tonSign(signed, (o.signer ?? wallet.keyPair).secretKey).toString("base64");
  return {
    address,
    network: o.network ?? "-239",
    public_key: wallet.keyPair.publicKey.toString("hex"),
    proof: { timestamp, domain: { lengthBytes: domain.length, value: o.domain }, signature, payload: o.payload, state_init: o.stateInit ?? wallet.stateInit },
  };
}
