/**
 * Settlement of an accepted task: the requester's escrow pays the providers, the treasury and the
 * model creator; whatever of `held` is not spent goes back to the requester's available balance.
 * One balanced ledger transaction (kind "settle").
 */
import { StunError } from "@stun/shared";
import type { SqlClient } from "../db/database";
import { SYSTEM_TREASURY, available, escrow } from "./accounts";
import { postTransfer, type LedgerLeg, type TransferInput, type TransferResult } from "./transfer";

export interface Payout {
  accountId: string;
  amount: bigint;
}

export interface SettleInput {
  taskId: string;
  requesterId: string;
  /** What this task holds in escrow (Task.escrowHeld); all of it leaves escrow. */
  held: bigint;
  /** Providers' shares. */
  payouts: Payout[];
  /** The treasury's share. */
  treasury: bigint;
  /** The model creator's share. */
  creator: Payout;
  /** Statements written by the transfer's own statement (the completed Task row): TransferInput.alongside. */
  alongside?: TransferInput["alongside"];
  /** TransferInput.returning: its rows come back as `rows`. */
  returning?: TransferInput["returning"];
  /** TransferInput.leading and .when: the settlement goes only if `when` holds (else `skipped`). */
  leading?: TransferInput["leading"];
  when?: TransferInput["when"];
  /** TransferInput.refusalAborts: a refused settlement aborts its statement (TransfersRefused). */
  refusalAborts?: TransferInput["refusalAborts"];
}

export interface SettleResult extends TransferResult {
  /** What went back to the requester's available balance. */
  returned: bigint;
}

/** What a settlement pays out of a task's escrow, and to whom (SettleInput without the statements it runs beside). */
export type Payment = Pick<SettleInput, "taskId" | "requesterId" | "held" | "payouts" | "treasury" | "creator">;

/** A payment's balanced transfer (kind "settle"), checked, and what of the hold goes back to the requester. */
export function settlementTransfer(input: Payment): { transfer: TransferInput; returned: bigint } {
  const { held } = input;
  if (held <= 0n) throw new StunError("VALIDATION_FAILED", `settle: held must be positive (got ${held})`);
  const shares = [...input.payouts.map((p) => p.amount), input.treasury, input.creator.amount];
  if (shares.some((a) => a < 0n)) throw new StunError("VALIDATION_FAILED", "settle: negative share");
  const spent = shares.reduce((a, b) => a + b, 0n);
  if (spent > held) {
    throw new StunError("VALIDATION_FAILED", `settle: shares (${spent}) exceed the held amount (${held})`);
  }
  const returned = held - spent;
  const entries: LedgerLeg[] = [
    { account: escrow(input.requesterId), amount: -held },
    ...input.payouts.map((p) => ({ account: available(p.accountId), amount: p.amount })),
    { account: SYSTEM_TREASURY, amount: input.treasury },
    { account: available(input.creator.accountId), amount: input.creator.amount },
    { account: available(input.requesterId), amount: returned },
  ];
  return { transfer: { kind: "settle", taskId: input.taskId, entries }, returned };
}

export async function settle(tx: SqlClient, input: SettleInput): Promise<SettleResult> {
  const { transfer, returned } = settlementTransfer(input);
  const result = await postTransfer(tx, {
    ...transfer,
    ...(input.alongside ? { alongside: input.alongside } : {}),
    ...(input.returning ? { returning: input.returning } : {}),
    ...(input.leading ? { leading: input.leading } : {}),
    ...(input.when ? { when: input.when } : {}),
    ...(input.refusalAborts ? { refusalAborts: input.refusalAborts } : {}),
  });
  return { ...result, returned };
}
