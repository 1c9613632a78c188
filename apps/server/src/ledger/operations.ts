/**
 * The everyday money movements, each one balanced ledger transaction via postTransfer. All take the
 * caller's transaction client so they compose with the caller's own writes (e.g. hold + Task row).
 * Amounts are base units and must be positive.
 */
import { StunError } from "@stun/shared";
import type { SqlClient } from "../db/database";
import { SYSTEM_MINT, SYSTEM_TREASURY, available, escrow, staked } from "./accounts";
import { postTransfer, type LedgerLeg, type TransferInput, type TransferResult } from "./transfer";

export function assertPositive(amount: bigint, what = "amount"): void {
  if (amount <= 0n) throw new StunError("VALIDATION_FAILED", `${what} must be positive (got ${amount})`);
}

/** Creates money: `system:mint` → account's available (faucet, local-mode deposits). */
export async function mint(tx: SqlClient, accountId: string, amount: bigint): Promise<TransferResult> {
  assertPositive(amount);
  return postTransfer(tx, {
    kind: "mint",
    entries: [
      { account: SYSTEM_MINT, amount: -amount },
      { account: available(accountId), amount },
    ],
  });
}

/**
 * available → escrow for a task. The conditional update guarantees concurrent holds never overdraw;
 * `also` charges the task's input to the account's storage and writes the Task row in the same statement.
 * throws INSUFFICIENT_FUNDS (roll the surrounding transaction back) when the balance is short.
 */
export async function hold(tx: SqlClient, accountId: string, amount: bigint, taskId: string, also: Pick<TransferInput, "storage" | "alongside"> = {}): Promise<TransferResult> {
  return postTransfer(tx, holdTransfer(accountId, amount, taskId, also));
}

/** A hold as a transfer not posted yet: a submit's lead in its group commit (db/group-commit.ts), posted with the batch's other holds. */
export function holdTransfer(accountId: string, amount: bigint, taskId: string, also: Pick<TransferInput, "storage" | "alongside"> = {}): TransferInput {
  assertPositive(amount);
  return moveTransfer("hold", taskId, available(accountId), escrow(accountId), amount, also);
}

/** escrow → available (part of a hold no longer needed). */
export async function release(tx: SqlClient, accountId: string, amount: bigint, taskId: string): Promise<TransferResult> {
  assertPositive(amount);
  return move(tx, "release", taskId, escrow(accountId), available(accountId), amount);
}

/** A failed/expired task: the whole held amount back to available (recorded as kind "refund"). */
export async function refund(tx: SqlClient, accountId: string, held: bigint, taskId: string): Promise<TransferResult> {
  assertPositive(held, "held amount");
  return move(tx, "refund", taskId, escrow(accountId), available(accountId), held);
}

/** escrow → treasury: a fee kept from a task's hold (e.g. EXPIRED_TASK_FEE), recorded as `kind`. */
export async function chargeFee(tx: SqlClient, accountId: string, amount: bigint, taskId: string, kind: string): Promise<TransferResult> {
  assertPositive(amount);
  return postTransfer(tx, {
    kind,
    taskId,
    entries: [
      { account: escrow(accountId), amount: -amount },
      { account: SYSTEM_TREASURY, amount },
    ],
  });
}

/** available → stake (a provider backing its work). */
export async function stake(tx: SqlClient, accountId: string, amount: bigint): Promise<TransferResult> {
  assertPositive(amount);
  return move(tx, "stake", undefined, available(accountId), staked(accountId), amount);
}

/** stake → available. Throws INSUFFICIENT_FUNDS when more than the stake is asked for. */
export async function unstake(tx: SqlClient, accountId: string, amount: bigint): Promise<TransferResult> {
  assertPositive(amount);
  return move(tx, "unstake", undefined, staked(accountId), available(accountId), amount);
}

export interface SlashOptions {
  /** How much of `amount` goes to the treasury (0…amount). */
  toTreasury: bigint;
  /** Receives the rest (`amount - toTreasury`) as available funds, e.g. the wronged requester. */
  toAccountId?: string;
  taskId?: string;
}

/**
 * Takes `amount` from a provider's stake: `toTreasury` to the treasury, the rest to `toAccountId`.
 * `slash(tx, p, 100n, { toTreasury: 100n })` sends everything to the treasury.
 */
export async function slash(tx: SqlClient, providerAccountId: string, amount: bigint, opts: SlashOptions): Promise<TransferResult> {
  assertPositive(amount);
  if (opts.toTreasury < 0n || opts.toTreasury > amount) {
    throw new StunError("VALIDATION_FAILED", `toTreasury must be within 0..${amount} (got ${opts.toTreasury})`);
  }
  const rest = amount - opts.toTreasury;
  if (rest > 0n && opts.toAccountId === undefined) {
    throw new StunError("VALIDATION_FAILED", "slash: toAccountId is required when not everything goes to the treasury");
  }
  const entries: LedgerLeg[] = [
    { account: staked(providerAccountId), amount: -amount },
    { account: SYSTEM_TREASURY, amount: opts.toTreasury },
  ];
  if (rest > 0n) entries.push({ account: available(opts.toAccountId!), amount: rest });
  return postTransfer(tx, { kind: "slash", ...(opts.taskId !== undefined ? { taskId: opts.taskId } : {}), entries });
}

function move(tx: SqlClient, kind: string, taskId: string | undefined, from: string, to: string, amount: bigint): Promise<TransferResult> {
  return postTransfer(tx, moveTransfer(kind, taskId, from, to, amount));
}

function moveTransfer(kind: string, taskId: string | undefined, from: string, to: string, amount: bigint, also: Pick<TransferInput, "storage" | "alongside"> = {}): TransferInput {
  return {
    kind,
    ...(taskId !== undefined ? { taskId } : {}),
    entries: [
      { account: from, amount: -amount },
      { account: to, amount },
    ],
    ...also,
  };
}
