import { isFloatDtype, toleranceFor, splitFee, type CompareOptions, type Receipt, type ReceiptQa, type TensorInfo } from "@stun/shared";
import type { SqlClient } from "../db/database";
import { Prisma } from "../db/generated/client";
import { settle, type Payment } from "../ledger";
import type { StoredVerification } from "../tasks/verification";

export interface Winner {
  assignmentId: string;
  providerId: string;
  providerAccountId: string;
  backend: string;
  price: bigint;
}

export interface SettleInput {
  task: { id: string; requesterId: string; escrowHeld: bigint; inputSha256: string; verification: StoredVerification };
  model: { sha256: string; ownerId: string; outputs: unknown };
  winners: Winner[];
  outputDigest: string;
  /** The comparator options QA applied (the model's calibrated tolerance). */
  compare: CompareOptions;
  executions: Array<{ providerId: string; backend: string; verdict: string }>;
  qa: ReceiptQa;
  /** A zk task's proof, for the receipt. */
  zk?: Receipt["zk"];
  /** Statements the settlement's own statement also writes, given the cost and receipt (the completed Task row). */
  alongside?: (settled: { cost: bigint; receipt: Receipt }) => Prisma.Sql[];
  /** A statement with RETURNING the settlement's statement also runs; its rows come back as `rows` (ledger/transfer.ts). */
  returning?: Prisma.Sql;
  /** CTEs the statement opens with, and the condition it settles under (ledger/transfer.ts `leading`, `when`). */
  leading?: Prisma.Sql;
  when?: Prisma.Sql;
  /** A refusal aborts the statement (ledger/transfer.ts `refusalAborts`). */
  refusalAborts?: true;
}

/**
 * What an accepted task's settlement pays and says: each consensus provider's price is the cost; of
 * that 80% goes to the providers, 15% to the treasury, 5% to the model's creator (splitFee has the
 * remainder rule), and unspent escrow returns to the requester (`payment`, ledger/settle.ts); the
 * receipt says so.
 */
export function settlementOf(input: Omit<SettleInput, "alongside" | "returning" | "leading" | "when" | "refusalAborts">): { cost: bigint; receipt: Receipt; payment: Payment } {
  const { task, model, winners } = input;
  const split = splitFee(winners.map((w) => ({ id: w.assignmentId, amount: w.price })));
  const paid = new Map(split.providers.map((p) => [p.id, p.amount]));
  const providerTotal = split.providers.reduce((s, p) => s + p.amount, 0n);
  // The tolerance the comparator applied to the first float output: calibrated or its dtype's default; exact otherwise.
  const floatOut = (model.outputs as TensorInfo[]).find((o) => isFloatDtype(o.dtype));
  const tol = floatOut && isFloatDtype(floatOut.dtype) ? toleranceFor(floatOut.dtype, input.compare.tolerance) : { abs: 0, rel: 0 };
  const receipt: Receipt = {
    taskId: task.id,
    modelSha256: model.sha256,
    inputDigest: task.inputSha256,
    outputDigest: input.outputDigest,
    providers: winners.map((w) => ({
      providerId: w.providerId,
      backend: w.backend as Receipt["providers"][number]["backend"],
      paid: (paid.get(w.assignmentId) ?? 0n).toString(),
    })),
    tolerance: { abs: tol.abs, rel: tol.rel, argmax: task.verification.argmax },
    executions: input.executions.map((e) => ({ ...e, backend: e.backend as Receipt["providers"][number]["backend"] })),
    qa: input.qa,
    ...(task.verification.tee ? { tee: receiptTee(task.verification.tee) } : {}),
    ...(input.zk ? { zk: input.zk } : {}),
    cost: split.total.toString(),
    split: { providers: providerTotal.toString(), treasury: split.treasury.toString(), creator: split.creator.toString() },
    completedAt: new Date().toISOString(),
  };
  const payment: Payment = {
    taskId: task.id,
    requesterId: task.requesterId,
    held: task.escrowHeld,
    payouts: winners.map((w) => ({ accountId: w.providerAccountId, amount: paid.get(w.assignmentId) ?? 0n })),
    treasury: split.treasury,
    creator: { accountId: model.ownerId, amount: split.creator },
  };
  return { cost: split.total, receipt, payment };
}

/** Pays for an accepted task out of its escrow (settlementOf), with the statements `input` runs beside it. Returns the cost and the receipt. */
export async function settleAcceptedTask(tx: SqlClient, input: SettleInput): Promise<{ cost: bigint; receipt: Receipt; rows?: unknown[]; skipped?: true }> {
  const { cost, receipt, payment } = settlementOf(input);
  const { rows, skipped } = await settle(tx, {
    ...payment,
    ...(input.alongside ? { alongside: input.alongside({ cost, receipt }) } : {}),
    ...(input.returning ? { returning: input.returning } : {}),
    ...(input.leading ? { leading: input.leading } : {}),
    ...(input.when ? { when: input.when } : {}),
    ...(input.refusalAborts ? { refusalAborts: input.refusalAborts } : {}),
  });
  return { cost, receipt, ...(rows ? { rows } : {}), ...(skipped ? { skipped } : {}) };
}

/**
 * The accepted task's row completed: its cost, receipt and the winning output, escrow emptied (the
 * settlement's own statement runs it: SettleInput.alongside). Only where `when` holds (SettleInput.when).
 */
export const completedTaskRow = (
  taskId: string,
  { cost, receipt }: { cost: bigint; receipt: Receipt },
  out: { outputSha256: string; outputMeta: unknown; outputDigest: string },
  when: Prisma.Sql = Prisma.sql`TRUE`,
): Prisma.Sql => Prisma.sql`
  UPDATE "Task"
  SET status = 'completed', cost = ${cost}, "escrowHeld" = 0, receipt = ${JSON.stringify(receipt)}::jsonb,
      "outputSha256" = ${out.outputSha256}, "outputMeta" = ${JSON.stringify(out.outputMeta ?? {})}::jsonb,
      "outputDigest" = ${out.outputDigest}, "completedAt" = ${new Date()}, "updatedAt" = ${new Date()}
  WHERE id = ${taskId} AND ${when}`;

/** The evidence a sealed task was sealed to, as its receipt names it. */
const receiptTee = (t: NonNullable<StoredVerification["tee"]>): NonNullable<Receipt["tee"]> => ({
  providerId: t.providerId,
  evidenceSha256: t.evidenceSha256,
  kind: t.kind,
  simulated: t.simulated,
  measurement: t.measurement,
});
