/**
 * Records observed deposits of any chain family in the ledger, each exactly once.
 *
 * A deposit is credited (`system:chain → acct:<id>:available`, kind `external_deposit`) when its
 * account tag (memo / forward payload) is an existing Stun account id, its token is the configured
 * one, and its amount fits the ledger's 64-bit balances; otherwise it is recorded `unmatched` with
 * the reason and not credited (an operator can refund it). The row's unique key (family, network,
 * txId, index) makes a replayed scan insert nothing and credit nothing.
 *
 * Reorgs deeper than the confirmations (EVM; `DepositScan.covered`): a recorded deposit in a range
 * the scan read again but did not return is gone from the chain, decided once under a row lock:
 * - `credited` → `reversed` when the account's balance still holds the amount: the credit is taken
 *   back (`acct:<id>:available → system:chain`, kind `external_deposit_reversed`);
 * - `credited` → `shortfall` when it does not (already spent or held): nothing is taken, the row
 *   records the account's shortfall (the whole amount) for an operator, and it is logged;
 * - `unmatched` → `dropped`.
 * A gone deposit that comes back (the transaction re-included on the new branch) is recorded again
 * on the same row: `reversed` / `dropped` ones are decided afresh (credited again when they match),
 * a `shortfall` one is `credited` again without a new credit (its first one was never taken back).
 */
import type { SqlClient } from "../db/database";
import { newId } from "../ids";
import { SYSTEM_CHAIN, available, postTransfer } from "../ledger";
import type { ObservedDeposit } from "./family";

const MAX_LEDGER_AMOUNT = 2n ** 63n - 1n;

export interface DepositRules {
  /** The token credited base unit for base unit (mint / jetton master address). */
  token: string;
}

export interface RecordResult {
  /** Credited (new, or back after a reorg took it away and its credit was reversed). */
  credited: number;
  unmatched: number;
  /** Seen before (a replayed scan): nothing written. */
  duplicate: number;
  /** Recorded deposits a deep reorg took away (reversed, shortfall or dropped) in this pass. */
  reversed: number;
}

/** Why a deposit is not credited, or null when it is (the account tag names an existing account). */
async function unmatchedReason(tx: SqlClient, d: ObservedDeposit, rules: DepositRules): Promise<string | null> {
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
export async function recordDeposits(tx: SqlClient, deposits: readonly ObservedDeposit[], rules: DepositRules): Promise<RecordResult> {
  const result: RecordResult = { credited: 0, unmatched: 0, duplicate: 0, reversed: 0 };
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
      const back = await comeBack(tx, d, accountId, reason);
      result[back]++;
      continue;
    }
    if (!accountId) {
      result.unmatched++;
      continue;
    }
    await credit(tx, id, accountId, d.amount);
    result.credited++;
  }
  return result;
}

/** The ledger credit of one recorded deposit: `system:chain → acct:<id>:available` (kind `external_deposit`). */
async function credit(tx: SqlClient, depositId: string, accountId: string, amount: bigint): Promise<void> {
  const { txId } = await postTransfer(tx, {
    kind: "external_deposit",
    entries: [
      { account: SYSTEM_CHAIN, amount: -amount },
      { account: available(accountId), amount },
    ],
  });
  await tx.$executeRaw`UPDATE "ExternalDeposit" SET "ledgerTxId" = ${txId} WHERE id = ${depositId}`;
}

/**
 * A deposit already recorded is seen again. A replay (`credited` / `unmatched` row): nothing. One a
 * reorg took away and the new branch has again: `reversed` / `dropped` rows are decided afresh
 * (credited anew when they match), a `shortfall` row is `credited` again with its original credit.
 */
async function comeBack(tx: SqlClient, d: ObservedDeposit, accountId: string | null, reason: string | null): Promise<"credited" | "unmatched" | "duplicate"> {
  const [row] = await tx.$queryRaw<Array<{ id: string; status: string }>>`
    SELECT id, status FROM "ExternalDeposit"
    WHERE family = ${d.family} AND network = ${d.network} AND "txId" = ${d.txId} AND index = ${d.index} FOR UPDATE`;
  if (!row || !GONE.includes(row.status)) return "duplicate";
  if (row.status === "shortfall") {
    await tx.$executeRaw`UPDATE "ExternalDeposit" SET status = 'credited', reason = NULL, "slotOrLt" = ${d.slotOrLt} WHERE id = ${row.id}`;
    return "duplicate";
  }
  await tx.$executeRaw`
    UPDATE "ExternalDeposit" SET status = ${accountId ? "credited" : "unmatched"}, reason = ${reason}, "accountId" = ${accountId}, "slotOrLt" = ${d.slotOrLt}
    WHERE id = ${row.id}`;
  if (!accountId) return "unmatched";
  await credit(tx, row.id, accountId, d.amount);
  return "credited";
}

/** The states of a recorded deposit a deep reorg took away. */
const GONE = ["reversed", "shortfall", "dropped"];

/** What happened to a recorded deposit a deep reorg took away. */
export interface GoneDeposit {
  id: string;
  txId: string;
  index: number;
  accountId: string | null;
  amount: bigint;
  status: "reversed" | "shortfall" | "dropped";
}

/**
 * Deposits of `family`/`network` recorded in slots [from, to] that a complete re-read of that range
 * (`seen`: `txId:index` of what it returned) no longer has: each `credited` one is `reversed` (the
 * credit taken back, kind `external_deposit_reversed`) or, when the account's balance no longer
 * holds it, `shortfall` (nothing taken; an operator settles it); each `unmatched` one `dropped`.
 * Row locks and the status guard make it once per disappearance.
 */
export async function markGone(tx: SqlClient, family: string, network: string, range: { from: bigint; to: bigint }, seen: ReadonlySet<string>): Promise<GoneDeposit[]> {
  const rows = await tx.$queryRaw<Array<{ id: string; txId: string; index: number; accountId: string | null; amount: string; status: string }>>`
    SELECT id, "txId", index, "accountId", amount, status FROM "ExternalDeposit"
    WHERE family = ${family} AND network = ${network} AND "slotOrLt" BETWEEN ${range.from} AND ${range.to}
      AND status IN ('credited', 'unmatched')
    ORDER BY "slotOrLt", id FOR UPDATE`;
  const gone: GoneDeposit[] = [];
  for (const row of rows) {
    if (seen.has(`${row.txId}:${row.index}`)) continue;
    const amount = BigInt(row.amount);
    if (row.status === "unmatched" || !row.accountId) {
      await tx.$executeRaw`UPDATE "ExternalDeposit" SET status = 'dropped', reason = ${"a reorg took the deposit away (it was unmatched)"} WHERE id = ${row.id}`;
      gone.push({ id: row.id, txId: row.txId, index: row.index, accountId: null, amount, status: "dropped" });
      continue;
    }
    const [acct] = await tx.$queryRaw<Array<{ balance: bigint }>>`SELECT balance FROM "Account" WHERE id = ${row.accountId} FOR UPDATE`;
    if (acct && acct.balance >= amount) {
      const { txId } = await postTransfer(tx, {
        kind: "external_deposit_reversed",
        entries: [
          { account: available(row.accountId), amount: -amount },
          { account: SYSTEM_CHAIN, amount },
        ],
      });
      await tx.$executeRaw`
        UPDATE "ExternalDeposit" SET status = 'reversed', "reversedLedgerTxId" = ${txId}, reason = ${"a reorg took the deposit away: its credit was reversed"}
        WHERE id = ${row.id}`;
      gone.push({ id: row.id, txId: row.txId, index: row.index, accountId: row.accountId, amount, status: "reversed" });
    } else {
      const note = `a reorg took the deposit away but the account's balance (${acct?.balance ?? 0n}) no longer holds its ${amount}: the credit stands, shortfall ${amount} for an operator`;
      await tx.$executeRaw`UPDATE "ExternalDeposit" SET status = 'shortfall', reason = ${note} WHERE id = ${row.id}`;
      gone.push({ id: row.id, txId: row.txId, index: row.index, accountId: row.accountId, amount, status: "shortfall" });
    }
  }
  return gone;
}
