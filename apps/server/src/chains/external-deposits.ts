/**
 * Records observed deposits of any chain family in the ledger, each exactly once.
 *
 * A deposit is credited (`system:chain → acct:<id>:available`, kind `external_deposit`) when its
 * account tag (memo / forward payload) is an existing Stun account id, its token is the configured
 * one, and its amount fits the ledger's 64-bit balances; otherwise it is recorded `unmatched` with
 * the reason and not credited (an operator can refund it). The row's unique key (family, network,
 * txId, index) makes a replayed scan insert nothing and credit nothing.
 */
import type { Tx } from "../db/database";
import { newId } from "../ids";
import { SYSTEM_CHAIN, available, postTransfer } from "../ledger";
import type { ObservedDeposit } from "./family";

const MAX_LEDGER_AMOUNT = 2n ** 63n - 1n;

export interface DepositRules {
  /** The token credited base unit for base unit (mint / jetton master address). */
  token: string;
}

export interface RecordResult {
  credited: number;
  unmatched: number;
  /** Seen before (a replayed scan): nothing written. */
  duplicate: number;
}

/** Why a deposit is not credited, or null when it is (the account tag names an existing account). */
async function unmatchedReason(tx: Tx, d: ObservedDeposit, rules: DepositRules): Promise<string | null> {
  if (d.unmatchedReason) return d.unmatchedReason;
  if (d.token !== rules.token) return `token ${d.token} is not the ledger token ${rules.token}`;
  if (d.amount <= 0n) return "the amount is not positive";
  if (d.amount > MAX_LEDGER_AMOUNT) return "the amount exceeds the ledger's 64-bit balances";
  const tag = d.accountTag?.trim() ?? "";
  if (tag === "") return "no memo or forward payload naming a Stun account";
  const [row] = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Account" WHERE id = ${tag}`;
  return row ? null : `no Stun account ${JSON.stringify(tag.slice(0, 80))}`;
}

/** Records each deposit once (inside the caller's transaction); credits the matched ones. */
export async function recordDeposits(tx: Tx, deposits: readonly ObservedDeposit[], rules: DepositRules): Promise<RecordResult> {
  const result: RecordResult = { credited: 0, unmatched: 0, duplicate: 0 };
  for (const d of deposits) {
    // Recorded once means decided once: a deposit the chain may still revert must not be recorded
    // (unmatched, it could never be credited later). Throwing rolls the scan back, cursor included.
    if (!d.final) throw new Error(`deposit ${d.family}:${d.network}:${d.txId}:${d.index} is not final: sources return only final deposits`);
    const reason = await unmatchedReason(tx, d, rules);
    const accountId = reason === null ? d.accountTag!.trim() : null;
    const id = newId("xdep");
    const inserted = await tx.$queryRaw<Array<{ id: string }>>`
      INSERT INTO "ExternalDeposit" (id, family, network, "txId", index, "accountTag", "accountId", "fromAddress", token, amount,
                                     "slotOrLt", status, reason, "createdAt")
      VALUES (${id}, ${d.family}, ${d.network}, ${d.txId}, ${d.index}, ${d.accountTag?.slice(0, 500) ?? null}, ${accountId},
              ${d.from}, ${d.token}, ${d.amount.toString()}, ${d.slotOrLt}, ${accountId ? "credited" : "unmatched"}, ${reason}, ${new Date()})
      ON CONFLICT (family, network, "txId", index) DO NOTHING
      RETURNING id`;
    if (inserted.length === 0) {
      result.duplicate++;
      continue;
    }
    if (!accountId) {
      result.unmatched++;
      continue;
    }
    const { txId } = await postTransfer(tx, {
      kind: "external_deposit",
      entries: [
        { account: SYSTEM_CHAIN, amount: -d.amount },
        { account: available(accountId), amount: d.amount },
      ],
    });
    await tx.$executeRaw`UPDATE "ExternalDeposit" SET "ledgerTxId" = ${txId} WHERE id = ${id}`;
    result.credited++;
  }
  return result;
}
