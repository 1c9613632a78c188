/**
 * EVM deposits as a family-neutral DepositSource (family.ts): the marketplace contract's
 * `Deposited(account, from, token, amount)` logs, read after a block cursor and reported only once
 * they are `confirmations` deep (block ≤ head − (confirmations − 1)). The shared scanner (deposit-scanner.ts) then records each one once per
 * (family "evm", network = chain id, txId = transaction hash, index = log index).
 *
 * The cursor text is `<block>:<block hash>` of the last block scanned. When that block's hash has
 * changed (a reorg deeper than the confirmations, or a reset local chain) the scan rewinds
 * (`rewindBlock`) and rescans: deposits still there are duplicates, new ones are recorded. Every
 * scan reports the block range it read completely (`covered`), so a deposit already recorded whose
 * log vanished in such a deep reorg is taken back by the scanner (external-deposits.ts `markGone`).
 */
import { type Address, type Hex, type PublicClient, getAddress } from "viem";
import { bytes32ToAccount, computeMarketplaceAbi } from "@stun/contracts";
import type { DepositScan, DepositSource, ObservedDeposit } from "../family";

/** What the EVM deposit read needs to know about one chain and its marketplace. */
export interface EvmDepositConfig {
  chainId: number;
  marketplace: Address;
  /** Blocks a deposit must be deep before it is final (1: in the head block). */
  confirmations: number;
  /** Most blocks per eth_getLogs request. */
  logRange: bigint;
  /** The first block scanned (the marketplace's deployment). */
  startBlock: bigint;
}

/** One `Deposited` log as the chain shows it. */
export interface DepositLog {
  txHash: Hex;
  logIndex: number;
  blockNumber: bigint;
  blockHash: Hex;
  account: Hex;
  from: Hex;
  token: Hex;
  amount: bigint;
}

/** The highest block `confirmations` deep (a deposit in it or below is final). */
export function finalBlock(head: bigint, confirmations: number): bigint {
  return head - BigInt(confirmations - 1);
}

/**
 * Where to rescan from when the cursor's block changed: well behind the lower of the cursor and
 * the head (max(64, 4 × confirmations) blocks), never before the start block.
 */
export function rewindBlock(cursorBlock: bigint, head: bigint, cfg: Pick<EvmDepositConfig, "confirmations" | "startBlock">): bigint {
  const depth = BigInt(Math.max(64, cfg.confirmations * 4));
  const low = cursorBlock < head ? cursorBlock : head;
  return low - depth >= cfg.startBlock - 1n ? low - depth : cfg.startBlock - 1n;
}

/** Whether the block a cursor names is no longer the chain's block at that height (a reorg, a reset chain). */
export async function cursorBlockChanged(client: PublicClient, cursor: { blockNumber: bigint; blockHash: string }, head: bigint): Promise<boolean> {
  const block = cursor.blockNumber <= head ? await client.getBlock({ blockNumber: cursor.blockNumber }).catch(() => undefined) : undefined;
  return block?.hash !== cursor.blockHash;
}

/** The next getLogs range after `cursorBlock`: at most `logRange` blocks, ending at `safe` at the latest. */
export function nextRange(cursorBlock: bigint, safe: bigint, logRange: bigint): { from: bigint; to: bigint } {
  const from = cursorBlock + 1n;
  return { from, to: from + logRange - 1n < safe ? from + logRange - 1n : safe };
}

/** The marketplace's `Deposited` logs in blocks [from, to], in chain order; removed logs dropped. */
export async function readDepositLogs(client: PublicClient, marketplace: Address, from: bigint, to: bigint): Promise<DepositLog[]> {
  const events = await client.getContractEvents({
    address: marketplace,
    abi: computeMarketplaceAbi,
    eventName: "Deposited",
    fromBlock: from,
    toBlock: to,
    strict: true,
  });
  return events
    .filter((e) => !e.removed && e.transactionHash && e.blockHash && e.logIndex !== null)
    .map((e) => ({
      txHash: e.transactionHash!,
      logIndex: e.logIndex!,
      blockNumber: e.blockNumber!,
      blockHash: e.blockHash!,
      account: e.args.account,
      from: e.args.from,
      token: e.args.token,
      amount: e.args.amount,
    }));
}

/** The Stun account a log's bytes32 names, or the bytes32 itself when it encodes none. */
function accountTagOf(account: Hex): string {
  const id = bytes32ToAccount(account);
  return id === undefined || id.includes(":") ? account.toLowerCase() : id;
}

export function toObservedDeposit(chainId: number, log: DepositLog): ObservedDeposit {
  return {
    family: "evm",
    network: String(chainId),
    txId: log.txHash.toLowerCase(),
    index: log.logIndex,
    accountTag: accountTagOf(log.account),
    token: getAddress(log.token),
    amount: log.amount,
    from: log.from.toLowerCase(),
    slotOrLt: log.blockNumber,
    final: true,
  };
}

/** getLogs requests per scan at most (catching up after downtime takes several scans). */
const MAX_RANGES_PER_SCAN = 20;

interface BlockCursor {
  blockNumber: bigint;
  blockHash: string | null;
}

function parseCursor(cursor: string | null, startBlock: bigint): BlockCursor {
  if (cursor === null) return { blockNumber: startBlock - 1n, blockHash: null };
  const m = /^(\d+):(0x[0-9a-fA-F]{64})?$/.exec(cursor);
  if (!m) throw new Error(`not an EVM deposit cursor (<block>:<hash>): ${JSON.stringify(cursor)}`);
  return { blockNumber: BigInt(m[1]!), blockHash: m[2] ?? null };
}

/**
 * Deposits of one marketplace on one EVM chain. Tokens are reported checksummed (`getAddress`), so
 * the scanner's `DepositRules.token` must be the checksummed ledger token too.
 */
export class EvmDepositSource implements DepositSource {
  readonly family = "evm" as const;
  readonly network: string;
  readonly cursorId: string;

  constructor(
    private readonly client: PublicClient,
    private readonly cfg: EvmDepositConfig,
  ) {
    this.network = String(cfg.chainId);
    this.cursorId = `deposits:evm:${cfg.chainId}:${cfg.marketplace.toLowerCase()}`;
  }

  /**
   * Final deposits after the cursor from getLogs ranges of final blocks; stops after the range in
   * which `limit` deposits are reached (a range is never split, so the cursor stays a block).
   */
  async scan(cursorText: string | null, limit: number): Promise<DepositScan> {
    const head = await this.client.getBlockNumber({ cacheTime: 0 });
    const safe = finalBlock(head, this.cfg.confirmations);
    let cursor = parseCursor(cursorText, this.cfg.startBlock);
    if (cursor.blockHash !== null && (await cursorBlockChanged(this.client, { blockNumber: cursor.blockNumber, blockHash: cursor.blockHash }, head))) {
      cursor = { blockNumber: rewindBlock(cursor.blockNumber, head, this.cfg), blockHash: null };
    }
    const deposits: ObservedDeposit[] = [];
    const first = cursor.blockNumber + 1n;
    let moved = false;
    for (let i = 0; i < MAX_RANGES_PER_SCAN && cursor.blockNumber < safe && deposits.length < limit; i++) {
      const { from, to } = nextRange(cursor.blockNumber, safe, this.cfg.logRange);
      for (const log of await readDepositLogs(this.client, this.cfg.marketplace, from, to)) deposits.push(toObservedDeposit(this.cfg.chainId, log));
      const block = await this.client.getBlock({ blockNumber: to });
      cursor = { blockNumber: to, blockHash: block.hash };
      moved = true;
    }
    if (!moved) return { deposits, cursor: cursorText };
    return { deposits, cursor: `${cursor.blockNumber}:${cursor.blockHash}`, covered: { from: first, to: cursor.blockNumber } };
  }
}
