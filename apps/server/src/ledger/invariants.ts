/**
 * Whole-ledger audit, for tests and an admin/health check (reads every account: O(accounts)).
 * Returns human-readable violations; an empty list means the books are consistent.
 */
import { BUCKET_COLUMN, parseLedgerAccount } from "./accounts";
import { clientOf, type DbLike } from "./db";

export async function checkLedgerInvariants(db: DbLike): Promise<string[]> {
  const client = clientOf(db);
  const violations: string[] = [];

  const total = await client.ledgerEntry.aggregate({ _sum: { amount: true } });
  const sum = total._sum.amount ?? 0n;
  if (sum !== 0n) violations.push(`entries sum to ${sum}, not 0`);

  const unbalanced = await client.ledgerEntry.groupBy({
    by: ["txId"],
    _sum: { amount: true },
    having: { amount: { _sum: { not: 0n } } },
  });
  for (const t of unbalanced) violations.push(`transaction ${t.txId} sums to ${t._sum.amount}`);

  const expected = new Map<string, { balance: bigint; escrow: bigint; stake: bigint }>();
  const byAccount = await client.ledgerEntry.groupBy({ by: ["account"], _sum: { amount: true } });
  for (const g of byAccount) {
    let parsed;
    try {
      parsed = parseLedgerAccount(g.account);
    } catch {
      violations.push(`entries on unknown ledger account ${JSON.stringify(g.account)}`);
      continue;
    }
    if (parsed.type !== "account") continue;
    const e = expected.get(parsed.accountId) ?? { balance: 0n, escrow: 0n, stake: 0n };
    e[BUCKET_COLUMN[parsed.bucket]] += g._sum.amount ?? 0n;
    expected.set(parsed.accountId, e);
  }

  const accounts = await client.account.findMany({ select: { id: true, balance: true, escrow: true, stake: true } });
  const seen = new Set<string>();
  for (const a of accounts) {
    seen.add(a.id);
    const e = expected.get(a.id) ?? { balance: 0n, escrow: 0n, stake: 0n };
    for (const col of ["balance", "escrow", "stake"] as const) {
      if (a[col] !== e[col]) violations.push(`account ${a.id}: cached ${col} ${a[col]} but entries sum to ${e[col]}`);
      if (a[col] < 0n) violations.push(`account ${a.id}: negative ${col} ${a[col]}`);
    }
  }
  for (const id of expected.keys()) {
    if (!seen.has(id)) violations.push(`entries on acct:${id}:* but no Account row ${id}`);
  }
  return violations;
}
