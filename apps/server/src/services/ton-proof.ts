/**
 * TonConnect ton_proof: the wallet signs this server's single-use payload (POST
 * /auth/ton-proof/payload; services/sign-in-nonces.ts, family "ton") bound to its address, the
 * app's domain and a timestamp. Checked as TonConnect specifies:
 *
 *   message = "ton-proof-item-v2/" ‖ workchain (u32 BE) ‖ address hash (32) ‖ domain length (u32 LE)
 *             ‖ domain ‖ timestamp (u64 LE) ‖ payload
 *   signed  = ed25519(sha256(0xffff ‖ "ton-connect" ‖ sha256(message)))
 *
 * The key that must have signed is the one in the wallet's StateInit (`state_init`), whose hash is
 * the address: the code must be a known wallet contract (v3R1, v3R2, v4R2, v5R1), whose data
 * holds the public key at a known offset. No chain is asked (a deployed wallet's key could have
 * changed only for contracts that allow it; these do not).
 */
import { createHash } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { beginCell, Cell, loadStateInit, storeStateInit, type StateInit } from "@ton/core";
import { StunError, type TonProofVerifyRequest, type WalletSignInResponse } from "@stun/shared";
import type { AppContext } from "../context";
import { TON_PROOF_MAX_AGE_MS } from "../auth/config";
import { CLOCK_SKEW_MS, consumeSignInNonce } from "./sign-in-nonces";
import { siweDomains } from "./wallets";
import { signInWithWallet } from "./linked-wallets";

const invalid = (message: string) => new StunError("TON_PROOF_INVALID", message);

/** Known wallet contracts by code cell hash: the bit offset of the 256-bit public key in their data. */
export const TON_WALLET_CODES: Record<string, { name: string; keyOffsetBits: number }> = {
  // seqno (32) ‖ subwallet id (32) ‖ public key (256)
  b61041a58a7980b946e8fb9e198e3c904d24799ffa36574ea4251c41a566f581: { name: "v3R1", keyOffsetBits: 64 },
  "84dafa449f98a6987789ba232358072bc0f76dc4524002a5d0918b9a75d2d599": { name: "v3R2", keyOffsetBits: 64 },
  // seqno (32) ‖ subwallet id (32) ‖ public key (256) ‖ plugins
  feb5ff6820e2ff0d9483e7e0d62c817d846789fb4ae580c878866d959dabd5c0: { name: "v4R2", keyOffsetBits: 64 },
  // signature allowed (1) ‖ seqno (32) ‖ wallet id (32) ‖ public key (256) ‖ extensions
  "20834b7b72b112147e1b2fb457b84e74d1a30f04f737d4f62a668e9552d2b72f": { name: "v5R1", keyOffsetBits: 65 },
};

/** A raw TON address `<workchain>:<64 hex>` as workchain and hash; undefined when it is not one. */
export function parseTonRawAddress(text: string): { workchain: number; hash: Buffer; raw: string } | undefined {
  const m = /^(0|-1):([0-9a-fA-F]{64})$/.exec(text);
  if (!m) return undefined;
  const hex = m[2]!.toLowerCase();
  return { workchain: Number(m[1]), hash: Buffer.from(hex, "hex"), raw: `${m[1]}:${hex}` };
}

/** The wallet's public key from its StateInit's data, for a known wallet code; undefined otherwise. */
export function tonWalletPublicKey(init: StateInit): { key: Buffer; wallet: string } | undefined {
  if (!init.code || !init.data) return undefined;
  const known = TON_WALLET_CODES[init.code.hash().toString("hex")];
  if (!known) return undefined;
  try {
    const s = init.data.beginParse();
    s.skip(known.keyOffsetBits);
    return { key: s.loadBuffer(32), wallet: known.name };
  } catch {
    return undefined;
  }
}

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** The 32 bytes a ton_proof signature signs (TonConnect "ton-proof-item-v2"). */
export function tonProofSignedBytes(workchain: number, addressHash: Buffer, domain: string, timestamp: number, payload: string): Buffer {
  const wc = Buffer.alloc(4);
  wc.writeInt32BE(workchain);
  const domainBytes = Buffer.from(domain, "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32LE(domainBytes.length);
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64LE(BigInt(timestamp));
  const message = Buffer.concat([Buffer.from("ton-proof-item-v2/"), wc, addressHash, len, domainBytes, ts, Buffer.from(payload, "utf8")]);
  return sha256(Buffer.from([0xff, 0xff]), Buffer.from("ton-connect"), sha256(message));
}

export interface TonProofOptions {
  /** The TonConnect networks a proof may name (default TON_NETWORKS). */
  networks?: readonly string[];
  /** The clock (tests). */
  now?: () => number;
}

/** Checks a ton_proof; throws TON_PROOF_INVALID with the reason. Spends the payload. */
export async function checkTonProof(app: AppContext, req: TonProofVerifyRequest, opts: TonProofOptions = {}): Promise<{ address: string; network: string }> {
  const now = opts.now?.() ?? Date.now();
  const address = parseTonRawAddress(req.address);
  if (!address) throw invalid(`${JSON.stringify(req.address.slice(0, 80))} is not a raw TON address (<workchain>:<64 hex digits>, workchain 0 or -1)`);
  const { proof } = req;
  // The payload is spent by any attempt that names it, so a signature cannot be tried twice.
  if (!(await consumeSignInNonce(app, "ton", proof.payload, now))) throw invalid("unknown, expired or already used payload: ask for a new one (auth.tonProofPayload)");
  const networks = opts.networks ?? app.config.TON_NETWORKS;
  if (!networks.includes(req.network)) throw invalid(`network ${req.network} is not allowed here (${networks.join(", ")})`);
  if (Buffer.byteLength(proof.domain.value, "utf8") !== proof.domain.lengthBytes) throw invalid("domain.lengthBytes is not the byte length of domain.value");
  const domains = siweDomains(app.config);
  if (!domains.includes(proof.domain.value.toLowerCase())) {
    throw invalid(`the proof is for ${proof.domain.value}, not this server (${domains.join(", ")}; set SIWE_DOMAINS to the web app's host)`);
  }
  const signedAt = proof.timestamp * 1000;
  if (signedAt > now + CLOCK_SKEW_MS) throw invalid("the proof is signed in the future");
  if (signedAt < now - TON_PROOF_MAX_AGE_MS) throw invalid(`the proof is older than ${TON_PROOF_MAX_AGE_MS / 60_000} minutes`);
  let init: StateInit;
  try {
    init = loadStateInit(Cell.fromBase64(proof.state_init).beginParse());
  } catch {
    throw invalid("state_init is not a base64 BOC of a StateInit");
  }
  // The hash of the StateInit rebuilt from the fields read (what contractAddress computes), so
  // nothing beyond them in the BOC can make it match.
  const initHash = beginCell().store(storeStateInit(init)).endCell().hash();
  if (!initHash.equals(address.hash)) throw invalid(`state_init does not hash to ${address.raw}: it is another contract's`);
  const wallet = tonWalletPublicKey(init);
  if (!wallet) throw invalid("state_init's code is not a known wallet contract (v3R1, v3R2, v4R2, v5R1)");
  if (req.public_key !== undefined && req.public_key.toLowerCase() !== wallet.key.toString("hex")) {
    throw invalid("public_key is not the key in the wallet's state_init");
  }
  const signature = Buffer.from(proof.signature, "base64");
  if (signature.length !== 64) throw invalid("the signature is not 64 bytes of base64");
  const signed = tonProofSignedBytes(address.workchain, address.hash, proof.domain.value, proof.timestamp, proof.payload);
  let valid = false;
  try {
    valid = ed25519.verify(signature, signed, wallet.key);
  } catch {
    valid = false;
  }
  if (!valid) throw invalid(`the signature is not the ${wallet.wallet} wallet ${address.raw}'s key's signature of this proof`);
  return { address: address.raw, network: req.network };
}

/** auth.tonProofVerify: checks the proof, then links the wallet or signs in (services/linked-wallets.ts). */
export async function verifyTonProof(app: AppContext, callerId: string | undefined, req: TonProofVerifyRequest, opts: TonProofOptions = {}): Promise<WalletSignInResponse> {
  const { address, network } = await checkTonProof(app, req, opts);
  return signInWithWallet(app, callerId, { family: "ton", address, network: `ton:${network}` });
}
