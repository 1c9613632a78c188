/**
 * The TON payout rail (docs/CHAIN.md "TON"): one batch is one `payout` order of the marketplace
 * contract (contracts-ton), signed by the settler keys the server holds, relayed by the server's hot
 * wallet (WalletContractV4) as one external message carrying the `payout` internal message.
 *
 * The order's nonce is derived from the batch (sha256 of its sorted payout ids, first 64 bits): a
 * batch prepared again after a crash or an expiry gets the same nonce, and the contract refuses a
 * used nonce (exit 404), so the same payouts can never be paid twice. The deadline bounds the
 * order's life (the contract refuses it once `now > deadline`, exit 403) and the wallet message's
 * (`valid_until` = deadline), so once it has passed and the nonce is still unused, the order never
 * landed and never can: `expired`.
 */
import { createHash } from "node:crypto";
import { Address, Cell, SendMode, beginCell, external, internal, storeMessage } from "@ton/core";
import { keyPairFromSecretKey, keyPairFromSeed } from "@ton/crypto";
import { WalletContractV4 } from "@ton/ton";
import { MAX_PAYOUT_LINES, MarketplaceError, MarketplaceOp, PAYOUT_TON_PER_LINE, parseMarketplaceEvent, payoutBody, payoutOrderCell, signPayoutOrder, signaturesCell } from "@stun/contracts-ton";
import type { PayoutOrder, PayoutRail, PayoutStatus, PreparedPayout } from "../family";
import type { TonCenter, TonTransaction } from "./toncenter";

/** TON the wallet adds to the order's per-line TON for the marketplace's own gas. */
const PAYOUT_TON_BASE = 50_000_000n;

export interface TonLifetime {
  nonce: string;
  deadline: number;
  seqno: number;
  validUntil: number;
}

export interface TonPayoutRailOptions {
  network: string;
  /** Raw form of the marketplace contract. */
  marketplace: string;
  /** Raw form of the jetton master paid out. */
  jettonMaster: string;
  api: TonCenter;
  /** The hot wallet's ed25519 secret key (64 bytes) or seed (32 bytes). */
  walletKey: Uint8Array;
  /** Settler ed25519 secret keys (64 bytes) or seeds (32 bytes). */
  settlerKeys: Uint8Array[];
  /** Most lines per order (≤ MAX_PAYOUT_LINES; default 50). */
  maxPerTransaction?: number;
  /** How long an order may land (seconds; default 600). */
  lifetimeS?: number;
  /** Seconds after the deadline before `expired` (clock skew between the server and the chain; default 60). */
  expiryMarginS?: number;
  /** Unix seconds now (tests: the sandbox's clock). */
  now?: () => number;
}

const keyPair = (key: Uint8Array) => (key.length === 32 ? keyPairFromSeed(Buffer.from(key)) : keyPairFromSecretKey(Buffer.from(key)));

/** The batch's nonce: the first 64 bits of sha256 over its sorted payout ids. */
export function payoutNonce(ids: string[]): bigint {
  const digest = createHash("sha256")
    .update([...ids].sort().join("\n"))
    .digest();
  return digest.readBigUInt64BE(0);
}

/** TEP-467's normalized hash of an external-in message: src none, no import fee, no init, body as a reference. */
export function normalizedExternalHash(to: Address, body: Cell): string {
  return beginCell().storeUint(0b10, 2).storeUint(0, 2).storeAddress(to).storeCoins(0).storeBit(false).storeBit(true).storeRef(body).endCell().hash().toString("hex");
}

export function isTonAddress(to: string): boolean {
  try {
    return Address.isRaw(to) ? (Address.parseRaw(to), true) : Address.isFriendly(to);
  } catch {
    return false;
  }
}

export class TonPayoutRail implements PayoutRail {
  readonly family = "ton" as const;
  readonly network: string;
  readonly token: string;
  readonly wallet: WalletContractV4;
  private readonly walletSecret: Buffer;
  private readonly settlers: { publicKey: Buffer; secretKey: Buffer }[];
  private readonly marketplace: Address;
  /**
   * The seqno after the last one this process signed, while that message can still land: two
   * batches prepared before the first lands must not share one; once it expired, the chain's counts.
   */
  private lastSigned: { next: number; validUntil: number } | undefined;
  private thresholdMet = false;

  constructor(private readonly o: TonPayoutRailOptions) {
    this.network = o.network;
    this.token = o.jettonMaster;
    this.marketplace = Address.parse(o.marketplace);
    const kp = keyPair(o.walletKey);
    this.walletSecret = kp.secretKey;
    this.wallet = WalletContractV4.create({ workchain: 0, publicKey: kp.publicKey });
    this.settlers = o.settlerKeys.map(keyPair);
    if (this.settlers.length === 0) throw new Error("a TON payout rail needs at least one settler key");
  }

  isAddress(to: string): boolean {
    return isTonAddress(to);
  }

  async fit(orders: PayoutOrder[]): Promise<PayoutOrder[]> {
    return orders.slice(0, Math.min(MAX_PAYOUT_LINES, this.o.maxPerTransaction ?? 50));
  }

  async prepare(orders: PayoutOrder[]): Promise<PreparedPayout> {
    if (orders.length === 0 || orders.length > MAX_PAYOUT_LINES) throw new Error(`a TON payout order has 1..${MAX_PAYOUT_LINES} lines`);
    await this.checkThreshold();
    const nonce = payoutNonce(orders.map((o) => o.id));
    const deadline = this.now() + (this.o.lifetimeS ?? 600);
    const order = payoutOrderCell({ marketplace: this.marketplace, nonce, deadline, lines: orders.map((o) => ({ to: Address.parse(o.to), amount: o.amount })) });
    const signatures = signaturesCell(this.settlers.map((k) => ({ publicKey: k.publicKey, signature: signPayoutOrder(order, k.secretKey) })));
    const onChain = await this.chainSeqno();
    const seqno = this.lastSigned && this.now() <= this.lastSigned.validUntil ? Math.max(onChain, this.lastSigned.next) : onChain;
    this.lastSigned = { next: seqno + 1, validUntil: deadline };
    const transfer = this.wallet.createTransfer({
      seqno,
      secretKey: this.walletSecret,
      timeout: deadline,
      sendMode: SendMode.PAY_GAS_SEPARATELY + SendMode.IGNORE_ERRORS,
      messages: [internal({ to: this.marketplace, value: BigInt(orders.length) * PAYOUT_TON_PER_LINE + PAYOUT_TON_BASE, bounce: true, body: payoutBody(order, signatures, nonce) })],
    });
    const message = external({ to: this.wallet.address, init: seqno === 0 ? this.wallet.init : undefined, body: transfer });
    const lifetime: TonLifetime = { nonce: nonce.toString(), deadline, seqno, validUntil: deadline };
    return {
      txId: normalizedExternalHash(this.wallet.address, transfer),
      lifetime: JSON.stringify(lifetime),
      wire: beginCell().store(storeMessage(message)).endCell().toBoc().toString("base64"),
    };
  }

  async broadcast(prepared: PreparedPayout): Promise<void> {
    await this.o.api.sendMessage(prepared.wire);
  }

  async status(prepared: PreparedPayout): Promise<PayoutStatus> {
    const life = JSON.parse(prepared.lifetime) as TonLifetime;
    const nonce = BigInt(life.nonce);
    // The clock first: if the deadline had passed already, any landing happened before the nonce check.
    const over = this.now() > life.deadline + (this.o.expiryMarginS ?? 60);
    if (await this.nonceUsed(nonce)) return { state: "confirmed" };
    const seen = await this.seen(nonce, life.deadline, life.deadline - (this.o.lifetimeS ?? 600) - 60);
    if (seen === "paid") return { state: "confirmed" };
    if (seen) return { state: "failed", reason: `the marketplace refused the order (exit ${seen.exitCode}${describeExit(seen.exitCode)})` };
    return over ? { state: "expired" } : { state: "in-flight" };
  }

  /** The hot wallet's address (fund it with TON). */
  get walletAddress(): string {
    return this.wallet.address.toRawString();
  }

  private now(): number {
    return this.o.now ? this.o.now() : Math.floor(Date.now() / 1000);
  }

  /** Refuses to sign (nothing leaves, the payouts stay pending) while the held keys are fewer than the contract's threshold. */
  private async checkThreshold(): Promise<void> {
    if (this.thresholdMet) return;
    const r = await this.o.api.runGetMethod(this.o.marketplace, "get_threshold", []);
    const threshold = r.exitCode === 0 ? Number(r.stack[0] ?? 0n) : Number.NaN;
    if (!(this.settlers.length >= threshold))
      throw new Error(`TON_SETTLER_KEYS holds ${this.settlers.length} settler keys, the marketplace needs ${Number.isNaN(threshold) ? "(unknown)" : threshold}`);
    this.thresholdMet = true;
  }

  private async chainSeqno(): Promise<number> {
    const r = await this.o.api.runGetMethod(this.wallet.address.toRawString(), "seqno", []);
    // An undeployed wallet has no code to run: its first message deploys it (seqno 0).
    if (r.exitCode !== 0) return 0;
    return Number(r.stack[0] ?? 0n);
  }

  private async nonceUsed(nonce: bigint): Promise<boolean> {
    const r = await this.o.api.runGetMethod(this.o.marketplace, "is_nonce_used", [nonce]);
    if (r.exitCode !== 0) throw new Error(`toncenter: is_nonce_used exited ${r.exitCode}`);
    return (r.stack[0] ?? 0n) !== 0n;
  }

  /**
   * The marketplace's transaction for this order since it was prepared: "paid" when it logged
   * PaidOut with the nonce; the exit code when it refused an order with this nonce and deadline.
   */
  private async seen(nonce: bigint, deadline: number, since: number): Promise<"paid" | { exitCode: number } | undefined> {
    let startLt: bigint | undefined;
    let refused: { exitCode: number } | undefined;
    for (let page = 0; page < 20; page++) {
      const txs = await this.o.api.transactions(this.o.marketplace, startLt, 100, since);
      const fresh = startLt === undefined ? txs : txs.filter((t) => BigInt(t.lt) > startLt!);
      for (const tx of fresh) {
        if (paidOut(tx, nonce)) return "paid";
        const exitCode = refusal(tx, nonce, deadline);
        if (exitCode !== undefined) refused = { exitCode };
      }
      if (fresh.length === 0 || txs.length < 100) break;
      startLt = BigInt(fresh.at(-1)!.lt);
    }
    return refused;
  }
}

function paidOut(tx: TonTransaction, nonce: bigint): boolean {
  if (tx.description.aborted === true) return false;
  return tx.out_msgs.some((m) => {
    const body = m.destination === null ? m.message_content?.body : undefined;
    if (!body) return false;
    const event = parseMarketplaceEvent(cellOf(body));
    return event?.type === "PaidOut" && event.nonce === nonce;
  });
}

/** The exit code of an aborted transaction whose inbound message was this order (nonce and deadline). */
function refusal(tx: TonTransaction, nonce: bigint, deadline: number): number | undefined {
  if (tx.description.aborted !== true && tx.description.compute_ph?.success !== false) return undefined;
  const body = tx.in_msg?.message_content?.body;
  if (!body) return undefined;
  try {
    const s = cellOf(body).beginParse();
    if (s.remainingBits < 96 || s.loadUint(32) !== MarketplaceOp.payout) return undefined;
    s.loadUintBig(64);
    const order = s.loadRef().beginParse();
    order.loadAddress();
    if (order.loadUintBig(64) !== nonce || order.loadUint(32) !== deadline) return undefined;
    return tx.description.compute_ph?.exit_code ?? -1;
  } catch {
    return undefined;
  }
}

const cellOf = (base64: string): Cell => Cell.fromBase64(base64);

function describeExit(code: number): string {
  const name = Object.entries(MarketplaceError).find(([, v]) => v === code)?.[0];
  return name ? `: ${name.toLowerCase().replaceAll("_", " ")}` : "";
}
