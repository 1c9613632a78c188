/**
 * Sign-In With Solana: the EIP-4361-shaped message Solana wallets sign with the wallet-standard
 * `solana:signIn` feature (the format of @solana/wallet-standard-util's createSignInMessageText):
 *
 *   <domain> wants you to sign in with your Solana account:
 *   <base58 address>
 *
 *   <statement>            (optional, one line)
 *
 *   URI: …
 *   Version: 1
 *   Chain ID: mainnet | devnet | testnet | localnet (or solana:<cluster>)
 *   Nonce: …
 *   Issued At: …
 *   Expiration Time: …     (optional; also Not Before, Request ID, Resources)
 *
 * `checkSiws` parses it, spends its nonce (services/sign-in-nonces.ts, family "solana"), checks the
 * domain (SIWE's: siweDomains), the cluster (SIWS_NETWORKS), the times, that the message's address
 * is `publicKey`, then the ed25519 signature over the message's exact UTF-8 bytes.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { base58, base64 } from "@scure/base";
import { StunError, type SiwsVerifyRequest, type WalletSignInResponse } from "@stun/shared";
import type { AppContext } from "../context";
import { SIWE_NONCE_TTL_MS } from "../auth/config";
import { CLOCK_SKEW_MS, consumeSignInNonce } from "./sign-in-nonces";
import { siweDomains } from "./wallets";
import { signInWithWallet } from "./linked-wallets";

const HEADER = " wants you to sign in with your Solana account:";

export interface SiwsFields {
  domain: string;
  address: string;
  statement?: string;
  uri: string;
  version: string;
  chainId: string;
  nonce: string;
  issuedAt: string;
  expirationTime?: string;
  notBefore?: string;
  requestId?: string;
  resources?: string[];
}

const FIELD_KEYS: Record<string, keyof SiwsFields> = {
  URI: "uri",
  Version: "version",
  "Chain ID": "chainId",
  Nonce: "nonce",
  "Issued At": "issuedAt",
  "Expiration Time": "expirationTime",
  "Not Before": "notBefore",
  "Request ID": "requestId",
};

const invalid = (message: string) => new StunError("SIWS_INVALID", message);

/** The 32 bytes of a base58 Solana public key, or undefined when it is not one (canonical base58 only). */
export function solanaPublicKey(text: string): Uint8Array | undefined {
  if (!/^[1-9A-HJ-NP-Za-km-z]{32,44}$/.test(text)) return undefined;
  try {
    const bytes = base58.decode(text);
    return bytes.length === 32 && base58.encode(bytes) === text ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** A 64-byte ed25519 signature from base58 or base64 (standard or URL alphabet). */
function signatureBytes(text: string): Uint8Array | undefined {
  if (/^[1-9A-HJ-NP-Za-km-z]+$/.test(text)) {
    try {
      const b = base58.decode(text);
      if (b.length === 64) return b;
    } catch {
      // not base58: try base64
    }
  }
  try {
    const std = text.replace(/-/g, "+").replace(/_/g, "/");
    const b = base64.decode(std.padEnd(Math.ceil(std.length / 4) * 4, "="));
    return b.length === 64 ? b : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a SIWS message's fields; SIWS_INVALID when it is not one (or lacks a field this server needs). */
export function parseSiwsMessage(message: string): SiwsFields {
  const parts = message.split("\n\n");
  const head = parts[0]!.split("\n");
  if (head.length !== 2 || !head[0]!.endsWith(HEADER)) throw invalid('not a Sign-In With Solana message ("<domain> wants you to sign in with your Solana account:\\n<address>…")');
  const domain = head[0]!.slice(0, -HEADER.length);
  const address = head[1]!;
  let statement: string | undefined;
  let fieldBlock: string;
  if (parts.length === 3) {
    statement = parts[1]!;
    if (statement.includes("\n")) throw invalid("the statement must be one line");
    fieldBlock = parts[2]!;
  } else if (parts.length === 2) fieldBlock = parts[1]!;
  else throw invalid("not a Sign-In With Solana message: it needs its fields (URI, Version, Chain ID, Nonce, Issued At)");
  const out: Partial<SiwsFields> = { domain, address, ...(statement !== undefined ? { statement } : {}) };
  const lines = fieldBlock.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "Resources:") {
      if (out.resources) throw invalid("Resources appears twice");
      out.resources = [];
      while (i + 1 < lines.length && lines[i + 1]!.startsWith("- ")) out.resources.push(lines[++i]!.slice(2));
      continue;
    }
    const sep = line.indexOf(": ");
    const key = sep > 0 ? FIELD_KEYS[line.slice(0, sep)] : undefined;
    if (!key) throw invalid(`unknown line in the message's fields: ${JSON.stringify(line.slice(0, 80))}`);
    if (out[key] !== undefined) throw invalid(`${line.slice(0, sep)} appears twice`);
    (out as Record<string, string>)[key] = line.slice(sep + 2);
  }
  const missing = (["uri", "version", "chainId", "nonce", "issuedAt"] as const).filter((k) => !out[k]);
  if (missing.length) throw invalid(`the message lacks ${missing.join(", ")}: this server needs URI, Version 1, Chain ID, Nonce and Issued At`);
  if (out.version !== "1") throw invalid(`version ${out.version} is not 1`);
  return out as SiwsFields;
}

const time = (text: string | undefined, what: string): number | undefined => {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(t)) throw invalid(`${what} is not an ISO 8601 time`);
  return t;
};

export interface SiwsOptions {
  /** The clusters a message may name (default SIWS_NETWORKS). */
  networks?: readonly string[];
  /** The clock (tests). */
  now?: () => number;
}

export interface CheckedSiws {
  /** The signer's base58 public key. */
  address: string;
  /** The cluster, without the `solana:` prefix. */
  cluster: string;
}

/** Checks a SIWS message and its signature; throws SIWS_INVALID with the reason. Spends the nonce. */
export async function checkSiws(app: AppContext, req: SiwsVerifyRequest, opts: SiwsOptions = {}): Promise<CheckedSiws> {
  const now = opts.now?.() ?? Date.now();
  const fields = parseSiwsMessage(req.message);
  const publicKey = solanaPublicKey(req.publicKey);
  if (!publicKey) throw invalid(`publicKey ${JSON.stringify(req.publicKey.slice(0, 80))} is not a Solana public key (base58, 32 bytes)`);
  if (!solanaPublicKey(fields.address)) throw invalid(`the message's address ${JSON.stringify(fields.address.slice(0, 80))} is not a Solana public key (base58, 32 bytes)`);
  // The nonce is spent by any attempt that names it, so a signature cannot be tried twice.
  if (!(await consumeSignInNonce(app, "solana", fields.nonce, now))) throw invalid("unknown, expired or already used nonce: ask for a new one (auth.siwsNonce)");
  const domains = siweDomains(app.config);
  if (!domains.includes(fields.domain.toLowerCase())) {
    throw invalid(`the message is for ${fields.domain}, not this server (${domains.join(", ")}; set SIWE_DOMAINS to the web app's host)`);
  }
  const networks = opts.networks ?? app.config.SIWS_NETWORKS;
  const cluster = fields.chainId.replace(/^solana:/, "");
  if (!networks.includes(cluster)) throw invalid(`chain ${fields.chainId} is not an allowed Solana cluster here (${networks.join(", ")})`);
  const issuedAt = time(fields.issuedAt, "Issued At")!;
  const expiration = time(fields.expirationTime, "Expiration Time");
  const notBefore = time(fields.notBefore, "Not Before");
  if (issuedAt > now + CLOCK_SKEW_MS) throw invalid("the message is issued in the future");
  if (issuedAt < now - SIWE_NONCE_TTL_MS - CLOCK_SKEW_MS) throw invalid("the message was issued before its nonce could have been");
  if (expiration !== undefined && expiration <= now) throw invalid("the message has expired");
  if (notBefore !== undefined && notBefore > now) throw invalid("the message is not yet valid (Not Before)");
  if (fields.address !== req.publicKey) throw invalid(`the message is for ${fields.address}, not the signer ${req.publicKey}`);
  const signature = signatureBytes(req.signature);
  if (!signature) throw invalid("the signature is not 64 bytes of base58 or base64");
  let valid = false;
  try {
    valid = ed25519.verify(signature, new TextEncoder().encode(req.message), publicKey);
  } catch {
    valid = false;
  }
  if (!valid) throw invalid(`the signature is not ${req.publicKey}'s signature of this message`);
  return { address: req.publicKey, cluster };
}

/** auth.siwsVerify: checks the message, then links the wallet or signs in (services/linked-wallets.ts). */
export async function verifySiws(app: AppContext, callerId: string | undefined, req: SiwsVerifyRequest, opts: SiwsOptions = {}): Promise<WalletSignInResponse> {
  const { address, cluster } = await checkSiws(app, req, opts);
  return signInWithWallet(app, callerId, { family: "solana", address, network: `solana:${cluster}` });
}
