/**
 * @ton/core wrapper of contracts-ton/src/marketplace.tolk: its storage layout, the messages it takes
 * (payout orders and their settler signatures, admin messages), its get methods, and parsers for the
 * events it logs as external out messages — what the server reads from a toncenter-compatible API.
 */
import {
  type Address,
  beginCell,
  type Builder,
  type Cell,
  type Contract,
  type ContractProvider,
  contractAddress,
  Dictionary,
  type DictionaryValue,
  type Message,
  type Sender,
  SendMode,
  type Slice,
  type StateInit,
} from "@ton/core";
import { sign } from "@ton/crypto";

/** Opcodes of the messages the marketplace takes. */
export const MarketplaceOp = {
  transferNotification: 0x7362d09c,
  payout: 0x50415954,
  setJettonWallet: 0x53574c54,
  setSettlers: 0x53534554,
  setPaused: 0x50415553,
  jettonTransfer: 0x0f8a7ea5,
} as const;

/** Opcodes of the events (external out messages) the marketplace logs. */
export const MarketplaceEventOp = {
  Deposited: 0x44455053,
  DepositUnmatched: 0x44554e4d,
  DepositRejected: 0x44524a54,
  PaidOut: 0x50444f54,
  PayoutBounced: 0x5042434b,
  SettlersChanged: 0x53434847,
  PausedChanged: 0x50434847,
  JettonWalletSet: 0x4a57534e,
} as const;

/** Exit codes the marketplace throws (the Tolk constants). */
export const MarketplaceError = {
  NOT_ADMIN: 401,
  PAUSED: 402,
  EXPIRED: 403,
  NONCE_USED: 404,
  INSUFFICIENT_SIGNATURES: 405,
  UNKNOWN_SIGNER: 406,
  SIGNERS_NOT_ASCENDING: 407,
  INVALID_SIGNATURE: 408,
  WRONG_MARKETPLACE: 409,
  EMPTY_PAYOUT: 410,
  TOO_MANY_LINES: 411,
  NOT_ENOUGH_TON: 412,
  INVALID_SETTLER_SET: 413,
  JETTON_WALLET_ALREADY_SET: 414,
  JETTON_WALLET_NOT_SET: 415,
  INSUFFICIENT_BALANCE: 416,
  UNKNOWN_OP: 0xffff,
} as const;

/** TON (nanotons) a payout must carry per line; jetton wallets return what they do not spend. */
export const PAYOUT_TON_PER_LINE = 50_000_000n;
/** Most lines in one payout order. */
export const MAX_PAYOUT_LINES = 100;

export interface MarketplaceConfig {
  admin: Address;
  /** Settler ed25519 public keys (32 bytes each). */
  settlers: Buffer[];
  threshold: number;
  /** Usually unset at deploy: the jetton wallet's address depends on the marketplace's. */
  jettonWallet?: Address;
}

export interface PayoutLine {
  /** The recipient (owner address; the jetton wallet derives its wallet). */
  to: Address;
  /** Jetton base units. */
  amount: bigint;
}

export interface PayoutOrder {
  marketplace: Address;
  nonce: bigint;
  /** Unix seconds; refused once now > deadline. */
  deadline: number;
  lines: PayoutLine[];
}

/** One settler signature of a payout order. */
export interface SettlerSignature {
  publicKey: Buffer;
  signature: Buffer;
}

const boolValue: DictionaryValue<boolean> = {
  serialize: (src, builder) => void builder.storeBit(src),
  parse: (src) => src.loadBit(),
};

const payoutLineValue: DictionaryValue<PayoutLine> = {
  serialize: (src, builder) => void builder.storeAddress(src.to).storeCoins(src.amount),
  parse: (src) => ({ to: src.loadAddress(), amount: src.loadCoins() }),
};

/** The settler set as the contract stores it: uint256 public key → true. */
export function settlersDict(settlers: Buffer[]): Dictionary<bigint, boolean> {
  const dict = Dictionary.empty(Dictionary.Keys.BigUint(256), boolValue);
  for (const key of settlers) {
    if (key.length !== 32) throw new Error("a settler public key is 32 bytes (ed25519)");
    dict.set(BigInt(`0x${key.toString("hex")}`), true);
  }
  return dict;
}

/** The contract's initial data (the Tolk `Storage` struct). */
export function marketplaceData(config: MarketplaceConfig): Cell {
  return beginCell()
    .storeAddress(config.admin)
    .storeAddress(config.jettonWallet ?? null)
    .storeCoins(0n)
    .storeBit(false)
    .storeUint(config.threshold, 8)
    .storeDict(settlersDict(config.settlers))
    .storeDict(Dictionary.empty(Dictionary.Keys.BigUint(64), Dictionary.Values.Uint(32)))
    .endCell();
}

/** The cell settlers sign (its representation hash is the signed message). */
export function payoutOrderCell(order: PayoutOrder): Cell {
  const lines = Dictionary.empty(Dictionary.Keys.Uint(16), payoutLineValue);
  order.lines.forEach((line, index) => lines.set(index, line));
  return beginCell().storeAddress(order.marketplace).storeUint(order.nonce, 64).storeUint(order.deadline, 32).storeDict(lines).endCell();
}

/** One settler's ed25519 signature of `order` (over its cell hash). */
export function signPayoutOrder(order: PayoutOrder | Cell, secretKey: Buffer): Buffer {
  const cell = "lines" in order ? payoutOrderCell(order) : order;
  return sign(cell.hash(), secretKey);
}

/**
 * The snake list of signatures the contract reads: publicKey:uint256 signature:bits512
 * next:(Maybe ^Cell). Sorted by public key ascending unless `keepOrder` (tests of the refusal).
 */
export function signaturesCell(signatures: SettlerSignature[], keepOrder = false): Cell | null {
  const list = keepOrder ? signatures : [...signatures].sort((a, b) => Buffer.compare(a.publicKey, b.publicKey));
  let next: Cell | null = null;
  for (let i = list.length - 1; i >= 0; i--) {
    const entry = list[i] as SettlerSignature;
    next = beginCell().storeBuffer(entry.publicKey, 32).storeBuffer(entry.signature, 64).storeMaybeRef(next).endCell();
  }
  return next;
}

/** The body of a `Payout` message. */
export function payoutBody(order: Cell, signatures: Cell | null, queryId = 0n): Cell {
  return beginCell().storeUint(MarketplaceOp.payout, 32).storeUint(queryId, 64).storeRef(order).storeMaybeRef(signatures).endCell();
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export type MarketplaceEvent =
  | { type: "Deposited"; queryId: bigint; account: Buffer; from: Address | null; amount: bigint }
  | { type: "DepositUnmatched"; queryId: bigint; from: Address | null; amount: bigint }
  | { type: "DepositRejected"; queryId: bigint; wallet: Address; from: Address | null; amount: bigint }
  | { type: "PaidOut"; nonce: bigint; count: number; total: bigint }
  | { type: "PayoutBounced"; nonce: bigint; amount: bigint }
  | { type: "SettlersChanged"; threshold: number; count: number }
  | { type: "PausedChanged"; paused: boolean }
  | { type: "JettonWalletSet"; wallet: Address };

/** One event body (an external out message's body), or undefined when it is not an event of ours. */
export function parseMarketplaceEvent(body: Cell): MarketplaceEvent | undefined {
  const s: Slice = body.beginParse();
  if (s.remainingBits < 32) return undefined;
  try {
    switch (s.loadUint(32)) {
      case MarketplaceEventOp.Deposited:
        return { type: "Deposited", queryId: s.loadUintBig(64), account: s.loadBuffer(32), from: s.loadMaybeAddress(), amount: s.loadCoins() };
      case MarketplaceEventOp.DepositUnmatched:
        return { type: "DepositUnmatched", queryId: s.loadUintBig(64), from: s.loadMaybeAddress(), amount: s.loadCoins() };
      case MarketplaceEventOp.DepositRejected:
        return { type: "DepositRejected", queryId: s.loadUintBig(64), wallet: s.loadAddress(), from: s.loadMaybeAddress(), amount: s.loadCoins() };
      case MarketplaceEventOp.PaidOut:
        return { type: "PaidOut", nonce: s.loadUintBig(64), count: s.loadUint(16), total: s.loadCoins() };
      case MarketplaceEventOp.PayoutBounced:
        return { type: "PayoutBounced", nonce: s.loadUintBig(64), amount: s.loadCoins() };
      case MarketplaceEventOp.SettlersChanged:
        return { type: "SettlersChanged", threshold: s.loadUint(8), count: s.loadUint(8) };
      case MarketplaceEventOp.PausedChanged:
        return { type: "PausedChanged", paused: s.loadBit() };
      case MarketplaceEventOp.JettonWalletSet:
        return { type: "JettonWalletSet", wallet: s.loadAddress() };
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/** The marketplace's events among a transaction's out messages (external out, from `marketplace`). */
export function marketplaceEvents(outMessages: Iterable<Message>, marketplace: Address): MarketplaceEvent[] {
  const events: MarketplaceEvent[] = [];
  for (const message of outMessages) {
    if (message.info.type !== "external-out" || !message.info.src.equals(marketplace)) continue;
    const event = parseMarketplaceEvent(message.body);
    if (event) events.push(event);
  }
  return events;
}

// ---------------------------------------------------------------------------------------------
// Contract
// ---------------------------------------------------------------------------------------------

export class Marketplace implements Contract {
  constructor(
    readonly address: Address,
    readonly init?: StateInit,
  ) {}

  static createFromAddress(address: Address): Marketplace {
    return new Marketplace(address);
  }

  static createFromConfig(config: MarketplaceConfig, code: Cell, workchain = 0): Marketplace {
    const init = { code, data: marketplaceData(config) };
    return new Marketplace(contractAddress(workchain, init), init);
  }

  /** Deploys with `value` TON (any internal message with an empty body). */
  async sendDeploy(provider: ContractProvider, via: Sender, value: bigint): Promise<void> {
    await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: beginCell().endCell() });
  }

  /** Executes a signed payout order; `value` must cover PAYOUT_TON_PER_LINE per line. */
  async sendPayout(provider: ContractProvider, via: Sender, args: { order: Cell; signatures: Cell | null; value: bigint; queryId?: bigint }): Promise<void> {
    await provider.internal(via, {
      value: args.value,
      sendMode: SendMode.PAY_GAS_SEPARATELY,
      body: payoutBody(args.order, args.signatures, args.queryId),
    });
  }

  async sendSetJettonWallet(provider: ContractProvider, via: Sender, wallet: Address, value = 50_000_000n): Promise<void> {
    await provider.internal(via, {
      value,
      sendMode: SendMode.PAY_GAS_SEPARATELY,
      body: adminBody(MarketplaceOp.setJettonWallet).storeAddress(wallet).endCell(),
    });
  }

  async sendSetSettlers(provider: ContractProvider, via: Sender, args: { settlers: Buffer[]; threshold: number; value?: bigint }): Promise<void> {
    await provider.internal(via, {
      value: args.value ?? 50_000_000n,
      sendMode: SendMode.PAY_GAS_SEPARATELY,
      body: adminBody(MarketplaceOp.setSettlers).storeUint(args.threshold, 8).storeDict(settlersDict(args.settlers)).endCell(),
    });
  }

  async sendSetPaused(provider: ContractProvider, via: Sender, paused: boolean, value = 50_000_000n): Promise<void> {
    await provider.internal(via, {
      value,
      sendMode: SendMode.PAY_GAS_SEPARATELY,
      body: adminBody(MarketplaceOp.setPaused).storeBit(paused).endCell(),
    });
  }

  /** The settler public keys (32 bytes each, ascending). */
  async getSettlers(provider: ContractProvider): Promise<Buffer[]> {
    const { stack } = await provider.get("get_settlers", []);
    const cell = stack.readCellOpt();
    if (!cell) return [];
    const dict = Dictionary.loadDirect(Dictionary.Keys.BigUint(256), boolValue, cell);
    return dict
      .keys()
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((k) => Buffer.from(k.toString(16).padStart(64, "0"), "hex"));
  }

  async getThreshold(provider: ContractProvider): Promise<number> {
    const { stack } = await provider.get("get_threshold", []);
    return stack.readNumber();
  }

  async isNonceUsed(provider: ContractProvider, nonce: bigint): Promise<boolean> {
    const { stack } = await provider.get("is_nonce_used", [{ type: "int", value: nonce }]);
    return stack.readBoolean();
  }

  async getPaused(provider: ContractProvider): Promise<boolean> {
    const { stack } = await provider.get("get_paused", []);
    return stack.readBoolean();
  }

  /** The jettons the marketplace counts as held (deposits − payouts + bounced payouts). */
  async getJettonBalance(provider: ContractProvider): Promise<bigint> {
    const { stack } = await provider.get("get_jetton_balance", []);
    return stack.readBigNumber();
  }

  async getJettonWallet(provider: ContractProvider): Promise<Address | null> {
    const { stack } = await provider.get("get_jetton_wallet", []);
    return stack.readAddressOpt();
  }
}

function adminBody(op: number, queryId = 0n): Builder {
  return beginCell().storeUint(op, 32).storeUint(queryId, 64);
}
