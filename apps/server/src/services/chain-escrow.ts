/**
 * Checks a submit's on-chain escrow (`SubmitTask.escrow`) against the marketplace before the task
 * is stored (docs/CHAIN.md "Paying a task from an on-chain escrow"). Every refusal is a stable code
 * with a 4xx; nothing is charged or written before the checks pass, and the link itself is a
 * unique key (tasks/chain-escrow.ts linkEscrow), so two submits naming one escrow cannot both win.
 */
import { bytes32ToId } from "@stun/contracts";
import { type ChainEscrowRef, StunError } from "@stun/shared";
import type { AppContext } from "../context";
import { isNewIdOf } from "../ids";
import type { ModelRow } from "../models/row";
import type { EscrowLink } from "../tasks/chain-escrow";

/**
 * Seconds an escrow must outlive the task's own deadline: the time the server needs to settle it
 * on chain after the task completes (a settlement after the escrow's deadline is refused on chain).
 */
export const ESCROW_SETTLE_MARGIN_SECONDS = 300;

const TASK_STATUS_NAMES = ["None", "Escrowed", "Settled", "Released", "Disputed", "Refunded"];

export interface EscrowCheck {
  requesterId: string;
  model: Pick<ModelRow, "ownerId">;
  /** What the task may cost: maxPrice × its mode's most executions (the ledger's hold). */
  held: bigint;
  deadlineSeconds: number;
  /** A zk task: the model hash and input hash its proof will publish (zk/escrow-terms.ts). */
  zk?: { modelHash: bigint; inputHash: bigint };
}

/**
 * The escrow's link to the task to be, once every check passed (throws a StunError otherwise).
 * A zk task is paid from a `createZkTask` escrow only, whose proof settles it (`settleWithProof`):
 * the proof binds the escrow's id, so the escrow's id is the task's id (`zkTaskId`: idToBytes32 of a
 * new `tsk_…` id the requester made), and its terms must be the model's hash and the input's.
 */
export async function checkEscrow(app: AppContext, ref: ChainEscrowRef, c: EscrowCheck): Promise<Omit<EscrowLink, "taskId" | "held"> & { zkTaskId?: string }> {
  const escrows = app.chain?.escrows;
  if (!app.chain || !escrows) throw new StunError("ESCROW_INVALID", "this server settles on no chain (CHAIN is not set): a task cannot be paid from an on-chain escrow");
  const escrowId = ref.taskId.toLowerCase() as `0x${string}`;
  const chainId = app.chain.cfg.chainId;
  const details = { escrow: escrowId };
  const zkTaskId = c.zk ? bytes32ToId(escrowId) : undefined;
  if (c.zk && (!zkTaskId || !isNewIdOf("tsk", zkTaskId))) {
    throw new StunError(
      "ESCROW_INVALID",
      `a zk task's escrow id must be idToBytes32 of a new task id (tsk_ and 25 characters, as the server makes them): its proof binds that id, and the task takes it`,
      details,
    );
  }

  const linked = await app.db.prisma.chainEscrow.findUnique({ where: { chainId_escrowId: { chainId, escrowId } }, select: { taskId: true } });
  if (linked) throw new StunError("ESCROW_IN_USE", `escrow ${escrowId} already pays another task`, details);

  const e = await escrows.lookup(escrowId);
  if (!e || e.status === 0) {
    throw new StunError("ESCROW_NOT_FOUND", `no escrow ${escrowId} on chain ${chainId} (as of the latest block with ${app.chain.info.confirmations} confirmations)`, details);
  }
  if (e.status !== 1) throw new StunError("ESCROW_NOT_FOUND", `escrow ${escrowId} is ${TASK_STATUS_NAMES[e.status] ?? e.status}, no longer open`, details);
  if (e.zk && !c.zk) throw new StunError("ESCROW_INVALID", `escrow ${escrowId} is a zk task (createZkTask): it pays only a task of verification mode zk`, details);
  if (c.zk && !e.zk) throw new StunError("ESCROW_INVALID", `a zk task is paid from a createZkTask escrow, which its proof settles; escrow ${escrowId} was made with createTask`, details);
  if (c.zk && zkTaskId) {
    const terms = e.zkTerms;
    if (terms?.modelHash !== c.zk.modelHash) {
      throw new StunError("ESCROW_INVALID", `escrow ${escrowId} names model hash ${terms?.modelHash}; this model's circuit publishes ${c.zk.modelHash}`, details);
    }
    if (terms.inputHash !== c.zk.inputHash) {
      throw new StunError("ESCROW_INVALID", `escrow ${escrowId} names input hash ${terms.inputHash}; this task's input hashes to ${c.zk.inputHash}`, details);
    }
    const taken = await app.db.prisma.task.findUnique({ where: { id: zkTaskId }, select: { id: true } });
    if (taken) throw new StunError("ESCROW_IN_USE", `escrow ${escrowId} names task ${zkTaskId}, which exists already`, details);
  }

  const account = await app.db.prisma.account.findUnique({ where: { id: c.requesterId }, select: { walletAddress: true } });
  const requester = e.requester.toLowerCase();
  if (account?.walletAddress?.toLowerCase() !== requester) {
    throw new StunError("ESCROW_NOT_YOURS", `escrow ${escrowId} was created by ${e.requester}, which is not the wallet linked to this account`, { ...details, requester: e.requester });
  }
  const token = app.chain.info.ledgerToken.toLowerCase();
  if (e.token.toLowerCase() !== token) {
    throw new StunError("ESCROW_INVALID", `escrow ${escrowId} is in token ${e.token}; this server's ledger token is ${app.chain.info.ledgerToken}`, { ...details, token: e.token });
  }
  const creator = e.modelCreator.toLowerCase();
  if (creator !== "0x0000000000000000000000000000000000000000") {
    const owner = await app.db.prisma.account.findUnique({ where: { id: c.model.ownerId }, select: { walletAddress: true } });
    if (owner?.walletAddress?.toLowerCase() !== creator) {
      throw new StunError("ESCROW_INVALID", `escrow ${escrowId} pays the model creator share to ${e.modelCreator}, not the model owner's linked wallet (name it, or the zero address)`, details);
    }
  }
  if (e.amount < c.held) {
    throw new StunError("ESCROW_TOO_SMALL", `escrow ${escrowId} holds ${e.amount}; this task may cost ${c.held} (maxPrice × its most executions)`, {
      ...details,
      amount: e.amount.toString(),
      needed: c.held.toString(),
    });
  }
  const now = Math.max(Math.floor(Date.now() / 1000), e.blockTime);
  const latest = now + c.deadlineSeconds + ESCROW_SETTLE_MARGIN_SECONDS;
  if (e.deadline <= now) throw new StunError("ESCROW_EXPIRED", `escrow ${escrowId}'s deadline ${new Date(e.deadline * 1000).toISOString()} has passed`, details);
  if (e.deadline < latest) {
    throw new StunError(
      "ESCROW_EXPIRED",
      `escrow ${escrowId}'s deadline ${new Date(e.deadline * 1000).toISOString()} is too close: the task's deadline (${c.deadlineSeconds} s) and ${ESCROW_SETTLE_MARGIN_SECONDS} s to settle need it at ${new Date(latest * 1000).toISOString()} or later`,
      { ...details, deadline: e.deadline, needed: latest },
    );
  }
  return { chainId, escrowId, requesterId: c.requesterId, requester, token, amount: e.amount, deadline: new Date(e.deadline * 1000), ...(zkTaskId ? { zkTaskId } : {}) };
}
