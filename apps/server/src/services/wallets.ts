/**
 * Wallets: Sign-In with Ethereum (EIP-4361) and the account ↔ wallet link.
 *
 * - `issueSiweNonce` hands out a random nonce, remembered for SIWE_NONCE_TTL_MS and usable once
 *   (auth/siwe-nonces.ts: in this instance's memory, or in Redis when REDIS_URL is set, so any
 *   instance verifies a nonce another issued, and spends it for all).
 * - `verifySiwe` checks the message (parsed with viem's parseSiweMessage, checked with
 *   validateSiweMessage): its nonce is one the network issued and has not seen used, its domain
 *   is one of this server's (SIWE_DOMAINS), its chain id is allowed, it is inside its validity
 *   window; then the signature (viem verifyMessage: an EOA's ECDSA signature). Then it links the
 *   wallet to the caller's account (when called with an admin API key) or signs in to the account
 *   linked to the wallet, creating one when there is none, and returns a new session API key
 *   (expiring after SIWE_SESSION_TTL_SECONDS; the account keeps its SIWE_SESSION_MAX newest):
 *   services/linked-wallets.ts, shared with Sign-In With Solana and TonConnect ton_proof.
 *
 * Smart-contract wallets (ERC-1271 / ERC-6492) sign with a contract, not a key: checking them needs
 * a call to the chain (viem's publicClient.verifyMessage); `SiweOptions.verifyContractSignature`
 * is that hook for a server that has a chain client.
 */
import { randomBytes } from "node:crypto";
import { StunError, type SiweNonceResponse, type SiweVerifyRequest, type SiweVerifyResponse } from "@stun/shared";
import { getAddress, verifyMessage, type Address, type Hex } from "viem";
import { parseSiweMessage, validateSiweMessage } from "viem/siwe";
import type { AppContext } from "../context";
import type { Config } from "../env";
import { signInWithWallet } from "./linked-wallets";
import { CLOCK_SKEW_MS } from "./sign-in-nonces";
import { SIWE_NONCE_TTL_MS } from "../auth/config";

export interface SiweOptions {
  /** The chain ids a message may name; undefined: any. */
  chainIds?: readonly number[];
  /**
   * Checks a signature the EOA check refused, e.g. an ERC-1271 smart wallet's (publicClient.verifyMessage).
   * Undefined: EOAs only.
   */
  verifyContractSignature?: (args: { address: Address; message: string; signature: Hex }) => Promise<boolean>;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * A new single-use SIWE nonce (alphanumeric, as EIP-4361 requires) for a caller at address `ip`
 * (an addressId). Each address may take RATE_LIMIT_SIWE_NONCES per nonce lifetime, so no one
 * address can fill an instance's in-memory store.
 */
export async function issueSiweNonce(app: AppContext, ip: string, now = Date.now()): Promise<SiweNonceResponse> {
  await app.limits.hit("siweNonce", ip);
  // 128 random bits as hex (alphanumeric, as EIP-4361 asks). Not viem's generateSiweNonce: it draws
  // from Math.random, and consecutive nonces overlap.
  const nonce = randomBytes(16).toString("hex");
  const expiresAt = now + SIWE_NONCE_TTL_MS;
  if (!(await app.siweNonces.put(nonce, expiresAt, now))) throw new StunError("RATE_LIMITED", "too many sign-ins in progress; try again in a minute");
  return { nonce, expiresAt: new Date(expiresAt).toISOString() };
}

/** Takes a nonce out of the store: true when it was issued and has not expired. */
async function consumeNonce(app: AppContext, nonce: string, now: number): Promise<boolean> {
  if (!/^[0-9a-f]{32}$/.test(nonce)) return false; // not one issueSiweNonce makes
  const until = await app.siweNonces.take(nonce);
  return until !== undefined && until > now;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "0.0.0.0", "::"]);

/**
 * The host[:port] values a SIWE message may name as its domain: SIWE_DOMAINS, or this server's
 * HOST:PORT (with the loopback names on that port when HOST is a loopback or unspecified address).
 * Lower-case; a port of 80 or 443 also allows the bare host.
 */
export function siweDomains(config: Pick<Config, "HOST" | "PORT" | "SIWE_DOMAINS">): string[] {
  const out = new Set<string>();
  const add = (host: string, port?: number) => {
    const h = port !== undefined && host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
    out.add((port === undefined ? h : `${h}:${port}`).toLowerCase());
    if (port === 80 || port === 443) out.add(h.toLowerCase());
  };
  if (config.SIWE_DOMAINS) {
    for (const d of config.SIWE_DOMAINS.split(",")
      .map((s) => s.trim())
      .filter(Boolean))
      add(d);
    return [...out];
  }
  const hosts = LOOPBACK.has(config.HOST) ? ["localhost", "127.0.0.1", "::1"] : [config.HOST];
  for (const h of hosts) add(h, config.PORT);
  return [...out];
}

const invalid = (message: string) => new StunError("SIWE_INVALID", message);

interface CheckedSiwe {
  address: Address;
  chainId: number;
}

/** Checks a SIWE message and its signature; throws SIWE_INVALID with the reason. Consumes the nonce. */
export async function checkSiwe(app: AppContext, req: SiweVerifyRequest, opts: SiweOptions = {}): Promise<CheckedSiwe> {
  const now = opts.now?.() ?? Date.now();
  let fields: ReturnType<typeof parseSiweMessage>;
  try {
    fields = parseSiweMessage(req.message);
  } catch {
    throw invalid("not an EIP-4361 message");
  }
  const { address, domain, nonce, chainId, uri, version } = fields;
  if (!address || !domain || !nonce || chainId === undefined || !uri || version !== "1") {
    throw invalid("not an EIP-4361 message: it needs a domain, address, URI, version 1, chain ID and nonce");
  }
  // The nonce is spent by any attempt that names it, so a signature cannot be tried twice.
  if (!(await consumeNonce(app, nonce, now))) throw invalid("unknown, expired or already used nonce: ask for a new one (auth.siweNonce)");
  const domains = siweDomains(app.config);
  if (!domains.includes(domain.toLowerCase())) {
    throw invalid(`the message is for ${domain}, not this server (${domains.join(", ")}; set SIWE_DOMAINS to the web app's host)`);
  }
  if (opts.chainIds && !opts.chainIds.includes(chainId)) {
    throw invalid(`chain ${chainId} is not allowed here (${opts.chainIds.join(", ")})`);
  }
  if (fields.issuedAt && fields.issuedAt.getTime() > now + CLOCK_SKEW_MS) throw invalid("the message is issued in the future");
  if (!validateSiweMessage({ message: fields, domain, nonce, time: new Date(now) })) {
    throw invalid("the message is malformed, expired or not yet valid");
  }
  let checksummed: Address;
  try {
    checksummed = getAddress(address);
  } catch {
    throw invalid("the message's address is not an EVM address");
  }
  const signature = req.signature as Hex;
  let valid = false;
  try {
    valid = await verifyMessage({ address: checksummed, message: req.message, signature });
  } catch {
    valid = false;
  }
  if (!valid && opts.verifyContractSignature) {
    valid = await opts.verifyContractSignature({ address: checksummed, message: req.message, signature }).catch(() => false);
  }
  if (!valid) throw invalid(`the signature is not ${checksummed}'s signature of this message`);
  return { address: checksummed, chainId };
}

/** The account a wallet (any case) is linked to. */
export async function accountByWallet(app: AppContext, address: string): Promise<string | undefined> {
  const row = await app.db.prisma.account.findUnique({ where: { walletAddress: address.toLowerCase() }, select: { id: true } });
  return row?.id;
}

/** The wallet linked to an account (lower-case 0x), if any. */
export async function walletOf(app: AppContext, accountId: string): Promise<string | undefined> {
  const row = await app.db.prisma.account.findUnique({ where: { id: accountId }, select: { walletAddress: true } });
  return row?.walletAddress ?? undefined;
}

/**
 * auth.siweVerify: checks the message and signature, then links the wallet to the caller's account
 * (`callerId`, from an API key) or signs in to the wallet's account (created on first sign-in).
 * Answers with a new session API key (admin, expiring; older sessions beyond the cap are revoked:
 * services/keys.ts `issueSiweSession`).
 */
export async function verifySiwe(app: AppContext, callerId: string | undefined, req: SiweVerifyRequest, opts: SiweOptions = {}): Promise<SiweVerifyResponse> {
  const { address, chainId } = await checkSiwe(app, req, opts);
  return signInWithWallet(app, callerId, { family: "evm", address: address.toLowerCase(), network: `eip155:${chainId}` });
}
